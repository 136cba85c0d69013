"""The page's ports of server code answer as Python does. Each port's cases and Python's answers are in a fixture
beside it that vitest reads too: web/src/linear.fixture.json (the straight slider moves a static site makes,
`dcgan.controls.linear`) and web/src/enlarge.fixture.json (the download's enlargement, `dcgan.images.enlarge`). A
change on the Python side that changes an answer fails here; rewrite the fixtures with
`python tests/test_page_parity.py` and port the change to web/src/linear.ts or web/src/enlarge.ts."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from dcgan.controls.linear import move_in_box
from dcgan.images import enlarge

WEB = Path(__file__).resolve().parents[1] / "web" / "src"


def linear_cases() -> list[dict]:
    """Small moves that stay inside, large ones the box stops, several rows at once, z already on a bound."""
    rng = np.random.default_rng(0)
    out = []
    for dim, k, scale, on_bound in [(8, 1, 0.3, 0), (8, 2, 3.0, 0), (12, 3, 1.5, 2), (16, 4, 6.0, 3), (16, 1, 0.0, 0)]:
        normals = rng.normal(size=(k, dim))
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        z = rng.uniform(-1, 1, dim)
        z[:on_bound] = np.sign(z[:on_bound])
        targets = rng.normal(size=k) * scale
        out.append(
            {"z": z.round(6).tolist(), "normals": normals.round(6).tolist(), "targets": targets.round(6).tolist()}
        )
    return out


def linear_answer(case: dict) -> dict:
    move = move_in_box(np.array([case["z"]]), np.array(case["normals"]), np.array([case["targets"]]), -1.0, 1.0)
    return {"z": move.z[0].tolist(), "lost": float(move.lost[0]), "saturated": int(move.saturated[0])}


def enlarge_cases() -> list[dict]:
    """Small RGB pictures (sharp edges, where Lanczos overshoots and clips) at the scales the download uses."""
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (4, 5, 3)).astype(np.uint8)
    image[:, :2] = 0  # an edge from black
    return [
        {"height": 4, "width": 5, "pixels": image.ravel().tolist(), "scale": scale, "resample": resample}
        for scale in (2, 3, 8)
        for resample in ("nearest", "lanczos")
    ]


def enlarge_answer(case: dict) -> dict:
    image = np.array(case["pixels"], np.uint8).reshape(case["height"], case["width"], 3)
    return {"pixels": np.asarray(enlarge(image, case["scale"], case["resample"])).ravel().tolist()}


FIXTURES: dict[str, tuple[Callable[[], list[dict]], Callable[[dict], dict]]] = {
    "linear.fixture.json": (linear_cases, linear_answer),
    "enlarge.fixture.json": (enlarge_cases, enlarge_answer),
}


def close(a: object, b: object) -> bool:
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    return bool(np.allclose(a, b, atol=1e-6))


@pytest.mark.parametrize("name", FIXTURES)
def test_the_fixture_holds_pythons_answers(name: str) -> None:
    cases, answer = FIXTURES[name]
    fixture = json.loads((WEB / name).read_text())
    assert [c["input"] for c in fixture] == cases()
    for case in fixture:
        assert close(answer(case["input"]), case["output"]), case["input"]


def test_the_cases_reach_the_hard_parts() -> None:
    linear = json.loads((WEB / "linear.fixture.json").read_text())
    assert any(c["output"]["lost"] > 0.05 for c in linear) and any(c["output"]["saturated"] for c in linear)
    lanczos = [c for c in json.loads((WEB / "enlarge.fixture.json").read_text()) if c["input"]["resample"] == "lanczos"]
    assert any(0 in c["output"]["pixels"] or 255 in c["output"]["pixels"] for c in lanczos)  # clipped overshoot


if __name__ == "__main__":
    for name, (cases, answer) in FIXTURES.items():
        rows = [json.dumps({"input": c, "output": answer(c)}) for c in cases()]
        (WEB / name).write_text("[\n" + ",\n".join(rows) + "\n]\n")  # a case a line
        print(f"wrote {WEB / name}")
