"""Flags shared by several commands, defined once with one meaning each, and the deprecated spellings.

- `--samples N`: how many images to generate and score (each command documents its default).
- `--progress/--no-progress`: progress bars and per-item lines on stderr.
- `--z-seed`: the seed of the generated z; `--split-seed`: the seed of the train/val/test assignment;
  `--sampler-seed`: the seed of a search's sampler. A bare `--seed` meant one of these depending on the command.

A renamed flag keeps working for one release: it prints `dcgan: --OLD is deprecated; use --NEW` on stderr.
"""

from __future__ import annotations

import argparse
import sys

from dcgan.evaluation.extractors import EXTRACTORS


class DeprecatedFlag(argparse.Action):
    """An old spelling of a flag: warns on stderr, then stores into the new flag's destination."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.replacement = replacement

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"dcgan: {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def deprecated(parser: argparse.ArgumentParser, old: str, replacement: str, dest: str, **kwargs) -> None:
    """Accept `old` as a hidden alias of `replacement` (same `dest`); kwargs as for add_argument (type, const)."""
    parser.add_argument(
        old, dest=dest, action=DeprecatedFlag, replacement=replacement, default=argparse.SUPPRESS, **kwargs
    )


def add_samples(parser: argparse.ArgumentParser, default: int, purpose: str, old: str = "--n") -> None:
    parser.add_argument("--samples", type=int, default=default, metavar="N", help=f"{purpose} (default {default})")
    deprecated(parser, old, "--samples", "samples", type=int)


def add_progress(parser: argparse.ArgumentParser, help: str = "progress bars on stderr", quiet: bool = True) -> None:
    """--progress/--no-progress; `quiet`: also the deprecated --quiet of the commands that had it."""
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help=help)
    if quiet:
        deprecated(parser, "--quiet", "--no-progress", "progress", nargs=0, const=False)


def add_z_seed(parser: argparse.ArgumentParser, help: str, old: str = "--seed") -> None:
    parser.add_argument("--z-seed", type=int, default=0, help=f"{help} (default 0)")
    deprecated(parser, old, "--z-seed", "z_seed", type=int)


def add_split_seed(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the split assignment (default 0)")
    deprecated(parser, "--seed", "--split-seed", "split_seed", type=int)


def add_extractor(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    parser.add_argument(
        "--extractor",
        choices=tuple(EXTRACTORS),
        default="inception-fid",
        help=help
        or "features for FID/KID: inception-fid, the standard FID network (needs dcgan[eval]); keras-inception: "
        "Keras' ImageNet InceptionV3, NOT comparable with published FIDs; pixels: test/debug only",
    )
