"""The command layer: renamed flags keep working with a deprecation message, errors map to exit 2 only when they
are ours, and docs/cli.md is the parser's current table."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from dcgan.cli import build_parser, main
from dcgan.cli._flags import DeprecatedFlag
from dcgan.errors import DataError

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = {
    "prepare": ["src", "--out", "o"],
    "imagenet": ["src", "--out", "o"],
    "sample": ["model", "grid"],
    "evaluate": ["model", "--data", "d"],
    "select": ["run", "--data", "d"],
    "tune": ["--data", "d", "--trials", "1", "--budget-images", "64"],
}
# command, old spelling, its value, new spelling (as argv), the destination both write
RENAMED = [
    ("prepare", ["--seed", "3"], ["--split-seed", "3"], "split_seed", 3),
    ("imagenet", ["--seed", "3"], ["--split-seed", "3"], "split_seed", 3),
    ("sample", ["--n", "3"], ["--grid-size", "3"], "grid_size", 3),
    ("sample", ["--seed", "5"], ["--z-seed", "5"], "z_seed", 5),
    ("evaluate", ["--n", "40"], ["--samples", "40"], "samples", 40),
    ("evaluate", ["--seed", "2"], ["--z-seed", "2"], "z_seed", 2),
    ("evaluate", ["--quiet"], ["--no-progress"], "progress", False),
    ("select", ["--n", "24"], ["--samples", "24"], "samples", 24),
    ("select", ["--quiet"], ["--no-progress"], "progress", False),
    ("tune", ["--eval-samples", "24"], ["--samples", "24"], "samples", 24),
    ("tune", ["--eval-seed", "7"], ["--z-seed", "7"], "z_seed", 7),
    ("tune", ["--seed", "4"], ["--sampler-seed", "4"], "sampler_seed", 4),
]


@pytest.mark.parametrize(("command", "old", "new", "dest", "value"), RENAMED)
def test_renamed_flags_still_work_with_a_deprecation_message(command, old, new, dest, value, capsys) -> None:
    parser = build_parser()
    args = parser.parse_args([command, *REQUIRED[command], *new])
    assert getattr(args, dest) == value and capsys.readouterr().err == ""
    default = getattr(parser.parse_args([command, *REQUIRED[command]]), dest)
    assert default != value  # so the old spelling below really sets it
    args = parser.parse_args([command, *REQUIRED[command], *old])
    assert getattr(args, dest) == value
    assert capsys.readouterr().err == f"dcgan: {old[0]} is deprecated; use {new[0]}\n"


def test_every_deprecated_flag_is_tested() -> None:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    found = {
        (name, action.option_strings[0], action.replacement)
        for name, parser in sub.choices.items()
        for action in parser._actions
        if isinstance(action, DeprecatedFlag)
    }
    assert found == {(command, old[0], new[0]) for command, old, new, _, _ in RENAMED}


def test_shared_flags_have_one_default_per_purpose() -> None:
    parser = build_parser()
    samples = {c: parser.parse_args([c, *REQUIRED[c]]).samples for c in ("evaluate", "select", "tune")}
    assert samples == {"evaluate": 10_000, "select": 1000, "tune": 1000}
    for command in ("evaluate", "select"):
        assert parser.parse_args([command, *REQUIRED[command]]).progress is True


def test_our_errors_exit_2_and_other_exceptions_propagate(monkeypatch, capsys) -> None:
    import dcgan.datasets.listing

    def user_error(root):
        raise DataError("no such folder")

    monkeypatch.setattr(dcgan.datasets.listing, "list_prepared", user_error)
    with pytest.raises(SystemExit) as info:
        main(["datasets", "--root", "x"])
    assert info.value.code == 2 and capsys.readouterr().err == "dcgan datasets: error: no such folder\n"

    def bug(root):
        raise ValueError("a bug, not a user error")

    monkeypatch.setattr(dcgan.datasets.listing, "list_prepared", bug)
    with pytest.raises(ValueError, match="a bug"):  # a traceback, not a polite exit 2
        main(["datasets", "--root", "x"])


def test_python_dash_m_runs_the_same_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "dcgan.cli", "select", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "--samples" in done.stdout and "--quiet" not in done.stdout


def test_docs_cli_table_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "cli_reference.py"), "--check"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    table = (ROOT / "docs" / "cli.md").read_text()
    assert "| select | `--n` | `--samples` |" in table and "| | `--samples` | `1000` |" in table
