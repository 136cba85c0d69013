"""Latency and throughput of `dcgan serve`: one face at 1 client, faces/s at N concurrent clients.

    python benchmarks/serve_load.py [--model DIR] [--url URL] [--clients 16] [--seconds 10] [--workers 1] [--quick]

Without --url it starts `dcgan serve` itself (on a free loopback port, with --workers processes) and stops it.
Prints p50/p99 latency for sequential single-face requests, then faces/s, p50/p99 and errors under load.
Memory: the server's resident memory (all its processes) is read after a warm-up at full load (so every
batch size the load produces has been seen once), then every second of the measured run; the end-to-warm
ratio shows whether serving leaks. `--quick` is a smoke run of seconds (2 clients, 1 s), not a measurement.
The HTTP client is httpx2 (the one Starlette's test client uses), from the test extra: pip install -e ".[test]".
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx2
import numpy as np

from dcgan import resources


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MB."""
    total = 0.0
    for proc in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{proc}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return total


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids = (task / "children").read_text().split() if (task / "children").exists() else []
        for kid in map(int, kids):
            found += [kid, *children(kid)]
    return found


async def sample_memory(pid: int, samples: list[float], every: float = 1.0) -> None:
    while True:
        samples.append(rss_mb(pid))
        await asyncio.sleep(every)


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def client_loop(
    client: httpx2.AsyncClient, bodies: list[dict], until: float, latencies: list[float], errors: list[str]
) -> None:
    i = 0
    while time.perf_counter() < until:
        start = time.perf_counter()
        try:
            response = await client.post("/api/generate", json=bodies[i % len(bodies)])
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:100]}")
        except httpx2.HTTPError as exc:
            errors.append(repr(exc))
        latencies.append(time.perf_counter() - start)
        i += 1


async def load(
    url: str, z_dim: int, low: float, high: float, clients: int, seconds: float, pid: int | None = None
) -> dict:
    memory: list[float] = []
    sampler = asyncio.create_task(sample_memory(pid, memory)) if pid else None
    rng = np.random.default_rng(0)
    bodies = [{"z": rng.uniform(low, high, z_dim).round(4).tolist()} for _ in range(64)]
    limits = httpx2.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx2.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        latencies: list[float] = []
        errors: list[str] = []
        until = time.perf_counter() + seconds
        start = time.perf_counter()
        await asyncio.gather(
            *(client_loop(client, bodies[k:] + bodies[:k], until, latencies, errors) for k in range(clients))
        )
        elapsed = time.perf_counter() - start
    if sampler:
        sampler.cancel()
    return {
        "memory": memory,
        "requests": len(latencies),
        "errors": errors,
        "rate": len(latencies) / elapsed,
        "p50_ms": 1000 * percentile(latencies, 50),
        "p99_ms": 1000 * percentile(latencies, 99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model bundle (default: the shipped model)")
    parser.add_argument("--url", help="benchmark a running server instead of starting one")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--single", type=int, default=200, help="sequential single-client requests")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds of full load before measuring")
    parser.add_argument("--workers", type=int, default=1, help="server processes (when this script starts it)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds: 2 clients, 1 s, 5 requests")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.seconds, args.single, args.warmup = 2, 1.0, 5, 0.5
    if args.model is None and args.url is None:
        args.model = resources.default_model()

    server = None
    url = args.url
    if url is None:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dcgan.cli",
                "serve",
                "--model",
                str(args.model),
                "--port",
                str(port),
                "--workers",
                str(args.workers),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
    try:
        deadline = time.time() + 120
        while True:
            try:
                models = httpx2.get(f"{url}/api/models", timeout=2).json()
                break
            except httpx2.HTTPError:
                if time.time() > deadline or (server and server.poll() is not None):
                    raise SystemExit("server did not start") from None
                time.sleep(0.5)
        z = models["models"][0]["z"]
        asyncio.run(load(url, z["dim"], z["low"], z["high"], 1, min(2.0, args.warmup)))  # warm the one-face path
        latencies = []
        with httpx2.Client(base_url=url, timeout=30) as client:
            rng = np.random.default_rng(1)
            for _ in range(args.single):
                body = {"z": rng.uniform(z["low"], z["high"], z["dim"]).round(4).tolist()}
                start = time.perf_counter()
                client.post("/api/generate", json=body).raise_for_status()
                latencies.append(time.perf_counter() - start)
        print(
            f"1 client, one {models['models'][0]['image_size']}px face per request ({args.single} requests): "
            f"p50 {1000 * statistics.median(latencies):.1f} ms, p99 {1000 * percentile(latencies, 99):.1f} ms"
        )
        pid = server.pid if server else None
        asyncio.run(load(url, z["dim"], z["low"], z["high"], args.clients, args.warmup))
        memory_warm = rss_mb(pid) if pid else float("nan")
        result = asyncio.run(load(url, z["dim"], z["low"], z["high"], args.clients, args.seconds, pid))
        print(
            f"{args.clients} clients for {args.seconds:.0f} s (after {args.warmup:.0f} s warm-up, "
            f"{args.workers} worker(s)): {result['rate']:.0f} faces/s, "
            f"p50 {result['p50_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"{result['requests']} requests, {len(result['errors'])} errors"
        )
        if result["errors"]:
            print("first errors:", result["errors"][:3])
        if pid:
            memory_end = rss_mb(pid)
            print(
                f"server memory: {memory_warm:.0f} MB after warm-up, {memory_end:.0f} MB at the end "
                f"({100 * (memory_end / memory_warm - 1):+.1f}%), peak {max(result['memory']):.0f} MB "
                f"over {len(result['memory'])} one-second samples"
            )
    finally:
        if server:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
