"""The attribute classifier (issue #22): label parsing (CelebA's attribute file, UTKFace's names), a tiny training
run that saves, reloads and predicts the same numbers, and the CLI's errors and metrics."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan.cli import main
from dcgan.controls.classifier import AGE, ATTRIBUTES, AttributeClassifier, Committee, install, load_classifier
from dcgan.controls.labels import face_id, parse_celeba_attributes, parse_utkface_name, utkface_labels
from dcgan.controls.train_classifier import FaceSet, scores, table, train_classifier, utkface_split_of
from dcgan.errors import DataError, ModelError

NAMES = ["Smiling", "Male", "Young", "Eyeglasses", "Blond_Hair", "Black_Hair", "Bald", "Mustache", "Goatee",
         "No_Beard", "Mouth_Slightly_Open"]  # fmt: skip
TINY = {"widths": [4, 4, 4, 4], "dense": 8}
FIXTURE = """202599
Mustache Goatee No_Beard Smiling
000001.jpg -1 -1  1  1
000002.jpg  1 -1  1 -1
000003.jpg -1  1  1 -1
000004.jpg -1 -1 -1 -1
"""


def test_celeba_attribute_file_and_derived_beard() -> None:
    labels = parse_celeba_attributes(FIXTURE)
    assert labels.names == ("Mustache", "Goatee", "No_Beard", "Smiling", "Beard") and len(labels) == 4
    assert labels.get("000001.jpg") == {"Mustache": False, "Goatee": False, "No_Beard": True, "Smiling": True,
                                        "Beard": False}  # fmt: skip
    assert [labels.get(f"celeba/00000{i}.jpg")["Beard"] for i in (2, 3, 4)] == [True, True, True]
    table, found = labels.matrix(["000004.jpg", "000009.jpg", "000001.png"], ("Smiling", "Beard"))
    assert found.tolist() == [True, False, True]
    assert table[0].tolist() == [0, 1] and np.isnan(table[1]).all() and table[2].tolist() == [1, 0]
    assert face_id("a/b/000007.jpg") == "000007" and "000003.jpg" in labels and "000005.jpg" not in labels


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x\nA B\n", "line 1"),
        ("3\nA B\n000001.jpg 1\n", "line 3 has 1 values for 2"),
        ("3\nA B\n000001.jpg 1 0\n", "line 3 holds a value other than 1 or -1"),
        ("3\nA B\n000001.jpg 1 1\n000001.jpg 1 1\n", "line 4 repeats"),
        ("1\nA\n000001.jpg 1\n000002.jpg 1\n", "declares 1"),
    ],
)
def test_malformed_attribute_files_name_the_problem(text, message) -> None:
    with pytest.raises(DataError, match=message):
        parse_celeba_attributes(text)


def test_utkface_names_bad_ones_skipped_and_counted() -> None:
    assert parse_utkface_name("utkface64/26_1_3_20170119171131174.jpg").age == 26
    label = parse_utkface_name("55_0_0_20170116232725357jpg.chip.jpg.jpg")
    assert (label.age, label.male, label.race) == (55, True, 0)
    assert parse_utkface_name("3_1_2_2017.jpg").male is False
    names = ["1_0_0_2017.jpg", "39_1_20170116174525125.jpg", "face.jpg", "200_0_0_2017.jpg", "0_0_0_2017.jpg"]
    labels, skipped = utkface_labels(names)
    assert list(labels) == ["1_0_0_2017.jpg"] and sum(skipped.values()) == 4
    splits = [utkface_split_of(f"{i}_0_0_x.jpg") for i in range(2000)]
    assert splits == [utkface_split_of(f"dir/{i}_0_0_x.jpg") for i in range(2000)]  # by base name only
    assert 0.87 < splits.count("train") / 2000 < 0.93 and splits.count("test") > 60


def synthetic(n: int, utkface: bool, seed: int) -> FaceSet:
    """Faces whose brightness carries the labels, so a few steps of training have something to fit."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, len(ATTRIBUTES))) < 0.5).astype(np.float32)
    images = np.repeat((labels[:, :1, None, None] * 120 + rng.integers(0, 100, (n, 1, 1, 1))), 64, 1)
    images = np.broadcast_to(images, (n, 64, 64, 3)).astype(np.uint8)
    age = np.full(n, np.nan, np.float32)
    if utkface:
        labels[:, [i for i, a in enumerate(ATTRIBUTES) if a != "Male"]] = np.nan
        age = rng.uniform(1, 80, n).astype(np.float32)
    return FaceSet(images.copy(), labels, age, {f"synthetic_{seed}": n})


def test_tiny_training_saves_reloads_and_predicts_the_same(tmp_path) -> None:
    data = {s: {"celeba": synthetic(24, False, i), "utkface": synthetic(16, True, i + 5)} for i, s in
            enumerate(("train", "val"))}  # fmt: skip
    clf = train_classifier(None, None, None, tmp_path / "clf", epochs=2, batch_size=8, data=data,
                           architecture=TINY, log=lambda line: None)  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["classifier.json", "weights.npz"]
    faces = data["val"]["celeba"].images[:5]
    before = clf.predict(faces)
    again = load_classifier(tmp_path / "clf")
    after = again.predict(faces)
    assert list(after) == [*ATTRIBUTES, AGE]
    for name in after:
        assert after[name].dtype == np.float32 and after[name].shape == (5,)
        np.testing.assert_array_equal(before[name], after[name])
    assert all(((after[a] >= 0) & (after[a] <= 1)).all() for a in ATTRIBUTES)
    info = again.info
    assert info["metrics"]["best_epoch"] in (1, 2) and len(info["metrics"]["history"]) == 2
    assert info["provenance"]["faces"]["synthetic_0"] == 24 and info["parameters"] == clf.parameters
    with pytest.raises(ModelError, match="uint8"):
        again.predict(faces.astype(np.float32))
    with pytest.raises(ModelError, match="not an attribute classifier"):
        load_classifier(tmp_path / "nothing")
    (tmp_path / "clf" / "metrics.json").write_text("{")
    with pytest.raises(ModelError, match=r"metrics\.json"):
        load_classifier(tmp_path / "clf")


def test_a_committee_reads_the_mean_of_its_members_and_installs_whole(tmp_path) -> None:
    import keras

    members = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        AttributeClassifier(architecture=TINY).save(tmp_path / f"m{seed}")
        members.append(load_classifier(tmp_path / f"m{seed}"))
    faces = synthetic(6, False, 3).images
    (a, age_a), (b, age_b) = (m.raw(faces) for m in members)
    assert not np.allclose(a, b)
    committee = Committee(members)
    logits, age = committee.raw(faces)
    np.testing.assert_allclose(logits, (a + b) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(age, (age_a + age_b) / 2, rtol=1e-5, atol=1e-4)
    install(committee, tmp_path / "bundle-classifier")
    assert sorted(p.name for p in (tmp_path / "bundle-classifier").iterdir()) == [
        "classifier.json", "member-0", "member-1"]  # fmt: skip
    with np.load(tmp_path / "bundle-classifier" / "member-1" / "weights.npz") as saved:
        assert {saved[key].dtype for key in saved.files} == {np.dtype(np.float16)}  # as small as the rest of a bundle
    again = load_classifier(tmp_path / "bundle-classifier")
    assert isinstance(again, Committee) and len(again.members) == 2
    np.testing.assert_allclose(again.raw(faces)[0], logits, atol=0.02)
    with pytest.raises(ModelError, match="at least two"):
        Committee(members[:1])
    other = AttributeClassifier(("Smiling",), TINY)
    with pytest.raises(ModelError, match="same attributes"):
        Committee([members[0], other])


def test_default_classifier_is_small() -> None:
    assert AttributeClassifier().parameters <= 500_000


def write_fixture(root: Path) -> tuple[Path, Path, Path]:
    """A CelebA split cache (ids 1–30, 29 and 30 unlabelled), its attribute file, and a UTKFace tar."""
    rng = np.random.default_rng(0)
    values = rng.choice(["1", "-1"], (28, len(NAMES)))
    labels = root / "list_attr.txt"
    labels.write_text("202599\n" + " ".join(NAMES) + "\n" + "".join(
        f"{i + 1:06d}.jpg " + " ".join(row) + "\n" for i, row in enumerate(values)))  # fmt: skip
    for split, ids in (("train", range(1, 17)), ("val", range(17, 23)), ("test", range(23, 31))):
        (root / "celeba" / split).mkdir(parents=True)
        np.save(root / "celeba" / split / "images.npy", rng.integers(0, 255, (len(ids), 64, 64, 3), dtype=np.uint8))
        files = [f"{i:06d}.jpg" for i in ids]
        (root / "celeba" / split / "manifest.json").write_text(json.dumps({"files": files, "count": len(files)}))
    names = [f"{20 + i}_{i % 2}_{i % 5}_20170{i:03d}.jpg" for i in range(60)] + ["39_1_2017.jpg"]
    assert {utkface_split_of(n) for n in names} == {"train", "val", "test"}
    tar_path = root / "utk.tar"
    with tarfile.open(tar_path, "w") as tar:
        for name in names:
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer, "JPEG")
            member = tarfile.TarInfo(f"utkface64/{name}")
            member.size = buffer.tell()
            buffer.seek(0)
            tar.addfile(member, buffer)
    return root / "celeba", labels, tar_path


def test_cli_trains_evaluates_and_reports_a_missing_labels_file(tmp_path, capsys, monkeypatch) -> None:
    import dcgan.controls.classifier as module

    monkeypatch.setattr(module, "DEFAULT_ARCHITECTURE", {**module.DEFAULT_ARCHITECTURE, **TINY})
    celeba, labels, utk = write_fixture(tmp_path)
    data = ["--celeba", str(celeba), "--labels", str(labels), "--utkface", str(utk)]
    out = tmp_path / "clf"
    main(["classifier", "train", *data, "--out", str(out), "--epochs", "1", "--batch-size", "8"])
    info = json.loads((out / "classifier.json").read_text())
    assert info["provenance"]["faces"]["celeba_train"] == {"faces": 16, "of": 16}
    assert info["provenance"]["faces"]["celeba_val"] == {"faces": 6, "of": 6}
    assert info["provenance"]["faces"]["utkface_train"]["skipped"] == {"no age_gender_race in the name": 1}
    main(["classifier", "evaluate", str(out), *data])
    printed = capsys.readouterr().out
    assert "Smiling" in printed and "Male (UTKFace)" in printed and "Age MAE" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["celeba"]["Smiling"]["n"] == 6  # test ids 23–28 labelled, 29–30 not
    assert load_classifier(out).info["metrics"]["test"] == metrics

    missing = ["--celeba", str(celeba), "--labels", str(tmp_path / "nope.txt"), "--utkface", str(utk)]
    with pytest.raises(SystemExit) as exit_info:
        main(["classifier", "train", *missing, "--out", str(tmp_path / "other")])
    error = capsys.readouterr().err
    assert exit_info.value.code == 2 and error.startswith("dcgan classifier: error: no CelebA attribute file at")
    assert not (tmp_path / "other").exists()


class RankingClassifier:
    """Logits given per face (attributes Smiling and Bald), to check the scores against known rankings."""

    attributes = ("Smiling", "Bald")

    def __init__(self, logits: np.ndarray) -> None:
        self.logits = logits.astype(np.float32)
        self.age_scale = {"mean": 33.0, "std": 20.0}

    def raw(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.logits, np.full(len(images), 33.0, np.float32)


def test_scores_give_a_threshold_free_auc_beside_the_accuracy_at_one_half() -> None:
    """A rare attribute ranked perfectly but never above p = 0.5 has balanced accuracy 0.5 and AUC 1; a reversed
    ranking AUC 0; an attribute with one class only no AUC."""
    labels = np.array([[1, 0], [1, 0], [0, 0], [0, 1]], np.float32)
    logits = np.array([[-1.0, -5.0], [-2.0, -4.0], [3.0, -3.0], [4.0, -1.0]])
    faces = FaceSet(np.zeros((4, 64, 64, 3), np.uint8), labels, np.full(4, np.nan, np.float32))
    out = scores(RankingClassifier(logits), faces)
    assert out["Smiling"]["auc"] == 0.0 and out["Smiling"]["accuracy"] == 0.0
    assert out["Bald"]["auc"] == 1.0 and out["Bald"]["balanced_accuracy"] == 0.5
    labels[:, 1] = 0
    assert scores(RankingClassifier(logits), faces)["Bald"]["auc"] is None
    out.pop("loss")
    lines = table({"celeba": out, "utkface": {}}).splitlines()
    assert "AUC" in lines[0] and lines[2].split()[4] == "1.000"
