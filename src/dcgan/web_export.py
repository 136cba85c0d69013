"""The generator for the browser: an ONNX graph written into the bundle (MODEL_DIR/web/), built with `onnx.helper`.

The Keras generator (`dcgan.model.build_generator`) becomes, in inference mode, with every batch norm folded into
the weights before it (moving statistics: x·γ/√(σ²+ε) + β − μ·γ/√(σ²+ε)):

    z [N, z_dim] → MatMul → Add → Reshape [N, C0, 4, 4] → Relu → [ConvTranspose 5×5/2 (+ folded bias) → Relu]*
      → ConvTranspose 5×5/2 + bias → Tanh → Transpose to NHWC → image [N, H, W, C] in [-1, 1]

The dense layer's columns are reordered so that its output reshapes straight into NCHW. Keras/TF's "same"
transposed convolution (the gradient of a "same" stride-2 convolution, which pads 1 before and 2 after) is ONNX's
ConvTranspose with pads [1, 1, 2, 2] (begin h, begin w, end h, end w): exactly 2× the input, no output_padding.
The weights are stored as float16 initializers (those beyond its range as float32) and Cast to float32, so the
file is half the size and the arithmetic stays float32.

`web/web.json` describes the file and ties it to the bundle's weights (`generator_sha256`, as the named controls
are): `web_export_info` returns None for an export of other weights. It also records the parity measured at
export against TensorFlow (`FaceGenerator.generate`) on 64 fixed z, in grey levels of the uint8 images.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dcgan import __version__
from dcgan.atomic import atomic_dir, write_json_atomic
from dcgan.errors import ModelError
from dcgan.fingerprint import WEIGHTS_FILE, weights_digest
from dcgan.images import to_uint8

if TYPE_CHECKING:
    import keras
    import onnx

    from dcgan.bundle import FaceGenerator

WEB_DIR = "web"
ONNX_FILE = "generator.onnx"
INFO_FILE = "web.json"
FORMAT = 1
OPSET = 17
INPUT, OUTPUT = "z", "image"
PADS = [1, 1, 2, 2]  # TF "same", stride 2, kernel 5: 1 row/column cropped before, 2 after
PARITY_SAMPLES = 64
PARITY_SEED = 0
PARITY_MEAN, PARITY_MAX = 1.0, 8  # grey levels: an export past either is refused


def folded_bn(model: keras.Model, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(scale, shift) per channel of batch norm `name` in inference mode, float64."""
    bn = model.get_layer(name)
    scale = np.asarray(bn.gamma, np.float64) / np.sqrt(np.asarray(bn.moving_variance, np.float64) + bn.epsilon)
    return scale, np.asarray(bn.beta, np.float64) - np.asarray(bn.moving_mean, np.float64) * scale


def _deconv_weight(layer: keras.layers.Layer, scale: np.ndarray | None = None) -> np.ndarray:
    """Keras Conv2DTranspose kernel (kh, kw, out, in) → ONNX ConvTranspose W (in, out, kh, kw), times `scale` per
    output channel."""
    weight = np.asarray(layer.kernel, np.float64).transpose(3, 2, 0, 1)
    return weight if scale is None else weight * scale[None, :, None, None]


def folded_arrays(model: keras.Model) -> list[tuple[str, np.ndarray]]:
    """The generator's weights with batch norm folded in, in graph order: (name, float64 array)."""
    deconvs = sorted(
        (layer for layer in model.layers if layer.name.startswith("deconv") and not layer.name.endswith("_bn")),
        key=lambda layer: int(layer.name[len("deconv") :]),
    )
    dense = np.asarray(model.get_layer("project").kernel, np.float64)  # z_dim × (4·4·C0), NHWC order
    scale, shift = folded_bn(model, "project_bn")
    c0 = scale.size
    # column (h·4 + w)·C0 + c of Keras → column c·16 + h·4 + w, which reshapes into [C0, 4, 4] (NCHW)
    order = np.arange(16 * c0).reshape(16, c0).T.reshape(-1)
    arrays = [
        ("project.weight", (dense * np.tile(scale, 16)[None, :])[:, order]),
        ("project.bias", np.tile(shift, 16)[order]),
    ]
    for layer in deconvs[:-1]:
        scale, shift = folded_bn(model, f"{layer.name}_bn")
        arrays += [(f"{layer.name}.weight", _deconv_weight(layer, scale)), (f"{layer.name}.bias", shift)]
    last = deconvs[-1]
    arrays += [(f"{last.name}.weight", _deconv_weight(last)), (f"{last.name}.bias", np.asarray(last.bias, np.float64))]
    return arrays


def stored_weights(
    arrays: list[tuple[str, np.ndarray]], dtype: str
) -> tuple[list, list, dict[str, str], dict[str, str]]:
    """Weights as ONNX initializers in `dtype` (float16 when they fit, else float32), each float16 one Cast to float32
    by a node: (nodes, initializers, the float32 value's name by weight name, the dtype stored by weight name)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, initializers, values, stored = [], [], {}, {}
    for name, array in arrays:
        fits = dtype == "float16" and np.abs(array).max() <= np.finfo(np.float16).max
        kept = array.astype(np.float16 if fits else np.float32)
        stored[name] = str(kept.dtype)
        initializers.append(numpy_helper.from_array(kept, f"{name}.stored"))
        if kept.dtype == np.float32:
            values[name] = f"{name}.stored"
        else:
            cast = helper.make_node("Cast", [f"{name}.stored"], [name], to=TensorProto.FLOAT, name=f"{name}.cast")
            nodes.append(cast)
            values[name] = name
    return nodes, initializers, values, stored


def build_onnx(model: keras.Model, dtype: str = "float16") -> tuple[onnx.ModelProto, dict[str, str]]:
    """The ONNX model of a Keras generator, and the dtype each initializer is stored in."""
    from onnx import TensorProto, helper, numpy_helper

    arrays = folded_arrays(model)
    z_dim = int(model.inputs[0].shape[-1])
    _, height, width, channels = (int(d) if d is not None else None for d in model.outputs[0].shape)
    c0 = arrays[1][1].size // 16
    nodes, initializers, values, stored = stored_weights(arrays, dtype)
    initializers.append(numpy_helper.from_array(np.array([-1, c0, 4, 4], np.int64), "project.shape"))
    nodes += [
        helper.make_node("MatMul", [INPUT, values["project.weight"]], ["project.mm"], name="project"),
        helper.make_node("Add", ["project.mm", values["project.bias"]], ["project.add"], name="project_bn"),
        helper.make_node("Reshape", ["project.add", "project.shape"], ["project.nchw"], name="reshape"),
        helper.make_node("Relu", ["project.nchw"], ["project.out"], name="project_relu"),
    ]
    x = "project.out"
    deconvs = [name[: -len(".weight")] for name, _ in arrays[2:] if name.endswith(".weight")]
    for i, name in enumerate(deconvs):
        nodes.append(
            helper.make_node(
                "ConvTranspose",
                [x, values[f"{name}.weight"], values[f"{name}.bias"]],
                [f"{name}.conv"],
                name=name,
                kernel_shape=[5, 5],
                strides=[2, 2],
                pads=PADS,
            )
        )
        last = i == len(deconvs) - 1
        nodes.append(
            helper.make_node("Tanh" if last else "Relu", [f"{name}.conv"], [f"{name}.out"], name=f"{name}_act")
        )
        x = f"{name}.out"
    nodes.append(helper.make_node("Transpose", [x], [OUTPUT], perm=[0, 2, 3, 1], name="to_nhwc"))
    graph = helper.make_graph(
        nodes,
        "dcgan_generator",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", z_dim])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", height, width, channels])],
        initializers,
    )
    proto = checked_model(graph, "DCGAN generator: z [N, z_dim] float32 → image [N, H, W, C] float32 in [-1, 1] (NHWC)")
    return proto, stored


def checked_model(graph: onnx.GraphProto, doc: str) -> onnx.ModelProto:
    """A graph as a model onnxruntime-web reads (opset OPSET, IR 8), checked by ONNX's full checker."""
    import onnx
    from onnx import helper

    proto = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="dcgan",
        producer_version=__version__,
        doc_string=doc,
    )
    proto.ir_version = 8  # the ONNX Runtime releases of the last years (and onnxruntime-web) read IR 8
    onnx.checker.check_model(proto, full_check=True)
    return proto


def session(path: Path):
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError(
            "measuring the browser export needs onnxruntime: pip install 'dcgan[web]' (or onnxruntime)"
        ) from None
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]), ort.__version__


def run_onnx(path: Path, z: np.ndarray) -> np.ndarray:
    """The exported generator's float32 images of z (N×z_dim) with ONNX Runtime on the CPU."""
    runner, _ = session(path)
    return runner.run([OUTPUT], {INPUT: np.asarray(z, np.float32)})[0]


def parity(model: FaceGenerator, path: Path, n: int = PARITY_SAMPLES, seed: int = PARITY_SEED) -> dict:
    """Grey-level differences between the ONNX file's uint8 images and `model.generate` on n fixed z (the model's
    prior, seed `seed`, ψ = 1)."""
    runner, version = session(path)
    z = model.sample_z(n, seed, truncation=1.0)
    ours = to_uint8(runner.run([OUTPUT], {INPUT: z})[0]).astype(np.int16)
    diff = np.abs(ours - model.generate(z).astype(np.int16))
    return {
        "z": f"{n} z of the model's prior, seed {seed}, truncation 1",
        "mean_abs": round(float(diff.mean()), 4),
        "max_abs": int(diff.max()),
        "runtime": f"onnxruntime {version} CPU",
    }


def export_web(model_dir: Path | str, dtype: str = "float16") -> Path:
    """Write MODEL_DIR/web/ (generator.onnx and web.json) for the bundle's current weights; returns the folder.

    The parity with TensorFlow is measured on the written file; an export past PARITY_MEAN / PARITY_MAX grey
    levels is a ModelError and leaves any earlier web/ as it was.
    """
    from dcgan.bundle import load_generator

    if dtype not in ("float16", "float32"):
        raise ModelError(f"the web export stores float16 or float32 weights, not {dtype!r}")
    model_dir = Path(model_dir)
    model = load_generator(model_dir)
    proto, stored = build_onnx(model.generator, dtype)
    out = model_dir / WEB_DIR
    with atomic_dir(out) as staging:
        path = staging / ONNX_FILE
        path.write_bytes(proto.SerializeToString())
        measured = parity(model, path)
        if measured["mean_abs"] > PARITY_MEAN or measured["max_abs"] > PARITY_MAX:
            raise ModelError(
                f"the ONNX generator differs from TensorFlow's by {measured['mean_abs']} grey levels on average "
                f"(at most {PARITY_MEAN}) and {measured['max_abs']} at most (at most {PARITY_MAX}): not exported"
            )
        widened = sorted(name for name, kind in stored.items() if kind != dtype)
        info = {
            "format": FORMAT,
            "file": ONNX_FILE,
            "bytes": path.stat().st_size,
            "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "generator_sha256": weights_digest(model_dir / WEIGHTS_FILE),
            "opset": OPSET,
            "weights_dtype": dtype,
            **({"weights_float32": widened} if widened else {}),  # beyond float16's range
            "compute_dtype": "float32",
            "input": {"name": INPUT, "dtype": "float32", "shape": ["N", model.z_dim]},
            "output": {
                "name": OUTPUT,
                "dtype": "float32",
                "shape": ["N", *model.image_shape],
                "layout": "NHWC",
                "range": [-1, 1],
            },
            "z": model.z_contract,
            "truncation": model.default_truncation,
            "image_size": model.config.image_size,
            "channels": model.config.channels,
            "parity": measured,
            "exported": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "dcgan_version": __version__,
        }
        write_json_atomic(staging / INFO_FILE, info)
    return out


def web_export_info(model_dir: Path | str) -> dict | None:
    """web.json of the bundle's browser export, or None when it has none, its file is missing or of another size,
    or it was made from other weights than the bundle's generator.npz."""
    model_dir = Path(model_dir)
    try:
        info = json.loads((model_dir / WEB_DIR / INFO_FILE).read_text())
        current = info.get("format") == FORMAT and info["generator_sha256"] == weights_digest(model_dir / WEIGHTS_FILE)
        if not current or (model_dir / WEB_DIR / info["file"]).stat().st_size != info["bytes"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def web_file(model_dir: Path | str) -> Path | None:
    """The bundle's current ONNX generator (`web_export_info`), or None."""
    info = web_export_info(model_dir)
    return None if info is None else Path(model_dir) / WEB_DIR / info["file"]


def web_entry(info: dict, url: str) -> dict:
    """The `web` entry of a model in /api/models and a static site's models.json."""
    return {
        "url": url,
        "bytes": info["bytes"],
        "sha256": info["sha256"],
        "input": info["input"]["name"],
        "output": info["output"]["name"],
        "layout": info["output"]["layout"],
        "range": info["output"]["range"],
    }
