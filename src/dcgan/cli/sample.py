"""`dcgan sample`: grids, interpolations, dimension sweeps, GIF walks and z arithmetic from a model bundle."""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan import resources
from dcgan.cli._flags import add_z_seed, deprecated


def cmd_sample(args: argparse.Namespace) -> None:
    from dcgan import sampling
    from dcgan.bundle import load_generator

    model = load_generator(args.model or resources.default_model())
    out = args.out
    if args.mode == "grid":
        path = sampling.grid(model, out, args.grid_size, args.z_seed, args.scale)
    elif args.mode == "interpolate":
        a, b = sampling.read_z(args.a, model)[0], sampling.read_z(args.b, model)[0]
        path = sampling.interpolation(model, out, a, b, args.steps, args.method)
    elif args.mode == "sweep":
        dims = [int(d) for d in args.dims.split(",")]
        path = sampling.dimension_sweep(model, out, sampling.read_z(args.z, model)[0], dims, args.steps)
    elif args.mode == "gif":
        path = sampling.gif_walk(model, out, sampling.read_z(args.keys, model), args.steps, args.method)
    elif args.mode == "directions":
        names = args.names.split(",") if args.names else None
        path = sampling.direction_grid(model, out, names, args.faces)
    else:
        a, b, c = (sampling.read_z(spec, model) for spec in (args.a, args.b, args.c))
        path = sampling.vector_arithmetic(model, out, a, b, c)
    print(path)


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("sample", help="grids, interpolations, sweeps, GIFs, arithmetic, named directions")
    p.add_argument("model", type=Path, nargs="?", help="a model bundle (default: the shipped face model)")
    p.add_argument("mode", choices=("grid", "interpolate", "sweep", "gif", "arithmetic", "directions"))
    p.add_argument("--out", type=Path, default=Path("samples"))
    p.add_argument("--grid-size", type=int, default=8, metavar="N", help="grid: N×N faces (default 8)")
    deprecated(p, "--n", "--grid-size", "grid_size", type=int)
    p.add_argument("--scale", type=int, default=1, help="grid: enlarge each face this many times, Lanczos (default 1)")
    add_z_seed(p, "grid: seed of the faces' z")
    p.add_argument("--a", default="1", help="seeds like '1,2' or a .npy/.json z file")
    p.add_argument("--b", default="2")
    p.add_argument("--c", default="3")
    p.add_argument("--z", default="0", help="sweep: the base z")
    p.add_argument("--dims", default="0,1,2,3", help="sweep: z dimensions to sweep")
    p.add_argument("--keys", default="0,1,2,3", help="gif: key z vectors")
    p.add_argument("--names", default="", help="directions: the directions, comma-separated (default: attributes)")
    p.add_argument("--faces", type=int, default=4, help="directions: faces per row (default 4)")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--method", choices=("linear", "spherical"), default="spherical")
    p.set_defaults(func=cmd_sample)
