"""Write docs/cli.md, the table of every `dcgan` command and flag, from the argparse parser itself.

Usage: python scripts/cli_reference.py [--check]   (--check: exit 1 if docs/cli.md is out of date)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dcgan.cli import build_parser
from dcgan.cli._flags import DeprecatedFlag

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
HEADER = """# `dcgan` commands and flags

Generated from the parser by `python scripts/cli_reference.py`; `tests/test_cli.py` checks it is current.
Shared flags mean the same everywhere: `--samples` is the number of generated images scored, `--z-seed` the seed of
their z, `--split-seed` the seed of the train/val/test assignment, `--progress/--no-progress` the progress output.
Every command exits with status 2 and `dcgan CMD: error: …` on a problem the user can fix.
"""


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _flag(action: argparse.Action) -> str:
    names = " ".join(f"`{s}`" for s in action.option_strings) or f"`{action.metavar or action.dest}`"
    if action.choices and not isinstance(action, argparse.BooleanOptionalAction):
        names += f" ({', '.join(map(str, action.choices))})"
    return names


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    default = action.default
    if default is None or default is False or default is argparse.SUPPRESS:
        return ""
    if isinstance(default, Path) and default.is_absolute():
        default = "the shipped model"
    return f"`{default}`"


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> list[tuple[str, argparse.ArgumentParser, str]]:
    """(command, parser, summary) for every command; a group's commands (`classifier train`) replace the group."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    commands = []
    for name, p in sub.choices.items():
        if any(isinstance(a, argparse._SubParsersAction) for a in p._actions):
            commands += _commands(p, f"{prefix}{name} ")
        else:
            commands.append((prefix + name, p, helps.get(name, "")))
    return commands


def render() -> str:
    rows, renamed = [], []
    for name, parser, summary in _commands(build_parser()):
        rows.append(f"| **{name}** | | | {_cell(summary)} |")
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if isinstance(action, DeprecatedFlag):
                renamed.append(f"| {name} | `{action.option_strings[0]}` | `{action.replacement}` |")
                continue
            rows.append(f"| | {_flag(action)} | {_default(action)} | {_cell(action.help or '')} |")
    return "\n".join(
        [
            HEADER,
            "| command | flag | default | meaning |",
            "|---|---|---|---|",
            *rows,
            "",
            "## Renamed flags",
            "",
            "The old spellings still work for one release and print `dcgan: --OLD is deprecated; use --NEW` on stderr.",
            "",
            "| command | old | new |",
            "|---|---|---|",
            *renamed,
            "",
        ]
    )


def main() -> None:
    text = render()
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            sys.exit(f"{OUT} is out of date: run python scripts/cli_reference.py")
        return
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    print(OUT)


if __name__ == "__main__":
    main()
