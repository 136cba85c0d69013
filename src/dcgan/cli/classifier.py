"""The attribute classifier's commands (issue #22): `dcgan classifier train` and `dcgan classifier evaluate`."""

from __future__ import annotations

import argparse
from pathlib import Path

DATA_FLAGS = (
    ("--celeba", "CelebA split cache (train/, val/, test/ with manifest.json naming each row's CelebA file)"),
    ("--labels", "CelebA's attribute file (list_attr_celeba.txt or a first part of it)"),
    ("--utkface", "UTKFace tar of 64×64 faces (labels in the file names), split 90/5/5 by a hash of the name"),
)


def cmd_train(args: argparse.Namespace) -> None:
    from dcgan.controls.train_classifier import train_classifier

    clf = train_classifier(
        args.celeba, args.labels, args.utkface, args.out, epochs=args.epochs, batch_size=args.batch_size, seed=args.seed
    )
    metrics = clf.info["metrics"]
    print(f"{args.out}: epoch {metrics['best_epoch']} of {args.epochs} (lowest val loss), {clf.parameters} parameters")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from dcgan.atomic import write_json_atomic
    from dcgan.controls.classifier import METRICS_FILE, load_classifier
    from dcgan.controls.train_classifier import evaluate_classifier, table

    clf = load_classifier(args.classifier_dir)
    metrics = evaluate_classifier(clf, args.celeba, args.labels, args.utkface)
    write_json_atomic(args.classifier_dir / METRICS_FILE, metrics)
    print(table(metrics))


def _data_flags(parser: argparse.ArgumentParser) -> None:
    for flag, help in DATA_FLAGS:
        parser.add_argument(flag, type=Path, required=True, help=help)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    group = subparsers.add_parser("classifier", help="the face attribute classifier: train, evaluate")
    commands = group.add_subparsers(dest="classifier_command", required=True)

    p = commands.add_parser(
        "train", help="train the attribute classifier (CelebA attributes, UTKFace age); keeps the epoch of best val"
    )
    _data_flags(p)
    p.add_argument("--out", type=Path, required=True, help="classifier folder to write (replaced if it exists)")
    p.add_argument("--epochs", type=int, default=12, help="epochs to train; the one of lowest val loss is kept")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0, help="seed of the initial weights, shuffling and flips")
    p.set_defaults(func=cmd_train)

    p = commands.add_parser(
        "evaluate", help="test-split accuracy, balanced accuracy and age MAE of a classifier (writes metrics.json)"
    )
    p.add_argument("classifier_dir", type=Path)
    _data_flags(p)
    p.set_defaults(func=cmd_evaluate)
