"""`dcgan crawl` against a local site this test serves (no network): robots.txt, size caps, sniffing, retries,
redirect loops, refused private/file URLs, duplicates, provenance, a SIGKILL halfway that resumes to the same
files, and crawl + --faces on real CelebA photos (cut from ../shared/datasets at test time)."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import tarfile
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED
from PIL import Image

from dcgan.crawl import UrlGuard, is_local_address

CROPS = SHARED / "raw-samples" / "celeba-crops-varsize-200.tar"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def photo(seed: int, side: int = 160) -> Image.Image:
    """A smooth random picture (distinct pHash per seed; the same pHash at another size)."""
    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8))
    return small.resize((side, side), Image.Resampling.BICUBIC)


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


class Site:
    """A threaded HTTP server on 127.0.0.1 (or another loopback address) serving `routes`, logging requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, object] = {}
        self.log: list[tuple[float, str, str]] = []  # (time, path, user agent)
        self.counts: dict[str, int] = {}
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path
                site.log.append((time.monotonic(), path, self.headers.get("User-Agent", "")))
                site.counts[path] = site.counts.get(path, 0) + 1
                route = site.routes.get(path)
                if route is None:
                    self.send_error(404)
                    return
                if callable(route):
                    route(self, site.counts[path])
                    return
                kind, body = route
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{host}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def html(self, path: str, body: str) -> None:
        self.routes[path] = ("text/html; charset=utf-8", f"<!doctype html><html><body>{body}</body></html>".encode())

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def serving(host: str = "127.0.0.1"):
    site = Site(host)
    try:
        yield site
    finally:
        site.close()


def redirect(to: str):
    def handle(h, _n):
        h.send_response(302)
        h.send_header("Location", to)
        h.send_header("Content-Length", "0")
        h.end_headers()

    return handle


def streamed(size: int, content_length: bool):
    def handle(h, _n):
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        if content_length:
            h.send_header("Content-Length", str(size))
        h.end_headers()
        chunk = b"\xff" * 65536
        try:
            for _ in range(size // len(chunk)):
                h.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass

    return handle


def flaky(body: bytes):
    def handle(h, n):
        h.send_response(500 if n == 1 else 200)
        h.send_header("Content-Type", "image/jpeg")
        data = b"try again" if n == 1 else body
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    return handle


def slow(body: bytes, seconds: float):
    def handle(h, _n):
        time.sleep(seconds)
        h.send_response(200)
        h.send_header("Content-Type", "image/jpeg")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    return handle


def run_crawl(out: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "dcgan.cli", "crawl", "--out", str(out), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=ENV)


def kept_files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file() and p.name != "crawl.json"}


def finished_count(out: Path) -> int:
    """Images a running crawl has finished in `out`, by name only: its `.NAME.PID.tmp` files are renamed at any
    instant, so they are neither counted nor read."""
    names = (p for p in out.iterdir() if not p.name.startswith(".") and p.name != "crawl.json") if out.is_dir() else ()
    return sum(p.is_file() for p in names)


# the URL filter


def test_guard_refuses_local_addresses_and_other_schemes() -> None:
    guard = UrlGuard(resolve=lambda host: {"intranet.example": ["10.1.2.3"], "ok.example": ["93.184.216.34"]}[host])
    assert guard.refusal("file:///etc/passwd") == "unsupported scheme (file)"
    assert guard.refusal("ftp://ok.example/x.jpg") == "unsupported scheme (ftp)"
    for url in (
        "http://127.0.0.2/",
        "http://127.0.0.1:8000/admin",
        "http://10.0.0.1/",
        "http://192.168.1.1/x.jpg",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://240.0.0.1/",
        "http://intranet.example/",
    ):
        assert guard.refusal(url).startswith("private or local address"), url
    assert guard.refusal("https://ok.example/a.jpg") is None
    assert guard.refusal("http://93.184.216.34/a.jpg") is None
    only = UrlGuard(["127.0.0.1"])
    assert only.refusal("http://127.0.0.1:8000/") is None
    assert only.refusal("http://127.0.0.2:8000/").startswith("private or local address")
    assert only.refusal("file:///etc/passwd").startswith("unsupported scheme")
    assert UrlGuard(["*"]).refusal("http://10.0.0.1/") is None
    assert is_local_address("fe80::1") and not is_local_address("8.8.8.8")


def test_cli_needs_one_source(tmp_path) -> None:
    done = run_crawl(tmp_path / "out", timeout=60)
    assert done.returncode == 2 and "--urls" in done.stderr


# one crawl of a site with every documented case


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    with serving() as site, serving("127.0.0.2") as other:
        u, o = site.url, other.url
        other.routes["/evil.jpg"] = ("image/jpeg", encode(photo(90), "JPEG"))
        other.html("/page.html", '<img src="/evil.jpg">')
        p0 = encode(photo(0), "JPEG", quality=92)
        site.routes.update(
            {
                "/robots.txt": ("text/plain", b"User-agent: *\nDisallow: /private/\n"),
                "/img/p0.jpg": ("image/jpeg", p0),
                "/img/p0-copy.jpg": ("image/jpeg", p0),
                "/img/p0-small.jpg": ("image/jpeg", encode(photo(0).resize((100, 100)), "JPEG", quality=92)),
                "/img/p1.jpg": ("image/jpeg", encode(photo(1), "JPEG")),
                "/img/p2.png": ("image/png", encode(photo(2), "PNG")),
                "/img/p3.jpg": ("image/jpeg", encode(photo(3), "JPEG")),
                "/img/anim.gif": ("image/gif", encode(photo(6).convert("P"), "GIF")),
                "/img/icon.png": ("image/png", encode(photo(7, 16), "PNG")),
                "/img/html.jpg": ("image/jpeg", b"<!DOCTYPE html><html><body>Not found</body></html>"),
                "/img/truncated.jpg": ("image/jpeg", encode(photo(8), "JPEG")[:1500]),
                "/img/big.jpg": streamed(3 * 1024 * 1024, content_length=True),
                "/img/stream.jpg": streamed(3 * 1024 * 1024, content_length=False),
                "/img/flaky.jpg": flaky(encode(photo(5), "JPEG")),
                "/img/slow.jpg": slow(encode(photo(4), "JPEG"), 1.0),
                "/img/loop-a.jpg": redirect("/img/loop-b.jpg"),
                "/img/loop-b.jpg": redirect("/img/loop-a.jpg"),
                "/img/to-local.jpg": redirect(f"{o}/evil.jpg"),
                "/private/x.jpg": ("image/jpeg", encode(photo(9), "JPEG")),
            }
        )
        site.html(
            "/",
            '<link rel="license" href="https://creativecommons.org/licenses/by/4.0/">'
            + "".join(
                f'<img src="{p}">'
                for p in (
                    "/img/p0.jpg",
                    "/img/p0-copy.jpg",
                    "/img/p0-small.jpg",
                    "/img/html.jpg",
                    "/img/truncated.jpg",
                    "/img/big.jpg",
                    "/img/stream.jpg",
                    "/img/flaky.jpg",
                    "/img/slow.jpg",
                    "/img/loop-a.jpg",
                    "/img/to-local.jpg",
                    "/private/x.jpg",
                    f"{o}/evil.jpg",
                    "file:///etc/passwd",
                    "/img/icon.png",
                )
            )
            + f'<a href="/a.html">a</a><a href="/private/secret.html">s</a><a href="file:///etc/passwd">p</a>'
            f'<a href="{o}/page.html">o</a><a href="/a.html#top">again</a>',
        )
        site.html(
            "/a.html",
            '<p>Photo <a href="https://creativecommons.org/licenses/by-sa/4.0/">CC BY-SA</a></p>'
            '<img src="img/p1.jpg" srcset="img/p1.jpg 1x, img/anim.gif 2x"><a href="/b.html">b</a>',
        )
        site.html("/b.html", '<a href="/img/p2.png">full size</a><a href="/c.html">c</a>')
        site.html("/c.html", '<img src="/img/p3.jpg">')
        site.html("/private/secret.html", '<img src="/img/p3.jpg">')
        out = tmp_path_factory.mktemp("crawl") / "web"
        started = time.monotonic()
        done = run_crawl(
            out,
            *("--start", f"{u}/", "--depth", "2", "--allow-private", "127.0.0.1", "--rate", "20"),
            *("--max-file-mb", "1", "--backoff", "0.1", "--timeout", "10"),
        )
        elapsed = time.monotonic() - started
        assert done.returncode == 0, done.stderr[-3000:]
        manifest = json.loads((out / "crawl.json").read_text())
        yield {
            "out": out,
            "manifest": manifest,
            "site": site,
            "other": other,
            "stdout": done.stdout,
            "elapsed": elapsed,
            "p0": p0,
        }


def by_url(manifest: dict) -> tuple[dict, dict]:
    kept = {r["requested_url"].split("/", 3)[-1]: r for r in manifest["images"]}
    skipped = {s["url"].split("/", 3)[-1] if s["url"].startswith("http") else s["url"]: s for s in manifest["skipped"]}
    return kept, skipped


def test_crawl_keeps_the_images_and_says_why_it_skipped_the_rest(crawled) -> None:
    manifest = crawled["manifest"]
    kept, skipped = by_url(manifest)
    assert sorted(kept) == ["img/anim.gif", "img/flaky.jpg", "img/p0.jpg", "img/p1.jpg", "img/p2.png", "img/slow.jpg"]
    reasons = {url: s["reason"] for url, s in skipped.items()}
    assert reasons["img/p0-copy.jpg"].startswith("duplicate (same bytes as")
    assert reasons["img/p0-small.jpg"].startswith("near-duplicate")
    assert reasons["img/html.jpg"] == "not an image (an HTML page)"
    assert reasons["img/truncated.jpg"].startswith("unreadable image")
    assert reasons["img/big.jpg"] == reasons["img/stream.jpg"] == "over the file size cap (1 MB)"
    assert reasons["img/loop-a.jpg"] == "too many redirects"
    assert reasons["img/to-local.jpg"].startswith("private or local address (127.0.0.2")
    assert reasons["private/x.jpg"] == reasons["private/secret.html"] == "forbidden by robots.txt"
    assert reasons["evil.jpg"].startswith("private or local address") and "page.html" in reasons
    assert reasons["file:///etc/passwd"] == "unsupported scheme (file)"
    assert reasons["img/icon.png"].startswith("too small")
    assert "img/p3.jpg" not in kept and "img/p3.jpg" not in reasons  # 3 links away: beyond --depth 2
    assert manifest["finished"] and manifest["counts"]["pages"] == 3
    assert manifest["skipped_by_reason"]["over the file size cap"] == 2
    assert "crawl finished: 3 pages, 6 images kept" in crawled["stdout"]
    # the files are the images, named by content; the GIF's first frame is kept as PNG
    files = kept_files(crawled["out"])
    assert sorted(files) == sorted(r["file"] for r in manifest["images"])
    assert files[kept["img/p0.jpg"]["file"]] == crawled["p0"]
    assert kept["img/anim.gif"]["file"].endswith(".png") and kept["img/p2.png"]["format"] == "PNG"


def test_crawl_is_polite_and_never_reaches_refused_addresses(crawled) -> None:
    site = crawled["site"]
    assert crawled["other"].log == []  # 127.0.0.2 was never contacted, not even through a redirect
    paths = [path for _, path, _ in site.log]
    assert not any(p.startswith("/private/") for p in paths) and "/c.html" not in paths
    assert paths.count("/robots.txt") == 1
    assert all(agent.startswith("dcgan-crawl/") for _, _, agent in site.log)
    assert site.counts["/img/flaky.jpg"] == 2  # 500, then retried after the backoff: 200
    assert site.counts["/img/p0.jpg"] == 1
    times = sorted(t for t, _, _ in site.log)
    gaps = np.diff(times)
    assert np.all(gaps[gaps > 0] > 0.8 / 20) or np.mean(gaps) >= 1 / 20  # --rate 20: at most 20 requests a second
    assert max(np.searchsorted(times, t + 1.0) - i for i, t in enumerate(times)) <= 21


def test_crawl_records_provenance(crawled) -> None:
    kept, _ = by_url(crawled["manifest"])
    base = crawled["site"].url
    p0, p1, flaky = kept["img/p0.jpg"], kept["img/p1.jpg"], kept["img/flaky.jpg"]
    assert p0["page_url"] == f"{base}/" and p0["status"] == 200 and p0["url"] == f"{base}/img/p0.jpg"
    assert p0["license"] == {"url": "https://creativecommons.org/licenses/by/4.0/", "how": 'rel="license"'}
    assert p1["page_url"] == f"{base}/a.html" and p1["license"]["how"] == "Creative Commons link"
    assert kept["img/p2.png"]["page_url"] == f"{base}/b.html" and kept["img/p2.png"]["license"] is None
    assert flaky["status"] == 200 and flaky["fetched_at"].endswith("Z")
    assert len(p0["sha256"]) == 64 and len(p0["phash"]) == 16


def test_running_again_downloads_nothing_new(crawled, tmp_path) -> None:
    site, out = crawled["site"], crawled["out"]
    before = dict(site.counts)
    done = run_crawl(out, "--start", f"{site.url}/", "--depth", "2", "--allow-private", "127.0.0.1", "--rate", "20")
    assert done.returncode == 0, done.stderr[-2000:]
    again = {k: v - before.get(k, 0) for k, v in site.counts.items() if v != before.get(k, 0)}
    assert not any(path.endswith((".jpg", ".png", ".gif")) and path != "/img/flaky.jpg" for path in again), again
    assert json.loads((out / "crawl.json").read_text())["counts"]["images"] == 6


# SIGKILL halfway, then the same command: the same files as an uninterrupted crawl


def test_a_resumed_crawl_removes_the_temp_a_killed_crawl_was_writing(tmp_path) -> None:
    """A SIGKILL between an image's write and its rename leaves `.NAME.PID.tmp`: the next crawl of that folder
    removes it (the image has no journal line, so it is fetched again); a live writer's temp stays."""
    from dcgan.crawl.ledger import Ledger

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".ab12.jpg.{dead.pid}.tmp"
    live = tmp_path / f".cd34.jpg.{os.getpid()}.tmp"
    for temp in (stale, live):
        temp.write_bytes(b"half a JPEG")
    Ledger(tmp_path).close()
    assert not stale.exists() and live.exists()


def test_killed_crawl_resumes_to_the_same_files(tmp_path) -> None:
    with serving() as site:
        pages = []
        for k in range(3):
            images = "".join(f'<img src="/img/{k}-{i}.jpg">' for i in range(8))
            site.html(f"/p{k}.html", images + (f'<a href="/p{k + 1}.html">next</a>' if k < 2 else ""))
            pages.append(k)
            for i in range(8):
                site.routes[f"/img/{k}-{i}.jpg"] = ("image/jpeg", encode(photo(100 + 8 * k + i), "JPEG"))
        site.routes["/img/1-7.jpg"] = site.routes["/img/0-0.jpg"]  # a duplicate: one of them kept, always the same
        args = ("--start", f"{site.url}/p0.html", "--depth", "3", "--allow-private", "127.0.0.1", "--rate", "10")
        whole = run_crawl(tmp_path / "whole", *args)
        assert whole.returncode == 0, whole.stderr[-2000:]
        expected = kept_files(tmp_path / "whole")
        assert len(expected) == 23
        site.counts.clear()

        out = tmp_path / "killed"
        command = [sys.executable, "-m", "dcgan.cli", "crawl", "--out", str(out), *args]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and finished_count(out) < 8:
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait()
        stored = kept_files(out)
        assert 8 <= len(stored) < 23 and not (out / "crawl.json").exists()
        counts_at_kill = dict(site.counts)
        # what the journal says it had kept (a file written in the instant before its journal line is fetched again)
        journal = [json.loads(line) for line in (out / ".crawl" / "journal.jsonl").read_text().splitlines()]
        before = {e["requested_url"].split("/", 3)[-1] for e in journal if e["event"] == "keep"}
        assert len(before) >= 7
        resumed = run_crawl(out, *args)
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        assert kept_files(out) == expected
        for path in before:  # what it had stored was not downloaded again
            assert site.counts["/" + path] == counts_at_kill["/" + path] == 1, path
        manifest = json.loads((out / "crawl.json").read_text())
        assert manifest["finished"] and manifest["counts"]["images"] == 23


# crawl + --faces on real photos


@pytest.mark.skipif(not CROPS.is_file(), reason="shared celeba-crops-varsize-200.tar not found")
def test_crawl_then_faces_traces_each_face_to_its_page(tmp_path) -> None:
    with tarfile.open(CROPS) as tar:
        members = sorted((m for m in tar if m.isfile() and m.name.endswith(".jpg")), key=lambda m: m.name)[:5]
        photos = {Path(m.name).name: tar.extractfile(m).read() for m in members}
    with serving() as site:
        for name, data in photos.items():
            site.routes[f"/people/{name}"] = ("image/jpeg", data)
        site.html("/", "".join(f'<a href="/p/{n}.html">{n}</a>' for n in photos))
        for name in photos:
            site.html(f"/p/{name}.html", f'<img src="/people/{name}"><a rel="license" href="/licence">licence</a>')
        done = run_crawl(
            tmp_path / "web",
            "--start",
            f"{site.url}/",
            "--allow-private",
            "127.0.0.1",
            "--rate",
            "50",
            "--faces",
            timeout=240,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    faces = json.loads((tmp_path / "web" / "faces" / "faces.json").read_text())
    assert faces["counts"]["photos"] == 5 and len(faces["faces"]) == 5
    pages = {f["source"]["page_url"].split("/", 3)[-1] for f in faces["faces"]}
    assert pages == {f"p/{n}.html" for n in photos}
    assert all(f["source"]["license"]["url"].endswith("/licence") for f in faces["faces"])
    assert len(list((tmp_path / "web" / "faces").glob("*.png"))) == 5
    assert "faces: 5 aligned 64×64 faces" in done.stdout
