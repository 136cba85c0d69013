"""Named controls' maths: moves inside the box, edits that hold other attributes, constrained sampling, breeding.

A fake generator writes z into the pixels and a fake classifier reads it back, so every call the tests check is an
exact function of z (the real classifier and generator are exercised by test_controls_fit and the benchmark)."""

from __future__ import annotations

import numpy as np
import pytest

from dcgan.controls.directions import Directions
from dcgan.controls.linear import move_in_box, reflect
from dcgan.controls.runtime import Controls
from dcgan.errors import ModelError

DIM = 16
CONTRACT = {"dim": DIM, "prior": "uniform", "low": -1.0, "high": 1.0}
NAMES = ["Smiling", "Male"]


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def fake_generate(z: np.ndarray) -> np.ndarray:
    images = np.zeros((len(z), 8, DIM, 3), np.uint8)
    images[:, 0, :, 0] = np.round((np.asarray(z) + 1) * 127.5)
    return images


class FakeClassifier:
    def __init__(self, normals: np.ndarray) -> None:
        self.normals = normals

    def predict(self, images: np.ndarray) -> dict[str, np.ndarray]:
        z = images[:, 0, :, 0].astype(np.float64) / 127.5 - 1
        scores = z @ self.normals.T
        out = {name: 1 / (1 + np.exp(-8 * scores[:, i])) for i, name in enumerate(NAMES)}
        out["Age"] = 40 + 20 * scores[:, 2]
        return out


@pytest.fixture
def controls() -> Controls:
    rng = np.random.default_rng(0)
    normals = np.stack([unit(rng.standard_normal(DIM)) for _ in range(3)])
    sefa, _ = np.linalg.qr(rng.standard_normal((DIM, DIM)))
    info = {
        "attributes": [{"name": n, "kind": "attribute"} for n in NAMES] + [{"name": "Age", "years_per_unit": 20.0}],
        "calibration": {n: {"threshold": 0.5} for n in NAMES},
        "controls": [{"name": n, "kind": "attribute", "step": 0.5} for n in [*NAMES, "Age"]]
        + [{"name": "sefa_0", "kind": "sefa", "index": 0, "step": 0.5}],
    }
    directions = Directions(
        info,
        normals.astype(np.float32),
        np.array([0, 0, 2], np.float32),
        sefa.T.astype(np.float32),
        np.eye(DIM, dtype=np.float32)[:3],
    )
    return Controls(directions, FakeClassifier(normals), CONTRACT, fake_generate)


def test_move_reaches_its_targets_and_holds_the_others():
    rng = np.random.default_rng(1)
    normals = np.stack([unit(rng.standard_normal(DIM)) for _ in range(3)])
    z = rng.uniform(-0.5, 0.5, (5, DIM))
    move = move_in_box(z, normals, np.tile([0.4, 0.0, 0.0], (5, 1)), -1, 1)
    np.testing.assert_allclose((move.z - z) @ normals.T, np.tile([0.4, 0, 0], (5, 1)), atol=1e-5)
    assert np.all(move.lost < 1e-4)


def test_move_stays_in_the_box_using_the_free_coordinates():
    normal = unit(np.ones(DIM))
    z = np.zeros((1, DIM))
    z[0, :4] = 0.99  # four coordinates have almost no room left
    move = move_in_box(z, normal[None], np.array([[1.0]]), -1, 1)
    assert move.z.max() <= 1 and move.z.min() >= -1
    assert (move.z - z) @ normal == pytest.approx(1.0, abs=1e-4)  # the free coordinates made up for them
    assert move.lost[0] < 1e-4 and move.saturated[0] == 4


def test_move_reports_what_the_box_took():
    normal = np.zeros(DIM)
    normal[0] = 1
    move = move_in_box(np.zeros((1, DIM)), normal[None], np.array([[3.0]]), -1, 1)
    assert move.z[0, 0] == 1
    assert move.lost[0] == pytest.approx(2 / 3, abs=1e-4)


def test_reflect_folds_back_into_the_box():
    z = np.array([[-3.5, -1.2, 0.3, 1.5, 2.9]])
    folded = reflect(z, -1, 1)
    np.testing.assert_allclose(folded, [[0.5, -0.8, 0.3, 0.5, -0.9]], atol=1e-6)


def test_edit_moves_one_attribute_and_holds_the_others(controls):
    z = np.random.default_rng(2).uniform(-0.6, 0.6, (20, DIM)).astype(np.float32)
    moved = controls.edit(z, {"Smiling": 2.0}).z
    change = (moved - z) @ controls.directions.normals.T
    np.testing.assert_allclose(change[:, 0], 1.0, atol=1e-3)  # 2 steps of 0.5
    np.testing.assert_allclose(change[:, 1:], 0.0, atol=1e-3)
    free = controls.edit(z, {"Smiling": 2.0}, hold=[]).z
    assert np.abs((free - z) @ controls.directions.normals[1]).max() > 0.01  # not held: Male drifts
    single = controls.edit(z[0], {"sefa_0": 1.0})
    assert single.z.shape == (DIM,)


@pytest.mark.parametrize(
    ("moves", "hold", "message"),
    [
        ({"Nope": 1.0}, None, "no direction named 'Nope'"),
        ({"Smiling": 11.0}, None, "amount"),
        ({"Smiling": float("nan")}, None, "amount"),
        ({}, ["sefa_0"], "can hold only named attributes"),
    ],
)
def test_edit_refuses_bad_requests(controls, moves, hold, message):
    with pytest.raises(ModelError, match=message):
        controls.edit(np.zeros(DIM), moves, hold)


def test_sample_where_meets_the_constraints(controls):
    wanted = {"Smiling": True, "Male": False, "Age": [30, 45]}
    found = controls.sample_where(wanted, n=8, seed=0, truncation=1.0)
    assert found.z.shape == (8, DIM) and found.satisfied.all()
    attrs = controls.attributes(fake_generate(found.z))
    assert np.all(attrs["Smiling"] > 0.5) and np.all(attrs["Male"] < 0.5)
    assert np.all((attrs["Age"] >= 30) & (attrs["Age"] <= 45))
    assert np.abs(found.z).max() <= 1


@pytest.mark.parametrize(
    ("constraints", "message"),
    [({"Wings": True}, "unknown attribute"), ({"Smiling": 1}, "true or false"), ({"Age": [50, 140]}, "two ages")],
)
def test_sample_where_refuses_bad_constraints(controls, constraints, message):
    with pytest.raises(ModelError, match=message):
        controls.sample_where(constraints, 4, 0, 1.0)


def test_children_with_the_lock_avoid_the_identity_directions(controls):
    z = np.zeros(DIM, np.float32)
    locked = controls.children(z, 50, 0.3, lock=True, seed=0)
    free = controls.children(z, 50, 0.3, lock=False, seed=0)
    identity = controls.directions.identity
    assert np.abs(locked @ identity.T).max() < 1e-5
    assert np.abs(free @ identity.T).max() > 0.05
    np.testing.assert_allclose(np.linalg.norm(locked, axis=1), np.linalg.norm(free, axis=1), rtol=1e-4)
    assert np.abs(controls.children(np.full(DIM, 0.95, np.float32), 50, 1.0, False, 1)).max() <= 1


def test_cross_takes_each_direction_from_one_parent(controls):
    parents = np.random.default_rng(3).uniform(-0.3, 0.3, (3, DIM)).astype(np.float32)
    children = controls.cross(parents, 10, seed=0)
    basis = controls.directions.sefa
    child_coords, parent_coords = children.z @ basis.T, parents @ basis.T
    for coords in child_coords:
        assert all(np.isclose(coords[k], parent_coords[:, k], atol=1e-5).any() for k in range(DIM))
    only_first = controls.cross(parents, 4, weights=[1, 0, 0], seed=0).z
    np.testing.assert_allclose(only_first, np.repeat(parents[:1], 4, 0), atol=1e-5)
    with pytest.raises(ModelError, match="parents"):
        controls.cross(parents[:1], 2)
    with pytest.raises(ModelError, match="weights"):
        controls.cross(parents, 2, weights=[0, 0, 0])


def tiny_refiner():
    import keras

    from dcgan.controls.refine import Refiner

    keras.utils.set_random_seed(0)
    z_in = keras.Input((DIM,))
    generator = keras.Model(z_in, keras.layers.Reshape((8, 8, 3))(keras.layers.Dense(192, activation="tanh")(z_in)))
    image = keras.Input((8, 8, 3))
    flat = keras.layers.Flatten()(keras.layers.Rescaling(1 / 127.5, offset=-1)(image))
    classifier = keras.Model(image, {"attributes": keras.layers.Dense(2)(flat), "age": keras.layers.Dense(1)(flat)})
    return Refiner(generator, classifier, np.zeros(2), {"mean": 33.0, "std": 20.0}, -1.0, 1.0)


def test_refiner_crosses_the_boundary_and_holds_the_rest():
    refiner = tiny_refiner()
    z = np.random.default_rng(0).uniform(-0.5, 0.5, (16, DIM)).astype(np.float32)
    start = refiner.scores(z)[0].numpy()
    amounts = np.zeros((16, 3), np.float32)
    amounts[:, 0] = np.where(start[:, 0] > 0, -1, 1)  # one step toward the other side
    held = np.zeros_like(amounts)
    held[:, 1:] = 1
    solved, lost = refiner.solve(z, amounts, np.array([2, 2, 1], np.float32), np.array([0, 0, 1], np.float32), held)
    final = refiner.scores(solved)[0].numpy()
    assert np.mean(np.sign(final[:, 0]) != np.sign(start[:, 0])) >= 0.9
    free, _ = refiner.solve(z, amounts, np.array([2, 2, 1], np.float32), np.zeros(3, np.float32), 0 * held)
    drift = np.abs(refiner.scores(free)[0].numpy()[:, 1] - start[:, 1])
    assert np.mean(np.abs(final[:, 1] - start[:, 1])) < np.mean(drift)  # holding keeps the other attribute closer
    assert np.abs(solved).max() <= 1 and np.all((lost >= 0) & (lost <= 1))


def test_refiner_goes_on_for_the_faces_short_of_their_goal_alone(monkeypatch):
    from dcgan.controls import refine

    monkeypatch.setattr(refine, "LEARNING_RATE", 0.002)  # small steps: MIN_STEPS get no face there
    refiner = tiny_refiner()
    z = np.random.default_rng(1).uniform(-0.5, 0.5, (8, DIM)).astype(np.float32)
    amounts = np.zeros((8, 3), np.float32)
    amounts[:, 0] = np.where(refiner.scores(z)[0].numpy()[:, 0] > 0, -1, 1)
    args = (amounts, np.array([2, 2, 1], np.float32), np.zeros(3, np.float32), np.zeros_like(amounts))
    together, lost = refiner.solve(z, *args)
    alone = np.concatenate([refiner.solve(z[i : i + 1], amounts[i : i + 1], *args[1:])[0] for i in range(8)])
    np.testing.assert_allclose(together, alone, atol=1e-4)  # a face's result does not depend on its batch
    _, short_lost = refiner.solve(z, *args, max_steps=refine.MIN_STEPS)  # what a child gets (`children`)
    assert np.mean(lost) < np.mean(short_lost)  # the steps after MIN_STEPS got the faces closer


def test_refiner_lets_the_faces_still_short_go_further_from_their_picture(monkeypatch):
    from dcgan.controls import refine

    monkeypatch.setattr(refine, "PIXEL_WEIGHT", 300.0)  # an anchor that holds these faces short of their goal
    z = np.random.default_rng(2).uniform(-0.5, 0.5, (8, DIM)).astype(np.float32)
    amounts = np.zeros((8, 3), np.float32)
    amounts[:, 0] = np.where(tiny_refiner().scores(z)[0].numpy()[:, 0] > 0, -1, 1)
    args = (amounts, np.array([2, 2, 1], np.float32), np.zeros(3, np.float32), np.zeros_like(amounts))
    _, relaxed = tiny_refiner().solve(z, *args)
    monkeypatch.setattr(refine, "PIXEL_HALF_LIFE", float("inf"))
    _, anchored = tiny_refiner().solve(z, *args)
    assert np.mean(anchored) > 0.5  # the full anchor keeps them short
    assert np.mean(relaxed) < np.mean(anchored) - 0.2
