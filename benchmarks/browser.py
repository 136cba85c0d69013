"""The generator in the browser (issue #25): load time, ms per face, paint-to-pixels and morph per backend, in
headless Chromium, against `dcgan serve`; and a static site under 64 concurrent visitors.

    python benchmarks/browser.py [--model DIR] [--engines webgpu,webgl,wasm,server] [--faces 200] [--paints 50]
                                 [--morphs 10] [--visitors 64] [--browser-visitors 8] [--makemes 5] [--software-webgpu]
                                 [--quick]

The model (default: the shipped one) is copied to a temporary folder and exported for the browser there
(`dcgan export-web`) unless it already has a web/ export; `dcgan serve` runs it on a free loopback port. Each
engine is forced with the page's `?engine=` parameter (web/src/engine.ts `engineChoice`: one backend, no
fallback; `server`: no local engine), which also sets `window.__dcganEngine` (web/src/composables/useEngine.ts).
Per engine:

- load: from navigation to `[data-testid=engine]` `data-state=ready` (performance.now() in the page, which
  starts at navigation): cold (a new browser context, empty caches) and cached (the same context, reloaded:
  the model from the Cache API, the scripts from the HTTP cache); for the server, to the first face shown;
- face: `window.__dcganEngine.faces().generatePng(z)` at batch 1 (the face as a PNG, what the server's
  painting gets; the page draws the browser engine's pixels with no PNG), median and p95 over --faces random z
  after 3 warm-up faces; `engine` is the engine's own ms/face (the ONNX run and the conversion to pixels);
- paint: from a click's pointerdown on a `[data-testid=z-cell]` (a swatch selected; its Event.timeStamp) to the
  new face drawn (the `[data-testid=face]` canvas' `data-drawn` counter changed, set once the pixels are on it,
  then the next animation frame), median and p95 over --paints clicks (the swatch alternates, so every click
  changes z). Goal: median ≤ 50 ms;
- morph: the morph panel's call, `faces().interpolate(…, steps=16)` (16 frames, as data URLs), median total
  over --morphs runs. Goal: ≤ 0.5 s.

Static hosting: `dcgan site` of the same model, served by `python -m http.server` whose access log (stderr) is
kept; --visitors visitors at once, --browser-visitors of them Chromium pages (over 2 contexts) that load the
model and paint once, the others HTTP clients fetching every file of the site; then the log's requests by path.
Then, in one page of that site, --makemes runs of "make me a face that is" female, smiling, with glasses (8 faces,
made in the page: its generator and classifier on WebAssembly), from the click to the answer shown.

Headless Chromium runs with the flags of tests/test_e2e.py (`--disable-gpu`), so WebGPU and WebGL may not run
here: an engine that does not load is reported with its error. `--software-webgpu` adds `--enable-unsafe-webgpu`,
with which Chromium offers WebGPU on SwiftShader (its CPU implementation): that checks the WebGPU path and times
it on the CPU, not what a GPU would do. The machine may be shared: numbers are of one
run. `--quick` is a smoke run of seconds (a few faces and paints, 4 visitors), not a measurement.
Needs playwright (the test extra), Debian's chromium and the built page (web/dist). (Over 400 lines: the two
measurements share the servers, the browser and the page marks, and one command prints issue #25's numbers.)
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as tests/test_e2e.py's BROWSER_FLAGS
BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ENGINES = ("webgpu", "webgl", "wasm", "server")
READY_GOAL_MS = {"paint": 50.0, "morph": 500.0}

# Load marks in every page: when the engine's label turns ready/failed, and when the first face is drawn.
MARKS = """(() => {
  const marks = (window.__bench = { ready: null, failed: null, firstFace: null })
  new MutationObserver(() => {
    const s = document.querySelector('[data-testid=engine]')?.getAttribute('data-state')
    if (s === 'ready' && marks.ready === null) marks.ready = performance.now()
    if (s === 'failed' && marks.failed === null) marks.failed = performance.now()
    const face = document.querySelector('[data-testid=face]')
    if (face?.dataset.drawn && marks.firstFace === null) marks.firstFace = performance.now()
  }).observe(document, { subtree: true, childList: true, attributes: true })
})()"""

# Batch-1 faces through the page's FaceService: [total ms, engine ms or null] per face.
FACES = """async ({ n, dim }) => {
  const hook = window.__dcganEngine
  const z = () => Array.from({ length: dim }, () => Math.random() * 2 - 1)
  for (let i = 0; i < 3; i++) await hook.faces().generatePng(z())
  const out = []
  for (let i = 0; i < n; i++) {
    const faces = hook.faces(), zi = z()
    const start = performance.now()
    await faces.generatePng(zi)
    const total = performance.now() - start
    const s = hook.state()
    out.push([total, s.state === 'ready' ? s.msPerFace : null])
  }
  return out
}"""

# Armed before a click: resolves with ms from the click's pointerdown to the new face's pixels on the canvas
# (its data-drawn counter moves once they are) and the next animation frame.
ARM_PAINT = """() => {
  const previous = document.querySelector('[data-testid=face]').dataset.drawn
  let start = null
  document.addEventListener('pointerdown', (e) => { start = e.timeStamp }, { capture: true, once: true })
  window.__paint = new Promise((resolve, reject) => {
    const timer = setTimeout(() => { observer.disconnect(); reject(new Error('no new face in 20 s')) }, 20000)
    const observer = new MutationObserver(() => {
      const face = document.querySelector('[data-testid=face]')
      if (!face || face.dataset.drawn === previous || start === null) return
      observer.disconnect()
      clearTimeout(timer)
      requestAnimationFrame(() => resolve(performance.now() - start))
    })
    const watched = { subtree: true, attributes: true, attributeFilter: ['data-drawn'], childList: true }
    observer.observe(document.body, watched)
  })
}"""

MORPH = """async ({ n, dim, model }) => {
  const z = () => Array.from({ length: dim }, () => Math.random() * 2 - 1)
  const out = []
  for (let i = 0; i < n + 1; i++) {
    const faces = window.__dcganEngine.faces()
    const start = performance.now()
    const res = await faces.interpolate({ model, a: z(), b: z(), steps: 16, method: 'linear' })
    if (res.images.length !== 16) throw new Error(`${res.images.length} frames`)
    if (i > 0) out.push(performance.now() - start)  // the first is a warm-up
  }
  return out
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_http(url: str, process: subprocess.Popen, timeout: float, what: str) -> None:
    deadline = time.time() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.3)


@contextmanager
def subprocess_server(command: list[str], health: str, log, what: str, timeout: float = 180):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(command, stdout=log, stderr=log if log is not None else None, env=env)
    try:
        wait_http(health, process, timeout, what)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def ms(value: float | None) -> str:
    if value is None or value != value:
        return "—"
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def web_ready_model(model: Path, work: Path) -> Path:
    """`model` if it has a browser export, else a copy in `work` exported for the browser."""
    from dcgan.web_export import export_web, web_file

    if web_file(model) is not None:
        return model
    copy = shutil.copytree(model, work / model.resolve().name)
    export_web(copy)
    return copy


def wait_loaded(page, engine: str, timeout_ms: float) -> dict:
    condition = (
        "() => __bench.firstFace !== null"
        if engine == "server"
        else "() => __bench.ready !== null || __bench.failed !== null"
    )
    page.wait_for_function(condition, timeout=timeout_ms)
    return page.evaluate("() => ({ ...__bench })")


def bench_engine(browser, url: str, engine: str, model: dict, args) -> dict:
    """One engine's numbers (or its error)."""
    dim = model["z"]["dim"]
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_init_script(MARKS)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{url}/?engine={engine}")
        cold = wait_loaded(page, engine, 180_000)
        key = "firstFace" if engine == "server" else "ready"
        if engine != "server" and cold["ready"] is None:
            label = page.locator("[data-testid=engine]").inner_text()
            return {"engine": engine, "error": label}
        actual = page.get_attribute("[data-testid=engine]", "data-engine")
        expected = "server" if engine == "server" else f"local-{engine}"
        if actual != expected:
            return {"engine": engine, "error": f"the page says {actual}"}
        page.reload()
        cached = wait_loaded(page, engine, 180_000)
        page.wait_for_function("() => __bench.firstFace !== null", timeout=60_000)

        faces = page.evaluate(FACES, {"n": args.faces, "dim": dim})
        totals = [f[0] for f in faces]
        engine_ms = [f[1] for f in faces if f[1] is not None]

        swatches = page.locator("[data-testid=swatch]")
        cells = page.locator("[data-testid=z-cell]")
        n_swatches, n_cells = swatches.count(), cells.count()
        paints = []
        for k in range(args.paints):
            swatches.nth(0 if (k + k // n_cells) % 2 == 0 else n_swatches - 1).click()
            page.evaluate(ARM_PAINT)
            cells.nth(k % n_cells).click()
            paints.append(page.evaluate("() => window.__paint"))
            page.wait_for_timeout(30)  # the page settles (no overlap of one paint with the next)

        morphs = page.evaluate(MORPH, {"n": args.morphs, "dim": dim, "model": model["name"]})
        if errors:
            return {"engine": engine, "error": "; ".join(errors[:3])}
        return {
            "engine": engine,
            "cold": cold[key],
            "cached": cached[key],
            "cold_face": cold["firstFace"],
            "face_p50": statistics.median(totals),
            "face_p95": percentile(totals, 95),
            "engine_p50": statistics.median(engine_ms) if engine_ms else None,
            "paint_p50": statistics.median(paints),
            "paint_p95": percentile(paints, 95),
            "morph_p50": statistics.median(morphs),
            "faces": len(totals),
            "paints": len(paints),
            "morphs": len(morphs),
        }
    finally:
        context.close()


def print_table(rows: list[dict]) -> None:
    head = (
        f"{'engine':<8} {'load cold':>9} {'cached':>7} {'face p50':>9} {'p95':>6} {'engine':>7} "
        f"{'paint p50':>9} {'p95':>6} {'morph 16':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        if "error" in r:
            print(f"{r['engine']:<8} did not run: {r['error']}")
            continue
        print(
            f"{r['engine']:<8} {ms(r['cold']):>9} {ms(r['cached']):>7} {ms(r['face_p50']):>9} {ms(r['face_p95']):>6} "
            f"{ms(r['engine_p50']):>7} {ms(r['paint_p50']):>9} {ms(r['paint_p95']):>6} {ms(r['morph_p50']):>9}"
        )
    print("(ms; load: to data-state=ready, for the server to the first face; engine: the engine's own ms/face)")
    for r in rows:
        if "error" in r:
            continue
        paint = "met" if r["paint_p50"] <= READY_GOAL_MS["paint"] else "missed"
        morph = "met" if r["morph_p50"] <= READY_GOAL_MS["morph"] else "missed"
        print(
            f"  {r['engine']}: paint-to-pixels goal (median ≤ 50 ms) {paint}; morph goal (≤ 0.5 s) {morph}"
            f"  [{r['faces']} faces, {r['paints']} paints, {r['morphs']} morphs]"
        )


ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" (?P<status>\d{3})')


def bench_static_site(browser, model: Path, work: Path, args) -> None:
    if args.visitors <= 0:
        return
    site = work / "site"
    done = subprocess.run(
        [sys.executable, "-m", "dcgan.cli", "site", "--model", str(model), "--out", str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if done.returncode != 0:
        raise SystemExit(f"dcgan site failed: {done.stderr[-2000:]}")
    files = sorted("/" + p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    files = ["/" if f == "/index.html" else f for f in files]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = work / "access.log"
    n_browser = min(args.browser_visitors, args.visitors)
    n_http = args.visitors - n_browser
    with (
        open(log_path, "wb") as log,
        subprocess_server(
            [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
            f"{url}/models.json",
            log,
            "http.server",
            timeout=30,
        ),
    ):
        before = log_path.stat().st_size
        started = time.perf_counter()
        contexts = [browser.new_context() for _ in range(2)]
        pages = []
        for i in range(n_browser):
            page = contexts[i % 2].new_page()
            page.add_init_script(MARKS)
            page.goto(url + "/", wait_until="commit")
            pages.append(page)

        http_errors: list[str] = []

        def visitor() -> float:
            t0 = time.perf_counter()
            for f in files:
                try:
                    with urllib.request.urlopen(url + f, timeout=120) as response:
                        response.read()
                except (urllib.error.URLError, OSError) as exc:
                    http_errors.append(f"{f}: {exc}")
            return time.perf_counter() - t0

        with ThreadPoolExecutor(max(1, n_http)) as pool:
            http_times = list(pool.map(lambda _: visitor(), range(n_http)))
            ready = []
            for page in pages:
                page.wait_for_function("() => __bench.ready !== null || __bench.failed !== null", timeout=300_000)
                ready.append(page.evaluate("() => __bench.ready"))
            for page in pages:
                page.locator("[data-testid=z-cell]").nth(0).click()
            time.sleep(1)
        wall = time.perf_counter() - started
        for context in contexts:
            context.close()
        time.sleep(0.3)
    lines = log_path.read_bytes()[before:].decode(errors="replace").splitlines()
    counts: collections.Counter = collections.Counter()
    for line in lines:
        if m := ACCESS.search(line):
            counts[(m["method"], m["path"].split("?")[0], m["status"])] += 1
    ok = [r for r in ready if r is not None]
    print(
        f"\nstatic site (dcgan site + python -m http.server): {args.visitors} visitors at once — {n_browser} Chromium "
        f"pages over 2 contexts (load the model, paint once), {n_http} HTTP clients fetching the site's "
        f"{len(files)} files; {wall:.1f} s in all"
    )
    print(
        f"  Chromium: {len(ok)}/{n_browser} engines ready, median {ms(statistics.median(ok) if ok else None)} ms "
        f"after navigation; HTTP clients: median {statistics.median(http_times) if http_times else 0:.2f} s for "
        f"all files, {len(http_errors)} errors"
    )
    print(f"  access log: {sum(counts.values())} requests by path")
    for (method, path, status), count in sorted(counts.items(), key=lambda kv: (kv[0][1], kv[0][2])):
        print(f"    {count:>5}  {method} {status} {path}")
    api = {k: v for k, v in counts.items() if k[1].startswith("/api/")}
    dynamic = {k: v for k, v in api.items() if k[1] != "/api/models" or k[2] != "404"}
    print(
        f"  /api/ requests: {sum(api.values())} (the page's probe GET /api/models, answered 404 by the static host, "
        f"before it reads models.json); other /api/ requests: {sum(dynamic.values())}"
    )
    files_served = all(path in files or path == "/" for (_, path, status) in counts if not path.startswith("/api/"))
    print(f"  only the site's static files requested: {'yes' if files_served and not dynamic else 'NO'}")
    bench_static_makeme(browser, site, args)


# in the page: ms from the click on Make to the button's 'Make' again after 'Making…' (Vue's text mutations), and the
# answer's summary
MAKEME_RUN = """async () => {
  const button = document.querySelector('[data-testid=makeme-submit]')
  const started = performance.now()
  let busy = false
  const done = new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (button.textContent === 'Making…') busy = true
      else if (busy) { observer.disconnect(); resolve(performance.now() - started) }
    })
    observer.observe(button, { childList: true, characterData: true, subtree: true })
  })
  button.click()
  const ms = await done
  await new Promise((resolve) => requestAnimationFrame(resolve)) // the answer's summary is set a tick after the button
  return [ms, document.querySelector('[data-testid=makeme-summary]').textContent]
}"""


def bench_static_makeme(browser, site: Path, args) -> None:
    """'Make me a face' in the static site's page: seconds from the click to the answer shown, and its summary."""
    if args.makemes <= 0 or not any(site.glob("models/*/classifier.onnx")):
        return
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)]
    with open(os.devnull, "wb") as log, subprocess_server(server, f"{url}/models.json", log, "http.server", timeout=30):
        page = browser.new_page()
        page.goto(url + "/")
        page.locator("[data-testid=makeme-submit]").wait_for(timeout=300_000)
        for wish in ("Male-no", "Smiling-yes", "Eyeglasses-yes"):
            page.click(f"[data-testid=makeme-{wish}]")
        seconds, summaries = [], []
        for _ in range(args.makemes + 1):  # the first run opens the classifier: not counted
            ms, summary = page.evaluate(MAKEME_RUN)
            seconds.append(ms / 1000)
            summaries.append(summary.strip())
        page.close()
    print(
        f"\nmake me a face in the static site (female, smiling, glasses; 8 faces, WebAssembly), {args.makemes} runs "
        f"after a first one: median {statistics.median(seconds[1:]):.2f} s from the click to the answer "
        f"(first {seconds[0]:.2f} s); the page's summaries: {'; '.join(summaries[1:])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "celeba64")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, of " + ", ".join(ENGINES))
    parser.add_argument("--faces", type=int, default=200)
    parser.add_argument("--paints", type=int, default=50)
    parser.add_argument("--morphs", type=int, default=10)
    parser.add_argument("--visitors", type=int, default=64)
    parser.add_argument("--browser-visitors", type=int, default=8)
    parser.add_argument("--makemes", type=int, default=5, help="'make me a face' runs in the static site's page")
    parser.add_argument(
        "--software-webgpu",
        action="store_true",
        help="start Chromium with --enable-unsafe-webgpu: WebGPU on SwiftShader, the CPU (no GPU here)",
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of seconds, not a measurement")
    args = parser.parse_args()
    if args.quick:
        args.faces, args.paints, args.morphs, args.visitors, args.browser_visitors, args.makemes = 5, 3, 1, 4, 1, 1
    engines = [e for e in args.engines.split(",") if e]
    if unknown := set(engines) - set(ENGINES):
        parser.error(f"unknown engines {sorted(unknown)}")
    if not (ROOT / "web" / "dist" / "index.html").exists():
        raise SystemExit("the page is not built: npm run build in web/")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="browserbench-") as tmp:
        work = Path(tmp)
        model = web_ready_model(args.model, work)
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with (
            open(work / "serve.log", "wb") as log,
            subprocess_server(
                [sys.executable, "-m", "dcgan.cli", "serve", "--model", str(model), "--port", str(port)],
                f"{url}/api/health",
                log,
                "dcgan serve",
            ),
            sync_playwright() as playwright,
        ):
            info = json.loads(urllib.request.urlopen(f"{url}/api/models", timeout=30).read())["models"][0]
            flags = BROWSER_FLAGS + (["--enable-unsafe-webgpu"] if args.software_webgpu else [])
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=flags)
            print(
                f"machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), shared with other work; "
                f"Chromium {browser.version} headless, flags {' '.join(flags)}"
            )
            size = sum(f.stat().st_size for f in (model / "web").glob("*.onnx"))
            print(
                f"model: {info['name']} ({info['image_size']}×{info['image_size']}, z {info['z']['dim']}), "
                f"ONNX {size / 1e6:.1f} MB; "
                f"{args.faces} faces, {args.paints} paints, {args.morphs} morphs per engine"
                f"{' (--quick: a smoke run, not a measurement)' if args.quick else ''}\n"
            )
            rows = [bench_engine(browser, url, engine, info, args) for engine in engines]
            print_table(rows)
            bench_static_site(browser, model, work, args)
            browser.close()
        ran = [r["engine"] for r in rows if "error" not in r]
        print(f"\nengines that ran here: {', '.join(ran) if ran else 'none'}")


if __name__ == "__main__":
    main()
