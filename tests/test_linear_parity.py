"""The page's port of the straight moves (web/src/linear.ts, used by a static site) answers as Python does: the
cases and Python's answers are in web/src/linear.fixture.json, which vitest reads too. A change to
`dcgan.controls.linear` that changes an answer fails here; rewrite the fixture with
`python tests/test_linear_parity.py` and port the change to linear.ts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dcgan.controls.linear import move_in_box

FIXTURE = Path(__file__).resolve().parents[1] / "web" / "src" / "linear.fixture.json"


def cases() -> list[dict]:
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


def answers(case: dict) -> dict:
    move = move_in_box(np.array([case["z"]]), np.array(case["normals"]), np.array([case["targets"]]), -1.0, 1.0)
    return {"z": move.z[0].tolist(), "lost": float(move.lost[0]), "saturated": int(move.saturated[0])}


def test_the_fixture_holds_pythons_answers() -> None:
    fixture = json.loads(FIXTURE.read_text())
    assert [c["input"] for c in fixture] == cases()
    for case in fixture:
        got = answers(case["input"])
        np.testing.assert_allclose(got["z"], case["output"]["z"], atol=1e-6)
        assert abs(got["lost"] - case["output"]["lost"]) < 1e-6
        assert got["saturated"] == case["output"]["saturated"]
    assert any(c["output"]["lost"] > 0.05 for c in fixture) and any(c["output"]["saturated"] for c in fixture)


if __name__ == "__main__":
    FIXTURE.write_text(json.dumps([{"input": c, "output": answers(c)} for c in cases()], indent=1) + "\n")
    print(f"wrote {FIXTURE}")
