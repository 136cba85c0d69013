"""The attribute classifier for the browser: an ONNX graph built with `onnx.helper`, as `dcgan.web_export` builds the
generator's, so a static site (`dcgan site`) can read its faces without a server.

One classifier or a committee (the mean of its members' logits and ages), in inference mode, batch norm folded into
the convolution before it:

    image [N, 64, 64, 3] (RGB values 0–255, float32) → Transpose to NCHW → x/127.5 − 1
      → per member: [Conv 3×3 (stride 2, then 1) + folded bias → Relu]* → GlobalAveragePool → Flatten → Gemm → Relu
           → Gemm (attribute logits), Gemm (scaled age)
      → attributes [N, A] (the members' mean logits), age [N, 1] (the mean, in years)

Keras' "same" padding of a stride-2 3×3 convolution on an even size pads 0 before and 1 after (ONNX pads [0, 0, 1,
1]); at stride 1, 1 on each side. The probabilities are the logits' sigmoid, calibrated in the page with the
thresholds of the bundle's directions (`runtime.calibrate`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dcgan.errors import ModelError

if TYPE_CHECKING:
    import onnx

    from dcgan.bundle import FaceGenerator
    from dcgan.controls.classifier import AttributeClassifier, Committee

INPUT, ATTRIBUTES, AGE = "image", "attributes", "age"
PARITY_FACES = 64
PARITY_PROBABILITY, PARITY_YEARS = 0.02, 0.5  # largest differences from Keras an export may have


def member_arrays(network, prefix: str) -> list[tuple[str, np.ndarray]]:
    """One network's weights, batch norm folded in: (name, float64 array) in graph order."""
    from dcgan.web_export import folded_bn

    arrays = []
    convs = [layer for layer in network.layers if layer.name.startswith("conv")]
    for conv in convs:
        scale, shift = folded_bn(network, "bn" + conv.name[len("conv") :])
        weight = np.asarray(conv.kernel, np.float64).transpose(3, 2, 0, 1) * scale[:, None, None, None]  # O, I, kh, kw
        arrays += [(f"{prefix}{conv.name}.weight", weight), (f"{prefix}{conv.name}.bias", shift)]
    for name in ("dense", "attributes", "age"):
        layer = network.get_layer(name)
        arrays += [
            (f"{prefix}{name}.weight", np.asarray(layer.kernel, np.float64)),
            (f"{prefix}{name}.bias", np.asarray(layer.bias, np.float64)),
        ]
    return arrays


def build_classifier_onnx(classifier: AttributeClassifier | Committee, dtype: str = "float16") -> onnx.ModelProto:
    """The ONNX model of a classifier or committee (see the module docstring)."""
    from onnx import TensorProto, helper, numpy_helper

    from dcgan.web_export import checked_model, stored_weights

    members = getattr(classifier, "members", [classifier])
    arrays = [array for i, member in enumerate(members) for array in member_arrays(member.network, f"m{i}.")]
    nodes, initializers, values, _ = stored_weights(arrays, dtype)
    constants = {"scale": 1 / 127.5, "shift": -1.0, "mean": 1 / len(members)}
    constants["years"] = classifier.age_scale["std"] / len(members)
    constants["years_offset"] = classifier.age_scale["mean"]
    initializers += [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in constants.items()]
    nodes += [
        helper.make_node("Transpose", [INPUT], ["nchw"], perm=[0, 3, 1, 2], name="to_nchw"),
        helper.make_node("Mul", ["nchw", "scale"], ["scaled"], name="rescale"),
        helper.make_node("Add", ["scaled", "shift"], ["x"], name="shift"),
    ]
    logits, ages = [], []
    for i, member in enumerate(members):
        x = "x"
        for layer in (layer for layer in member.network.layers if layer.name.startswith("conv")):
            name = f"m{i}.{layer.name}"
            stride = layer.strides[0]
            pads = [0, 0, 1, 1] if stride == 2 else [1, 1, 1, 1]
            inputs = [x, values[f"{name}.weight"], values[f"{name}.bias"]]
            nodes.append(
                helper.make_node(
                    "Conv", inputs, [f"{name}.conv"], name=name, kernel_shape=[3, 3], strides=[stride] * 2, pads=pads
                )
            )
            nodes.append(helper.make_node("Relu", [f"{name}.conv"], [f"{name}.out"], name=f"{name}.relu"))
            x = f"{name}.out"
        m = f"m{i}."
        nodes += [
            helper.make_node("GlobalAveragePool", [x], [m + "pooled"], name=m + "pool"),
            helper.make_node("Flatten", [m + "pooled"], [m + "flat"], name=m + "flatten"),
            helper.make_node(
                "Gemm", [m + "flat", values[m + "dense.weight"], values[m + "dense.bias"]], [m + "d"], name=m + "dense"
            ),
            helper.make_node("Relu", [m + "d"], [m + "features"], name=m + "dense.relu"),
        ]
        for head, out in (("attributes", logits), ("age", ages)):
            inputs = [m + "features", values[f"{m}{head}.weight"], values[f"{m}{head}.bias"]]
            nodes.append(helper.make_node("Gemm", inputs, [f"{m}{head}.out"], name=f"{m}{head}"))
            out.append(f"{m}{head}.out")
    nodes += [
        helper.make_node("Sum", logits, ["logit_sum"], name="logit_sum"),
        helper.make_node("Mul", ["logit_sum", "mean"], [ATTRIBUTES], name="logit_mean"),
        helper.make_node("Sum", ages, ["age_sum"], name="age_sum"),
        helper.make_node("Mul", ["age_sum", "years"], ["age_scaled"], name="age_years"),
        helper.make_node("Add", ["age_scaled", "years_offset"], [AGE], name="age_offset"),
    ]
    graph = helper.make_graph(
        nodes,
        "attribute_classifier",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", 64, 64, 3])],
        [
            helper.make_tensor_value_info(ATTRIBUTES, TensorProto.FLOAT, ["N", len(classifier.attributes)]),
            helper.make_tensor_value_info(AGE, TensorProto.FLOAT, ["N", 1]),
        ],
        initializers,
    )
    return checked_model(
        graph, "attribute classifier: image [N, 64, 64, 3] RGB 0-255 → attribute logits [N, A], age [N, 1] years"
    )


def write_classifier_onnx(model: FaceGenerator, path: Path) -> dict:
    """Write the bundle's classifier as ONNX to `path` and check it against Keras on PARITY_FACES of the model's
    faces; returns the parity (largest probability and age differences). A ModelError past the limits."""
    from dcgan.web_export import session

    classifier = model.controls.classifier
    path.write_bytes(build_classifier_onnx(classifier).SerializeToString())
    images = model.generate(model.sample_z(PARITY_FACES, 0, truncation=1.0))
    logits, years = classifier.raw(images)
    runner, _ = session(path)
    ours, our_years = runner.run([ATTRIBUTES, AGE], {INPUT: images.astype(np.float32)})
    probability = float(np.abs(1 / (1 + np.exp(-ours)) - 1 / (1 + np.exp(-logits))).max())
    age = float(np.abs(our_years[:, 0] - years).max())
    if probability > PARITY_PROBABILITY or age > PARITY_YEARS:
        raise ModelError(
            f"the ONNX classifier differs from Keras by {probability:.4f} in probability "
            f"(at most {PARITY_PROBABILITY}) and {age:.2f} years (at most {PARITY_YEARS}): not written"
        )
    return {"faces": PARITY_FACES, "probability_max_abs": round(probability, 5), "age_max_abs": round(age, 4)}
