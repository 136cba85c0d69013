"""`dcgan export-web` and `dcgan site`: the generator for the browser (ONNX, in the bundle) and a static site.

`export-web` is its own command rather than a `--format` of `dcgan export`, which makes a bundle from a RUN dir:
this one adds to an existing bundle (MODEL_DIR/web/), like `dcgan controls fit`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan import resources


def cmd_export_web(args: argparse.Namespace) -> None:
    from dcgan.web_export import export_web, web_export_info

    out = export_web(args.model, args.dtype)
    info = web_export_info(args.model)
    parity = info["parity"]
    print(
        f"{out / info['file']}: {info['bytes']:,} bytes ({info['weights_dtype']} weights, opset {info['opset']}); "
        f"vs TensorFlow on {parity['z']}: mean {parity['mean_abs']} / max {parity['max_abs']} grey levels"
    )


def cmd_site(args: argparse.Namespace) -> None:
    from dcgan.site import build_site

    print(build_site(args.model or [resources.default_model()], args.out, args.page))


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("export-web", help="write a bundle's generator as ONNX for the browser (MODEL_DIR/web/)")
    p.add_argument("model", type=Path, help="a model bundle")
    p.add_argument(
        "--dtype", choices=("float16", "float32"), default="float16", help="stored weights (computed in float32)"
    )
    p.set_defaults(func=cmd_export_web)

    p = subparsers.add_parser(
        "site", help="a static site (page, models.json, ONNX models, sliders) for any static host"
    )
    p.add_argument("--model", type=Path, action="append", help="model bundle (repeatable); default: shipped model")
    p.add_argument("--out", type=Path, default=Path("site"), help="the folder to write (replaced)")
    p.add_argument("--page", type=Path, help="the built page (default: the installed one, web/dist)")
    p.set_defaults(func=cmd_site)
