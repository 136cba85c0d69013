"""`dcgan serve`: the face studio (HTTP API and web page)."""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan import resources


def cmd_serve(args: argparse.Namespace) -> None:
    from dcgan.serving import run

    models = args.model or [resources.default_model()]
    run(models, host=args.host, port=args.port, cors_origins=args.cors, workers=args.workers)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="the face studio: HTTP API and web page")
    p.add_argument("--model", type=Path, action="append", help="model bundle (repeatable); default: shipped model")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--cors", action="append", metavar="ORIGIN", help="allow this browser origin (CORS is closed by default)"
    )
    p.add_argument(
        "--workers", type=int, default=1, help="server processes sharing the port, each with its own model copy"
    )
    p.set_defaults(func=cmd_serve)
