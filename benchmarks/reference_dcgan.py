"""A reference DCGAN for the shipped face model to be compared with: pytorch/examples' DCGAN, in PyTorch.

The model and recipe of PyTorch's own DCGAN example (github.com/pytorch/examples, `dcgan/main.py`), the paper's
architecture as another team wrote it: 4×4 (transposed) convolutions, BN everywhere but D's input and G's output,
ReLU in G, LeakyReLU 0.2 in D, N(0, 0.02) weights, z of 100 from N(0, 1), Adam 2e-4 with β1 0.5, batch 64, no
EMA, no augmentation, no R1. It trains on the same uint8 cache as `dcgan train` for the same number of images,
then writes `--samples` faces as an image cache and, with `--test`, scores them with `dcgan evaluate` exactly as
it scores a model (into OUT/test-metrics.json):

    python benchmarks/reference_dcgan.py --data data/celeba-usual64/train --images 6080000 --out runs/reference-6080k \
        --bf16 --test data/celeba-usual64/test

Training is resumable: run the same command again after a stop (SIGTERM/Ctrl-C writes a checkpoint first).
PyTorch comes with the `eval` extra.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from dcgan.atomic import atomic_path, write_json_atomic
from dcgan.data import BatchSource, Cache


def generator(nz: int = 100, ngf: int = 64, nc: int = 3) -> nn.Sequential:
    """z (N, nz, 1, 1) → images (N, nc, 64, 64) in [-1, 1]."""

    def up(cin: int, cout: int, stride: int = 2, padding: int = 1) -> list[nn.Module]:
        return [nn.ConvTranspose2d(cin, cout, 4, stride, padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(True)]

    return nn.Sequential(
        *up(nz, ngf * 8, stride=1, padding=0),
        *up(ngf * 8, ngf * 4),
        *up(ngf * 4, ngf * 2),
        *up(ngf * 2, ngf),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
        nn.Tanh(),
    )


def discriminator(ndf: int = 64, nc: int = 3) -> nn.Sequential:
    """images (N, nc, 64, 64) → one logit each (the example's Sigmoid is folded into the loss)."""

    def down(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 4, 2, 1, bias=False), nn.BatchNorm2d(cout), nn.LeakyReLU(0.2, inplace=True)]

    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        *down(ndf, ndf * 2),
        *down(ndf * 2, ndf * 4),
        *down(ndf * 4, ndf * 8),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
        nn.Flatten(0),
    )


def init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class Reference:
    """G, D, their optimizers and the step; saved to and restored from one file."""

    def __init__(self, seed: int, bf16: bool = False) -> None:
        torch.manual_seed(seed)
        self.G, self.D = generator(), discriminator()
        self.G.apply(init_weights)
        self.D.apply(init_weights)
        # NHWC is oneDNN's fast layout on CPU: the same numbers, 11% more images/s here
        self.G.to(memory_format=torch.channels_last)
        self.D.to(memory_format=torch.channels_last)
        self.bf16 = bf16
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.step = 0
        self.loss = nn.BCEWithLogitsLoss()

    def train_step(self, real: torch.Tensor, generator_rng: torch.Generator) -> dict[str, float]:
        """One D step and one G step; in bf16 autocast (fp32 weights and optimizer) if asked."""
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            return self._train_step(real, generator_rng)

    def _train_step(self, real: torch.Tensor, generator_rng: torch.Generator) -> dict[str, float]:
        n = len(real)
        ones, zeros = torch.ones(n), torch.zeros(n)
        fake = self.G(torch.randn(n, 100, 1, 1, generator=generator_rng))
        # D: real → 1, fake → 0 (two batches, as in the example)
        self.opt_d.zero_grad()
        d_real = self.D(real)
        d_fake = self.D(fake.detach())
        d_loss = self.loss(d_real, ones) + self.loss(d_fake, zeros)
        d_loss.backward()
        self.opt_d.step()
        # G: the same fakes, labelled real (non-saturating)
        self.opt_g.zero_grad()
        g_loss = self.loss(self.D(fake), ones)
        g_loss.backward()
        self.opt_g.step()
        self.step += 1
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item(), "d_real": torch.sigmoid(d_real).mean().item()}

    def state(self) -> dict:
        return {
            "G": self.G.state_dict(),
            "D": self.D.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "step": torch.tensor(self.step),
        }

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp:
            torch.save(self.state(), tmp)

    def load(self, path: Path) -> None:
        state = torch.load(path, weights_only=True)
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.step = int(state["step"])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W×C → float N×C×H×W in [-1, 1]."""
    x = torch.from_numpy(np.asarray(images, np.float32)).permute(0, 3, 1, 2) / 127.5 - 1.0
    return x.contiguous(memory_format=torch.channels_last)


def write_samples(model: Reference, out: Path, n: int, seed: int) -> None:
    """n faces as a uint8 image cache (images.npy), in batches of 500, from a fixed z."""
    model.G.eval()
    rng = torch.Generator().manual_seed(seed)
    faces = []
    with torch.no_grad():
        for start in range(0, n, 500):
            x = model.G(torch.randn(min(500, n - start), 100, 1, 1, generator=rng))
            faces.append(((x.permute(0, 2, 3, 1).numpy() + 1) * 127.5).round().clip(0, 255).astype(np.uint8))
    out.mkdir(parents=True, exist_ok=True)
    with atomic_path(out / "images.npy") as tmp, open(tmp, "wb") as handle:
        np.save(handle, np.concatenate(faces))
    manifest = {"source": "pytorch/examples DCGAN", "step": model.step, "z_seed": seed, "bf16": model.bf16}
    write_json_atomic(out / "manifest.json", manifest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a 64×64×3 train cache (dcgan prepare)")
    parser.add_argument("--out", type=Path, required=True, help="run folder: checkpoint, log, samples/")
    parser.add_argument("--images", type=int, required=True, help="train until this many real images were seen")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--samples", type=int, default=10000, help="faces written to OUT/samples for scoring")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps")
    parser.add_argument(
        "--bf16", action="store_true", help="bf16 autocast, fp32 weights: faster on CPUs with bf16 instructions"
    )
    parser.add_argument("--test", type=Path, help="a test split to score the samples on (dcgan evaluate), once trained")
    parser.add_argument("--extractor", default="inception-fid", help="dcgan evaluate's --extractor, with --test")
    args = parser.parse_args()

    torch.set_num_threads(os.cpu_count() or 1)
    images = Cache.open(args.data).images
    if images.shape[1:] != (64, 64, 3):
        parser.error(f"the reference is the 64×64 RGB model; {args.data} holds {images.shape[1:]}")
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt, log = args.out / "checkpoint.pt", args.out / "log.jsonl"
    model = Reference(args.seed, args.bf16)
    if ckpt.exists():
        model.load(ckpt)
        print(f"resumed at step {model.step}")
    batches = BatchSource(images, args.batch_size, args.seed, flip=False)  # the example does not flip
    steps = -(-args.images // args.batch_size)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    started, first = time.perf_counter(), model.step
    try:
        while model.step < steps and not stop:
            z_rng = torch.Generator().manual_seed(args.seed * 1_000_003 + model.step)
            logs = model.train_step(to_tensor(batches.batch(model.step)), z_rng)
            if model.step % args.checkpoint_every == 0 or model.step == steps:
                model.save(ckpt)
                rate = (model.step - first) * args.batch_size / (time.perf_counter() - started)
                row = {"step": model.step, "images_seen": model.step * args.batch_size, **logs, "images_per_s": rate}
                row["bf16"] = model.bf16  # a resumed run may change it: each row says how its steps ran
                with open(log, "a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    except KeyboardInterrupt:
        stop.append(True)
    if model.step < steps:
        model.save(ckpt)
        print(f"stopped at step {model.step} of {steps}; run the same command to resume")
        return
    samples = args.out / "samples"
    write_samples(model, samples, args.samples, args.seed)
    print(f"wrote {args.samples} faces to {samples}")
    if args.test:
        from dcgan.cli import main as dcgan

        metrics = args.out / "test-metrics.json"
        scoring = ["--data", str(args.test), "--samples", str(args.samples), "--extractor", args.extractor]
        dcgan(["evaluate", str(samples), *scoring, "--json", str(metrics)])


if __name__ == "__main__":
    main()
