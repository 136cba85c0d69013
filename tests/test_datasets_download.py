"""`dcgan download`: resumable verified downloads from a local HTTP server, safe extraction, end to end.

Every download here goes to a server this file starts on 127.0.0.1; nothing touches the internet.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import tarfile
import threading
import urllib.parse
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dcgan.cli.data import add_commands
from dcgan.data import Cache, PrepareOptions, prepare
from dcgan.datasets import archives, download
from dcgan.datasets.download import ChecksumError, DownloadError, KnownFile, fetch, file_url, mirror_for
from dcgan.datasets.mnist import write_idx
from dcgan.errors import DataError

HTML = b"<!DOCTYPE html>\n<html><head><title>Google Drive - Quota exceeded</title></head><body>Too many users have viewed or downloaded this file recently.</body></html>"  # noqa: E501


class FileServer:
    """A tiny HTTP/1.1 file server with Range support and scripted misbehaviour per path.

    `script[path]` is a list of modes used by successive requests: "ok", "cut:N" (send N bytes of the body,
    then close), "norange" (ignore Range, answer 200 with the whole file), "html" (a text/html quota page),
    "html-octet" (the same page labelled application/octet-stream), or an HTTP status like "403", "429".
    """

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.script: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                path = urllib.parse.urlsplit(self.path).path.lstrip("/")
                range_header = self.headers.get("Range")
                server.requests.append((path, range_header))
                queue = server.script.get(path) or []
                mode = queue.pop(0) if queue else "ok"
                if mode.isdigit():
                    self._send(int(mode), b"", "text/plain", extra={"Retry-After": "120"} if mode == "429" else {})
                    return
                if mode in ("html", "html-octet"):
                    self._send(200, HTML, "text/html; charset=utf-8" if mode == "html" else "application/octet-stream")
                    return
                data = server.files.get(path)
                if data is None:
                    self._send(404, b"not found", "text/plain")
                    return
                start = 0
                if range_header and mode != "norange":
                    start = int(range_header.split("=")[1].split("-")[0])
                    if start >= len(data):
                        self._send(416, b"", "text/plain", extra={"Content-Range": f"bytes */{len(data)}"})
                        return
                body = data[start:]
                status = 206 if start else 200
                extra = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}"} if start else {}
                extra["Accept-Ranges"] = "bytes"
                if mode.startswith("cut:"):
                    self._send(status, body[: int(mode[4:])], "application/octet-stream", extra=extra, length=len(body))
                    self.close_connection = True
                    return
                self._send(status, body, "application/octet-stream", extra=extra)

            def _send(
                self, status: int, body: bytes, content_type: str, extra: dict | None = None, length: int | None = None
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body) if length is None else length))
                for key, value in (extra or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, name: str, data: bytes) -> KnownFile:
        self.files[name] = data
        return KnownFile(name, len(data), sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest())

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    srv = FileServer()
    yield srv
    srv.close()


def payload(n: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


FAST = {"progress": False, "timeout": 5.0, "backoff": 0.0}


def test_plain_download_is_verified_and_renamed(server, tmp_path) -> None:
    known = server.add("blob.bin", payload())
    path = fetch(f"{server.url}/blob.bin", tmp_path / "blob.bin", known, **FAST)
    assert path.read_bytes() == server.files["blob.bin"]
    assert not (tmp_path / "blob.bin.part").exists()
    assert server.requests == [("blob.bin", None)]


def test_cut_connection_is_resumed_with_range(server, tmp_path) -> None:
    data = payload(3_000_000)
    known = server.add("big.bin", data)
    server.script["big.bin"] = ["cut:1000000", "cut:700000"]
    fetch(f"{server.url}/big.bin", tmp_path / "big.bin", known, **FAST)
    assert (tmp_path / "big.bin").read_bytes() == data
    assert server.requests == [("big.bin", None), ("big.bin", "bytes=1000000-"), ("big.bin", "bytes=1700000-")]


def test_part_file_from_an_earlier_run_is_continued(server, tmp_path) -> None:
    data = payload(500_000, seed=1)
    known = server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data[:123_456])
    fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert server.requests == [("f.bin", "bytes=123456-")]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path) -> None:
    data = payload(400_000, seed=2)
    known = server.add("f.bin", data)
    (tmp_path / "f.bin.part").write_bytes(data[:1000])
    server.script["f.bin"] = ["norange"]
    fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data
    assert server.requests == [("f.bin", "bytes=1000-")]  # the whole file came back and was taken from byte 0


def test_too_many_cuts_keep_the_part_and_say_how_to_resume(server, tmp_path) -> None:
    data = payload(200_000, seed=3)
    known = server.add("f.bin", data)
    server.script["f.bin"] = ["cut:1000"] * 10
    with pytest.raises(DownloadError, match="run the same command again to resume"):
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, retries=2, **FAST)
    assert (tmp_path / "f.bin.part").stat().st_size == 3000
    server.script["f.bin"] = []
    fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, **FAST)  # a later run finishes it
    assert (tmp_path / "f.bin").read_bytes() == data


def test_checksum_mismatch_is_kept_as_bad_and_not_used(server, tmp_path) -> None:
    data = payload(100_000, seed=4)
    server.files["f.bin"] = data
    wrong = KnownFile("f.bin", len(data), sha256="0" * 64)
    with pytest.raises(ChecksumError, match=r"kept as .*f\.bin\.bad") as info:
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin", wrong, **FAST)
    assert "sha256" in str(info.value)
    assert (tmp_path / "f.bin.bad").read_bytes() == data
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()
    md5_only = KnownFile("f.bin", len(data), md5="0" * 32)
    with pytest.raises(ChecksumError, match="md5"):
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin", md5_only, **FAST)


def test_wrong_size_from_the_mirror_stops_before_downloading(server, tmp_path) -> None:
    server.files["f.bin"] = payload(5000)
    with pytest.raises(DownloadError, match=r"serves 5000 bytes but f\.bin has 9999"):
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin", KnownFile("f.bin", 9999), **FAST)
    assert not (tmp_path / "f.bin").exists()


@pytest.mark.parametrize("mode", ["html", "html-octet"])
def test_html_quota_page_is_reported_not_saved_as_the_archive(server, tmp_path, mode) -> None:
    known = server.add("img_align_celeba.zip", payload(1000))
    server.script["img_align_celeba.zip"] = [mode]
    with pytest.raises(DownloadError) as info:
        fetch(
            f"{server.url}/img_align_celeba.zip",
            tmp_path / "img_align_celeba.zip",
            known,
            page="https://example.invalid/celeba",
            env="DCGAN_CELEBA_URL",
            **FAST,
        )
    message = str(info.value)
    assert "returned a web page" in message and "quota" in message
    assert "by hand from https://example.invalid/celeba" in message and "DCGAN_CELEBA_URL" in message
    assert str(tmp_path / "img_align_celeba.zip") in message  # where to save the manual download
    assert not (tmp_path / "img_align_celeba.zip").exists()
    assert (tmp_path / "img_align_celeba.zip.html").read_bytes().startswith(b"<!DOCTYPE html>")


@pytest.mark.parametrize("status", ["403", "429"])
def test_quota_status_codes_are_explained(server, tmp_path, status) -> None:
    known = server.add("f.bin", payload(1000))
    server.script["f.bin"] = [status]
    with pytest.raises(DownloadError, match=f"HTTP {status}.*quota or rate limit") as info:
        fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, **FAST)
    if status == "429":
        assert "wait 120 s" in str(info.value)


def test_missing_file_is_a_clear_error(server, tmp_path) -> None:
    with pytest.raises(DownloadError, match=r"does not exist.*HTTP 404"):
        fetch(f"{server.url}/nope.bin", tmp_path / "nope.bin", KnownFile("nope.bin", 10), **FAST)


def test_a_file_fetched_by_hand_is_verified_and_used(server, tmp_path) -> None:
    data = payload(1000, seed=5)
    known = server.add("f.bin", data)
    (tmp_path / "f.bin").write_bytes(data)
    fetch(f"{server.url}/missing", tmp_path / "f.bin", known, **FAST)
    assert server.requests == []
    (tmp_path / "f.bin").write_bytes(b"x" * 1000)  # a wrong manual file is set aside and fetched again
    fetch(f"{server.url}/f.bin", tmp_path / "f.bin", known, **FAST)
    assert (tmp_path / "f.bin").read_bytes() == data and (tmp_path / "f.bin.bad").exists()


def test_mirror_flag_environment_and_templates(monkeypatch, tmp_path) -> None:
    celeba = download.CELEBA_FILES["img_align_celeba.zip"]
    monkeypatch.delenv("DCGAN_CELEBA_URL", raising=False)
    assert file_url(mirror_for("celeba"), celeba) == (
        "https://drive.usercontent.google.com/download?id=0B7EVK8r0v71pZjFTYXZWM3FlRnM&export=download&confirm=t"
    )
    monkeypatch.setenv("DCGAN_CELEBA_URL", "http://mirror.test/celeba/")
    assert file_url(mirror_for("celeba"), celeba) == "http://mirror.test/celeba/img_align_celeba.zip"
    assert (
        file_url(mirror_for("celeba", "http://flag.test/x?f={name}"), celeba)
        == "http://flag.test/x?f=img_align_celeba.zip"
    )
    assert file_url(str(tmp_path), celeba) == (tmp_path / "img_align_celeba.zip").resolve().as_uri()
    monkeypatch.setenv("DCGAN_MNIST_URL", "http://m.test/mnist")
    assert (
        file_url(mirror_for("mnist"), download.MNIST_FILES["t10k-labels-idx1-ubyte.gz"])
        == "http://m.test/mnist/t10k-labels-idx1-ubyte.gz"
    )


def test_known_table_is_complete() -> None:
    for files in download.KNOWN_FILES.values():
        for name, known in files.items():
            assert known.name == name and known.size and known.size > 0
            assert known.sha256 and len(known.sha256) == 64
    assert len(download.LSUN_FILES) == 20 and len(download.MNIST_FILES) == 4
    assert download.CELEBA_FILES["img_align_celeba.zip"].md5 == "00d2c5bc6d35e252742224ab0c1e8fcb"


# ---------------------------------------------------------------- archives


def _zip(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            zf.writestr(info, target)
    return path


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            body = (data or {}).get(info.name)
            if body is not None:
                info.size = len(body)
            tar.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def test_good_archives_extract_and_reruns_skip(tmp_path) -> None:
    zipped = _zip(tmp_path / "a.zip", {"top/x.txt": b"x", "top/sub/y.txt": b"yy"})
    assert [p.name for p in archives.extract(zipped, tmp_path / "out", progress=False)] == ["top"]
    assert (tmp_path / "out/top/sub/y.txt").read_bytes() == b"yy"
    (tmp_path / "out/top/x.txt").write_bytes(b"changed")
    archives.extract(zipped, tmp_path / "out", progress=False)  # marker: not extracted again
    assert (tmp_path / "out/top/x.txt").read_bytes() == b"changed"
    tarred = _tar(
        tmp_path / "b.tar.gz", [_member("d/a.bin"), _member("d/link", tarfile.SYMTYPE, "a.bin")], {"d/a.bin": b"abc"}
    )
    archives.extract(tarred, tmp_path / "out2", progress=False)
    assert (tmp_path / "out2/d/link").read_bytes() == b"abc"
    with gzip.open(tmp_path / "c.idx.gz", "wb") as f:
        f.write(b"payload")
    archives.extract(tmp_path / "c.idx.gz", tmp_path / "out3", progress=False)
    assert (tmp_path / "out3/c.idx").read_bytes() == b"payload"
    assert not list((tmp_path / "out").glob(".*.extracting"))


@pytest.mark.parametrize(
    "case",
    [
        "zip-dotdot",
        "zip-absolute",
        "zip-symlink",
        "tar-dotdot",
        "tar-absolute",
        "tar-symlink-out",
        "tar-symlink-absolute",
        "tar-hardlink-out",
        "tar-device",
    ],
)
def test_unsafe_archives_are_refused_and_nothing_is_written(tmp_path, case) -> None:
    dest = tmp_path / "dest" / "inner"
    if case == "zip-dotdot":
        archive = _zip(tmp_path / "evil.zip", {"ok.txt": b"1", "../../evil.txt": b"2"})
    elif case == "zip-absolute":
        archive = _zip(tmp_path / "evil.zip", {"ok.txt": b"1", "/tmp/evil.txt": b"2"})
    elif case == "zip-symlink":
        archive = _zip(tmp_path / "evil.zip", {"ok.txt": b"1"}, {"link": "/etc/passwd"})
    else:
        kind, name, link = {
            "tar-dotdot": (tarfile.REGTYPE, "../evil.txt", ""),
            "tar-absolute": (tarfile.REGTYPE, "/tmp/evil.txt", ""),
            "tar-symlink-out": (tarfile.SYMTYPE, "d/link", "../../outside"),
            "tar-symlink-absolute": (tarfile.SYMTYPE, "link", "/etc/passwd"),
            "tar-hardlink-out": (tarfile.LNKTYPE, "hard", "../outside"),
            "tar-device": (tarfile.CHRTYPE, "dev", ""),
        }[case]
        archive = _tar(
            tmp_path / "evil.tar.gz",
            [_member("ok.txt"), _member(name, kind, link)],
            {"ok.txt": b"1", **({name: b"2"} if kind == tarfile.REGTYPE else {})},
        )
    with pytest.raises(archives.UnsafeArchiveError, match="refusing"):
        archives.extract(archive, dest, progress=False)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "dest" / "evil.txt").exists()
    assert not dest.exists() or list(dest.iterdir()) == []


def test_not_an_archive_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "x.zip").write_bytes(HTML)
    with pytest.raises(DataError, match="not a zip, tar or gzip archive"):
        archives.extract(tmp_path / "x.zip", tmp_path / "out", progress=False)


# ---------------------------------------------------------------- the command, end to end


def run_cli(*argv: str) -> None:
    parser = argparse.ArgumentParser(prog="dcgan")
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    args.func(args)


def _serve_known(monkeypatch, server: FileServer, table: dict, name: str, data: bytes) -> None:
    monkeypatch.setitem(table, name, server.add(name, data))


def test_download_mnist_end_to_end(server, tmp_path, monkeypatch, capsys) -> None:
    rng = np.random.default_rng(0)
    sets = {
        "train": (rng.integers(0, 256, (12, 28, 28), dtype=np.uint8), rng.integers(0, 10, 12, dtype=np.uint8)),
        "test": (rng.integers(0, 256, (5, 28, 28), dtype=np.uint8), rng.integers(0, 10, 5, dtype=np.uint8)),
    }
    names = {
        "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
        "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
    }
    for split, (images, labels) in sets.items():
        for name, array in zip(names[split], (images, labels), strict=True):
            _serve_known(
                monkeypatch, server, download.MNIST_FILES, name, write_idx(tmp_path / name, array).read_bytes()
            )
    server.script["train-images-idx3-ubyte.gz"] = ["cut:2000"]
    monkeypatch.setenv("DCGAN_MNIST_URL", server.url)
    run_cli("download", "mnist", "--out", str(tmp_path / "mnist"), "--timeout", "5")
    out = capsys.readouterr().out
    assert "dcgan prepare" in out and "--size 32 --grayscale --crop none" in out
    root = tmp_path / "mnist" / "mnist32"
    files = sorted((root / "train").rglob("*.png"))
    assert len(files) == 12 and len(list((root / "test").rglob("*.png"))) == 5
    first = Image.open(root / "train" / str(sets["train"][1][0]) / "00000.png")
    assert first.size == (32, 32) and first.mode == "L"
    pixels = np.asarray(first)
    assert np.array_equal(pixels[2:30, 2:30], sets["train"][0][0]) and pixels[:2].max() == 0
    manifest = prepare(root / "train", tmp_path / "cache", PrepareOptions(32, "none", True), workers=1, progress=False)
    assert manifest["count"] == 12
    cache = Cache.open(tmp_path / "cache")
    index = manifest["files"].index(f"{sets['train'][1][0]}/00000.png")
    assert np.array_equal(cache.images[index, 2:30, 2:30, 0], sets["train"][0][0])  # stored losslessly


def _celeba_zip(path: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(1, n + 1):
            buffer = io.BytesIO()
            Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8)).save(buffer, "JPEG", quality=70)
            zf.writestr(f"img_align_celeba/{i:06d}.jpg", buffer.getvalue())
    return path


def test_download_celeba_end_to_end_then_official_partition(server, tmp_path, monkeypatch, capsys) -> None:
    from dcgan.datasets.celeba import by_partition

    archive = _celeba_zip(tmp_path / "img_align_celeba.zip", 9)
    partition = "".join(f"{i:06d}.jpg {0 if i <= 6 else 1 if i <= 8 else 2}\n" for i in range(1, 10)).encode()
    _serve_known(monkeypatch, server, download.CELEBA_FILES, "img_align_celeba.zip", archive.read_bytes())
    _serve_known(monkeypatch, server, download.CELEBA_FILES, "list_eval_partition.txt", partition)
    run_cli("download", "celeba", "--out", str(tmp_path / "celeba"), "--mirror", server.url + "/")
    out = capsys.readouterr().out
    images = tmp_path / "celeba" / "img_align_celeba"
    assert "celeba: 9 images" in out and f"dcgan prepare {images}" in out
    assert (images / "list_eval_partition.txt").read_bytes() == partition
    manifest = prepare(
        images, tmp_path / "celeba64", PrepareOptions(size=16), by_partition(images), workers=1, progress=False
    )
    assert manifest["counts"] == {"train": 6, "val": 2, "test": 1}
    test_manifest = json.loads((tmp_path / "celeba64" / "test" / "manifest.json").read_text())
    assert test_manifest["files"] == ["000009.jpg"] and test_manifest["split"] == "test"
    assert Cache.open(tmp_path / "celeba64" / "train").images.shape == (6, 16, 16, 3)
    run_cli("download", "celeba", "--out", str(tmp_path / "celeba"), "--mirror", server.url + "/")
    assert len(server.requests) == 2  # the second run verified the files on disk and fetched nothing


def test_download_celeba_quota_page_message(server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DCGAN_CELEBA_URL", server.url + "/uc?id={drive_id}")
    server.script["uc"] = ["html"] * 2
    with pytest.raises(DownloadError, match=r"web page instead of list_eval_partition\.txt.*mmlab"):
        run_cli("download", "celeba", "--out", str(tmp_path / "celeba"))


def test_download_lsun_end_to_end(server, tmp_path, monkeypatch, capsys) -> None:
    lmdb = pytest.importorskip("lmdb")

    db = tmp_path / "bedroom_val_lmdb"
    env = lmdb.open(str(db), map_size=1 << 24)
    values = {}
    with env.begin(write=True) as txn:
        for i in range(7):
            buffer = io.BytesIO()
            Image.new("RGB", (40, 30), (i * 30, 10, 10)).save(buffer, "WEBP" if i % 2 else "JPEG")
            key = hashlib.sha1(str(i).encode()).hexdigest().encode()
            values[key.decode()] = buffer.getvalue()
            txn.put(key, buffer.getvalue())
    env.close()
    archive = tmp_path / "bedroom_val_lmdb.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in ("data.mdb", "lock.mdb"):
            if (db / name).exists():
                zf.write(db / name, f"bedroom_val_lmdb/{name}")
    _serve_known(monkeypatch, server, download.LSUN_FILES, "bedroom_val_lmdb.zip", archive.read_bytes())
    run_cli(
        "download",
        "lsun",
        "--category",
        "bedroom",
        "--subset",
        "val",
        "--out",
        str(tmp_path / "lsun"),
        "--mirror",
        server.url,
        "--limit",
        "5",
    )
    out = capsys.readouterr().out
    folder = tmp_path / "lsun" / "bedroom_val"
    written = sorted(folder.rglob("*.*"))
    assert len(written) == 5 and "lsun: 5 images" in out and f"dcgan prepare {folder}" in out
    for path in written:
        assert path.read_bytes() == values[path.stem]
        assert path.suffix == (".jpg" if path.read_bytes()[:3] == b"\xff\xd8\xff" else ".webp")
        assert path.parent.name == path.stem[:2]
    assert prepare(folder, tmp_path / "cache", PrepareOptions(size=16), workers=1, progress=False)["count"] == 5
