"""Throughput of `dcgan crawl` against a local site with a fixed politeness setting, and the share of time the
`--faces` step takes.

    python benchmarks/crawl.py [--pages 10] [--images 10] [--rate 20] [--quick]

Serves PAGES pages of IMAGES distinct 160×160 JPEGs each on 127.0.0.1 (a chain of pages, so link following is
measured), runs `dcgan crawl --rate RATE` in a subprocess and prints pages/s and images/s (wall time of the
command, Python start-up included), then `dcgan faces` on the result and its share of the total. The rate floor
(1/RATE s between requests to the host) bounds the crawl: (pages + images) / RATE seconds at least.
`--quick` is a smoke run of seconds (2 pages of 3 images, no face step), not a measurement.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image


def site(pages: int, images: int) -> dict[str, tuple[str, bytes]]:
    routes = {"/robots.txt": ("text/plain", b"User-agent: *\nAllow: /\n")}
    rng = np.random.default_rng(0)
    for p in range(pages):
        tags = "".join(f'<img src="/img/{p}-{i}.jpg">' for i in range(images))
        link = f'<a href="/p{p + 1}.html">next</a>' if p + 1 < pages else ""
        routes[f"/p{p}.html"] = ("text/html", f"<html><body>{tags}{link}</body></html>".encode())
        for i in range(images):
            small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
            buffer = io.BytesIO()
            small.resize((160, 160), Image.Resampling.BICUBIC).save(buffer, format="JPEG")
            routes[f"/img/{p}-{i}.jpg"] = ("image/jpeg", buffer.getvalue())
    return routes


def serve(routes: dict) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path not in routes:
                self.send_error(404)
                return
            kind, body = routes[self.path]
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command[:4])} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--images", type=int, default=10, help="images per page")
    parser.add_argument("--rate", type=float, default=20.0, help="--rate of the crawl (requests/s to the host)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.images = 2, 3
    server = serve(site(args.pages, args.images))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    dcgan = [sys.executable, "-m", "dcgan.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "web"
        crawl = [*dcgan, "crawl", "--start", f"{url}/p0.html", "--depth", str(args.pages), "--out", str(out)]
        seconds = timed([*crawl, "--rate", str(args.rate), "--allow-private", "127.0.0.1"])
        kept = len([p for p in out.iterdir() if p.suffix == ".jpg"])
        print(
            f"crawl at --rate {args.rate:g}: {args.pages} pages, {kept} images in {seconds:.1f} s: "
            f"{args.pages / seconds:.2f} pages/s, {kept / seconds:.2f} images/s "
            f"(floor {(args.pages + kept + 1) / args.rate:.1f} s from the rate)"
        )
        if args.quick:
            print("face step skipped in --quick")
        else:
            faces = timed([*dcgan, "faces", str(out), "--out", str(out / "faces"), "--force"])
            print(f"faces step: {faces:.1f} s, {faces / (seconds + faces):.0%} of crawl + faces")
    server.shutdown()


if __name__ == "__main__":
    main()
