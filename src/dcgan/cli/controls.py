"""`dcgan controls`: fit a generator's named controls into its bundle, list them, and name discovered ones."""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan.errors import ConfigError


def cmd_fit(args: argparse.Namespace) -> None:
    from dcgan.controls.fit import fit_controls

    fit_controls(
        args.model, args.classifier, args.real, args.samples, args.calibration_samples, args.identity_samples, args.seed
    )
    cmd_list(args)


def cmd_list(args: argparse.Namespace) -> None:
    from dcgan.controls.directions import Directions

    directions = Directions.load(args.model)
    print(f"{'name':<20} {'kind':<10} {'step':>6}  label / how")
    for c in directions.controls():
        print(f"{c['name']:<20} {c['kind']:<10} {c['step']:>6.3f}  {c['label']}\n{'':<39}{c['how']}")


def cmd_name(args: argparse.Namespace) -> None:
    from dcgan.controls.directions import Directions

    directions = Directions.load(args.model)
    control = directions.control(args.name)
    if not args.label.strip():
        raise ConfigError("the label must not be empty")
    control["label"] = args.label.strip()
    directions.save(args.model)
    print(f"{args.name}: {control['label']}")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("controls", help="named controls: sliders, constrained sampling, breeding")
    commands = group.add_subparsers(dest="controls_command", required=True)

    p = commands.add_parser("fit", help="fit directions, slider steps, calibration and identity into a bundle")
    p.add_argument("model", type=Path, help="the model bundle to add controls to")
    p.add_argument(
        "--classifier",
        type=Path,
        nargs="+",
        required=True,
        help="an attribute classifier (`dcgan classifier train`); several (other seeds): their committee reads faces",
    )
    p.add_argument("--real", type=Path, required=True, help="a prepared cache of real faces, for calibration")
    p.add_argument("--samples", type=int, default=10_000, help="generated faces the boundaries are fitted on")
    p.add_argument("--calibration-samples", type=int, default=256, help="faces the slider steps are measured on")
    p.add_argument("--identity-samples", type=int, default=1_000, help="faces the identity directions are fitted on")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_fit)

    p = commands.add_parser("list", help="the bundle's controls: name, kind, slider step, how each was made")
    p.add_argument("model", type=Path)
    p.set_defaults(func=cmd_list)

    p = commands.add_parser("name", help="give a discovered direction a name people understand")
    p.add_argument("model", type=Path)
    p.add_argument("name", help="the control, e.g. sefa_3")
    p.add_argument("label", help='what it does, e.g. "lighting from the left"')
    p.set_defaults(func=cmd_name)
