"""Photos → z (issue #23): `dcgan invert` and the encoder it needs, `dcgan encoder train`."""

from __future__ import annotations

import argparse
from pathlib import Path

from dcgan.errors import DataError


def cmd_encoder_train(args: argparse.Namespace) -> None:
    from dcgan.inversion.options import EncoderOptions
    from dcgan.inversion.train import train_encoder

    options = EncoderOptions(
        steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        feature_weight=args.feature_weight,
        width=args.width,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
    )
    folder = train_encoder(args.model, args.data, options, args.val, args.work, args.resume, init=args.init_encoder)
    print(f"wrote {folder}")


def cmd_invert(args: argparse.Namespace) -> None:
    import numpy as np

    from dcgan.bundle import load_generator
    from dcgan.images import save_png
    from dcgan.photos import PhotoError, align_face, read_photo
    from dcgan.sampling import save_z

    model = load_generator(args.model)
    inverter = model.inverter  # a bundle with no encoder fails here, before any photo is read
    photos, crops, found, skipped = [], [], [], {}
    for photo in args.photos:
        try:
            aligned = align_face(read_photo(Path(photo).read_bytes()), model.image_shape[0], face=args.face)
        except (OSError, PhotoError) as exc:
            skipped[str(photo)] = str(exc)
            print(f"skipped {photo}: {exc}")
            continue
        photos.append(Path(photo))
        crops.append(aligned.image)
        found.append(aligned)
    if not crops:
        raise DataError(f"no face to invert in {len(args.photos)} photo(s)")
    inversion = inverter.invert(np.stack(crops), args.steps)
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (photo, aligned) in enumerate(zip(photos, found, strict=True)):
        name = photo.stem
        scores = {k: round(float(v[i]), 4) for k, v in inversion.scores.items()}
        save_png(aligned.image, args.out / f"{name}_crop.png")
        save_png(inversion.faces[i], args.out / f"{name}_face.png")
        record = {
            "photo": str(photo),
            "scores": scores,
            "face": aligned.index,
            "faces": aligned.faces,
            "solver_steps": inversion.steps,
            "model": str(args.model),
        }
        save_z(args.out, name, inversion.z[i], record)
        print(f"{name}: PSNR {scores['psnr']:.2f} dB, SSIM {scores['ssim']:.3f} → {args.out / name}_face.png")
    print(f"{len(photos)} inverted in {inversion.seconds:.1f} s, {len(skipped)} skipped")


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    from dcgan.inversion.options import EncoderOptions

    defaults = EncoderOptions()
    group = subparsers.add_parser("encoder", help="the photo encoder of a model bundle (for `dcgan invert`)")
    commands = group.add_subparsers(dest="encoder_command", required=True)
    p = commands.add_parser("train", help="train a bundle's encoder on real faces and store it in the bundle")
    p.add_argument("model", type=Path, help="the model bundle (with discriminator.npz)")
    p.add_argument("--data", type=Path, required=True, help="a prepared cache of real faces in the model's framing")
    p.add_argument("--val", type=Path, help="a prepared cache of other faces, to score the encoder on")
    p.add_argument("--work", type=Path, help="checkpoint folder (default runs/encoder-<model name>)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --work")
    p.add_argument(
        "--init-encoder",
        type=Path,
        metavar="BUNDLE",
        help="start from this bundle's encoder (a warm start after a fine-tune; it may be MODEL itself)",
    )
    p.add_argument("--steps", type=int, default=defaults.steps)
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    p.add_argument(
        "--feature-weight",
        type=float,
        default=defaults.feature_weight,
        help="weight of the discriminator-feature distance beside the pixel loss",
    )
    p.add_argument("--width", type=int, default=defaults.width, help="channels of the encoder's first conv layer")
    p.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.set_defaults(func=cmd_encoder_train)

    p = subparsers.add_parser("invert", help="photos → aligned faces → z, with the reconstruction and scores")
    p.add_argument("photos", nargs="+", type=Path, help="photos (JPEG, PNG, WebP, GIF, …)")
    p.add_argument("--model", type=Path, required=True, help="a model bundle with an encoder")
    p.add_argument("--out", type=Path, required=True, help="folder for NAME.json, NAME_z.npy, NAME_crop/face.png")
    p.add_argument("--face", type=int, default=None, help="which face of each photo, largest first (default 0)")
    p.add_argument("--steps", type=int, help="solver steps after the encoder's guess (default: the solver's; 0: none)")
    p.set_defaults(func=cmd_invert)
