"""The `dcgan` command line: one module per command group, shared flags in `_flags`.

- data.py: prepare, download, imagenet, faces, datasets
- train.py: train, export
- sample.py: sample
- evaluate.py: evaluate, select
- tune.py: tune
- serve.py: serve
- classifier.py: classifier train, classifier evaluate
- controls.py: controls fit, list, name
- invert.py: invert, encoder train
- web.py: export-web, site

Commands raise `dcgan.errors.DcganError` for what a user can fix; `main` prints it as `dcgan CMD: error: …` and
exits with status 2. Any other exception is a bug and keeps its traceback. Heavy packages load inside the
command functions only.
"""

from __future__ import annotations

import argparse
import sys

from dcgan.cli import classifier, controls, data, evaluate, invert, sample, serve, train, tune, web
from dcgan.errors import DcganError

COMMAND_GROUPS = (data, train, sample, evaluate, tune, classifier, controls, invert, serve, web)

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dcgan", description="DCGAN: prepare data, train, evaluate, sample, serve.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for group in COMMAND_GROUPS:
        group.add_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except DcganError as exc:
        print(f"dcgan {args.command}: error: {exc}", file=sys.stderr)
        sys.exit(2)
