"""Resumable, verified downloads of known dataset files with the standard library (urllib).

A file is streamed to `NAME.part`; a cut connection is resumed with an HTTP Range request, also by a later
run of the same command. The finished file is checked against the size, SHA-256 and MD5 in the table
below before it is renamed to `NAME`; a mismatch is kept as `NAME.bad` for inspection and never used.
Web pages served instead of the file (Google Drive's quota page) and HTTP 403 / 429 are reported with
what to do next. (Over 400 lines because a third of it is that table of known files and their digests.)
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dcgan.atomic import atomic_path, write_bytes_atomic
from dcgan.errors import DataError

CHUNK = 1 << 20
HTML_STARTS = (b"<!doctype html", b"<html", b"<head", b"<!--")


class DownloadError(DataError):
    """A download that cannot go on; the message says what to do."""


class ChecksumError(DownloadError):
    """The downloaded bytes are not the known file."""


@dataclass(frozen=True)
class KnownFile:
    """A published file: its name, size in bytes and digests (any of them may be unknown: None)."""

    name: str
    size: int | None
    sha256: str | None = None
    md5: str | None = None
    drive_id: str | None = None  # Google Drive id, for the default CelebA mirror


@dataclass(frozen=True)
class DatasetSource:
    env: str  # environment variable that overrides the default mirror
    default_mirror: str
    page: str  # where a person can get the files by hand


# Sizes and SHA-256 from TensorFlow Datasets' recorded checksums (tensorflow_datasets/url_checksums/
# celeb_a.txt, mnist.txt, lsun.txt); MD5 from torchvision (datasets/celeba.py, datasets/mnist.py).
CELEBA_FILES = {
    "img_align_celeba.zip": KnownFile(
        "img_align_celeba.zip",
        1_443_490_838,
        sha256="46fb89443c578308acf364d7d379fe1b9efb793042c0af734b6112e4fd3a8c74",
        md5="00d2c5bc6d35e252742224ab0c1e8fcb",
        drive_id="0B7EVK8r0v71pZjFTYXZWM3FlRnM",
    ),
    "list_eval_partition.txt": KnownFile(
        "list_eval_partition.txt",
        2_836_386,
        sha256="fc955bcb3ef8fbdf7d5640d9a8693a8431b5f2ee291a5c1449a1549e7e073fe7",
        md5="d32c9cbf5e040fd4025c592c306e6668",
        drive_id="0B7EVK8r0v71pY0NSMzRuSXJEVkk",
    ),
}
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": KnownFile(
        "train-images-idx3-ubyte.gz",
        9_912_422,
        sha256="440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        md5="f68b3c2dcbeaaa9fbdd348bbdeb94873",
    ),
    "train-labels-idx1-ubyte.gz": KnownFile(
        "train-labels-idx1-ubyte.gz",
        28_881,
        sha256="3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        md5="d53e105ee54ea40749a09fcbcd1e9432",
    ),
    "t10k-images-idx3-ubyte.gz": KnownFile(
        "t10k-images-idx3-ubyte.gz",
        1_648_877,
        sha256="8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        md5="9fb629c4189551a2d022fa330f9573f3",
    ),
    "t10k-labels-idx1-ubyte.gz": KnownFile(
        "t10k-labels-idx1-ubyte.gz",
        4_542,
        sha256="f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        md5="ec29112dd5afa0611ce80d1b7f02629c",
    ),
}
_LSUN = {  # category: (train size, train sha256, val size, val sha256)
    "bedroom": (
        45_922_737_680,
        "a15644c2e7153106867f0adb3491fc41224102d1f01b24494fb47d9f5d1f174e",
        4_670_661,
        "5d022e781b241c25ec2e1f1f769afcdb8091d7fd58362667aec03137b8114b12",
    ),
    "bridge": (
        16_478_644_518,
        "2701b2d421bbc4d8a5e9b0652ff7c3b57cd6495da8e0e85c39533275b5a925a3",
        6_176_834,
        "83216a2974d6068c2e1d18086006e7380ff58540216f955ce87fe049b460cb0d",
    ),
    "church_outdoor": (
        2_448_463_466,
        "91128ae026840ac0c5982b4445ab5fc4e092d6847cca76793b2b1a0815c2e74a",
        5_957_308,
        "34635b7547a3e51a15f942a4a4082dd6bc9cca381a953515cb2275c0eed50584",
    ),
    "classroom": (
        3_279_497_022,
        "73a8a3e318819e1cc602f229673c3f51a68f3ece61e3764ce22df6abea4d0873",
        5_880_261,
        "5e0e9a375d94091dfe1fa3be87d4a92f41c03f1c0b8e376acc7e05651de512d7",
    ),
    "conference_room": (
        4_048_461_633,
        "fa0a4cf72e7acfb103392eaf33640d5508a728e971f31877b01d64e1bde6068c",
        5_316_084,
        "927c94df52e10b9b374748c2b83b28b5860e946b3186dfd587985e274834650f",
    ),
    "dining_room": (
        11_592_966_936,
        "e4ee24c7c309360c3bf019123ce5bbf17434b2ba33abec2b0b07cfae715a52cb",
        5_301_030,
        "bd604d4b91bb5a9611d4e0b85475efd20758390d1a4eb57b53973fcbb5aa8ab6",
    ),
    "kitchen": (
        35_791_384_987,
        "b1993cf639aece5d207a27eb9ff872bcca9dff6472d8227a052c79d40ee753c4",
        4_867_891,
        "329165f35ec61c4cf49f809246de300b8baad3ffcbda1ac30c27bdd32c84369a",
    ),
    "living_room": (
        22_792_405_188,
        "bd2c52b812c80f73ce3062a221396d13a52b5cce2f813b4cdf61937651281d7a",
        5_167_755,
        "30a23d9a3db5414e9c97865f60ffb2ee973bfa658a23dbca7188ea514c97c9fc",
    ),
    "restaurant": (
        13_489_345_463,
        "11a0a924b960cd0900e9b7477d684fb338bd99cc5f72db1caac592e4f497e09a",
        6_232_385,
        "efaa7bcb898ad6cb73b07b89fec3a9c670f4622912eea22fab3986c2cf9a1c20",
    ),
    "tower": (
        12_010_237_081,
        "440caec74c9641cb51fd235a5970c8e4931c3af875aeb044a8bcca956e106309",
        5_223_709,
        "7f5257847bc01f4e40d4a1b3e24dd8fcd37063f12ca8cf31e726c2ee0b1ae104",
    ),
}
LSUN_CATEGORIES = tuple(_LSUN)
LSUN_FILES = {
    f"{category}_{subset}_lmdb.zip": KnownFile(f"{category}_{subset}_lmdb.zip", size, sha256=digest)
    for category, (train_size, train_sha, val_size, val_sha) in _LSUN.items()
    for subset, size, digest in (("train", train_size, train_sha), ("val", val_size, val_sha))
}

SOURCES = {
    "celeba": DatasetSource(
        "DCGAN_CELEBA_URL",
        "https://drive.usercontent.google.com/download?id={drive_id}&export=download&confirm=t",
        "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (Align&Cropped Images → "
        "img_align_celeba.zip, and Eval → list_eval_partition.txt)",
    ),
    "mnist": DatasetSource(
        "DCGAN_MNIST_URL",
        "https://ossci-datasets.s3.amazonaws.com/mnist/{name}",
        "https://ossci-datasets.s3.amazonaws.com/mnist/ (or any MNIST mirror)",
    ),
    "lsun": DatasetSource(
        "DCGAN_LSUN_URL",
        "http://dl.yf.io/lsun/scenes/{name}",
        "https://github.com/fyu/lsun (download.py lists the same files)",
    ),
}
KNOWN_FILES = {"celeba": CELEBA_FILES, "mnist": MNIST_FILES, "lsun": LSUN_FILES}


def mirror_for(dataset: str, mirror: str | None = None) -> str:
    """--mirror, else the dataset's environment variable, else the default."""
    source = SOURCES[dataset]
    return mirror or os.environ.get(source.env) or source.default_mirror


def file_url(mirror: str, known: KnownFile) -> str:
    """A mirror is a template with {name} / {drive_id}, or a base URL (or folder) the file name is added to."""
    if "{name}" in mirror or "{drive_id}" in mirror:
        return mirror.format(name=known.name, drive_id=known.drive_id or "")
    if "://" not in mirror:  # a local folder
        return Path(mirror, known.name).resolve().as_uri()
    return mirror.rstrip("/") + "/" + known.name


def human(n: float | None) -> str:
    if n is None:
        return "unknown size"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1024 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"  # pragma: no cover


class _Digests:
    """SHA-256 and MD5 of a growing file, kept in step with the bytes written."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sha256, self.md5, self.offset = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0

    def update(self, data: bytes) -> None:
        self.sha256.update(data)
        self.md5.update(data)
        self.offset += len(data)

    @classmethod
    def of_file(cls, path: Path) -> _Digests:
        digests = cls()
        if path.exists():
            with open(path, "rb") as f:
                while block := f.read(CHUNK):
                    digests.update(block)
        return digests


def check(path: Path, known: KnownFile, digests: _Digests | None = None) -> str | None:
    """None if the file is the known one, else what differs."""
    size = path.stat().st_size
    if known.size is not None and size != known.size:
        return f"size {size} bytes, expected {known.size}"
    digests = digests or _Digests.of_file(path)
    if known.sha256 and digests.sha256.hexdigest() != known.sha256.lower():
        return f"sha256 {digests.sha256.hexdigest()}, expected {known.sha256}"
    if known.md5 and digests.md5.hexdigest() != known.md5.lower():
        return f"md5 {digests.md5.hexdigest()}, expected {known.md5}"
    return None


def looks_like_html(content_type: str, first_bytes: bytes) -> bool:
    if content_type.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        return True
    return first_bytes.lstrip()[:64].lower().startswith(HTML_STARTS)


def _manual_hint(dest: Path, known: KnownFile, page: str | None, env: str | None) -> str:
    where = f" from {page}" if page else ""
    size = f" ({human(known.size)})" if known.size else ""
    return (
        f"get {known.name}{size} by hand{where}, save it as {dest} and run the same command again "
        f"(the file is verified, then used), or point --mirror{' / ' + env if env else ''} at another copy"
    )


def fetch(
    url: str,
    dest: Path,
    known: KnownFile,
    *,
    progress: bool = True,
    retries: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
    page: str | None = None,
    env: str | None = None,
) -> Path:
    """Download `url` to `dest` (resuming `dest.part`) and verify it; returns `dest`.

    An existing `dest` that verifies is used as is (that is how a file fetched by hand is taken).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    say = tqdm.write if progress else (lambda *_: None)
    bad = dest.with_name(dest.name + ".bad")
    if dest.exists():
        problem = check(dest, known)
        if problem is None:
            say(f"{dest} is already there and verified")
            return dest
        dest.replace(bad)
        say(f"{dest} did not verify ({problem}); kept as {bad}, downloading again")
    part = dest.with_name(dest.name + ".part")
    digests = _Digests.of_file(part)
    failures = 0
    while True:
        on_disk = part.stat().st_size if part.exists() else 0
        if on_disk != digests.offset:  # a write that failed after buffering: hash what is really there
            digests = _Digests.of_file(part)
        have = digests.offset
        if known.size is not None and have > known.size:
            part.unlink()
            digests = _Digests()
            continue
        if known.size is not None and have == known.size:
            break
        try:
            done = _fetch_once(url, part, digests, known, progress=progress, timeout=timeout, page=page, env=env)
        except _Restart:
            part.unlink(missing_ok=True)
            digests = _Digests()
            continue
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            if isinstance(exc, urllib.error.HTTPError):
                raise DownloadError(f"{url}: HTTP {exc.code} {exc.reason}") from None
            failures += 1
            if failures > retries:
                raise DownloadError(
                    f"download of {known.name} from {url} failed {failures} times ({exc}); {human(digests.offset)} "
                    f"are kept in {part}: run the same command again to resume"
                ) from None
            say(
                f"{known.name}: connection problem ({exc}); resuming from byte {digests.offset} "
                f"(try {failures}/{retries})"
            )
            time.sleep(backoff * failures)
            continue
        if done:
            break
        failures += 1
        if failures > retries:
            raise DownloadError(
                f"download of {known.name} from {url} kept stopping early; {human(digests.offset)} "
                f"are kept in {part}: run the same command again to resume"
            )
        say(f"{known.name}: the connection was cut at byte {digests.offset}; resuming (try {failures}/{retries})")
        time.sleep(backoff * failures)
    problem = check(part, known, digests)
    if problem is not None:
        part.replace(bad)
        raise ChecksumError(
            f"{known.name} from {url} is not the known file ({problem}); it is kept as {bad} for "
            f"inspection and was not used. Delete it and run again, or " + _manual_hint(dest, known, page, env)
        )
    part.replace(dest)
    say(f"{dest}: {human(dest.stat().st_size)} downloaded and verified")
    return dest


class _Restart(Exception):
    """The server cannot continue from our offset: start the file again from byte 0."""


def _fetch_once(
    url: str,
    part: Path,
    digests: _Digests,
    known: KnownFile,
    *,
    progress: bool,
    timeout: float,
    page: str | None,
    env: str | None,
) -> bool:
    """One request; appends to `part`. True when the server sent the whole rest of the file."""
    have = digests.offset
    headers = {"User-Agent": "dcgan-download/1.0", "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to send: the part may already be whole
            if known.size is None:
                return True
            raise _Restart from None
        if exc.code in (403, 429):
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            wait = f" (the server asks to wait {retry_after} s)" if retry_after else ""
            raise DownloadError(
                f"the mirror refused {known.name} with HTTP {exc.code} ({exc.reason}){wait}: a download quota or "
                f"rate limit, common with Google Drive. Wait and run the same command again (it resumes), or "
                + _manual_hint(part.with_name(known.name), known, page, env)
            ) from None
        if exc.code == 404:
            raise DownloadError(
                f"{url} does not exist (HTTP 404); check --mirror{' / ' + env if env else ''}, "
                f"or " + _manual_hint(part.with_name(known.name), known, page, env)
            ) from None
        if 500 <= exc.code < 600:
            raise ConnectionError(f"HTTP {exc.code} {exc.reason}") from None
        raise
    with response:
        status = getattr(response, "status", 200) or 200
        content_type = response.headers.get("Content-Type", "") if response.headers else ""
        length = response.headers.get("Content-Length") if response.headers else None
        remaining = int(length) if length and length.isdigit() else None
        first = response.read(min(CHUNK, remaining) if remaining is not None else CHUNK)
        if looks_like_html(content_type, first):
            html = part.with_name(known.name + ".html")
            write_bytes_atomic(html, first[:65536])
            raise DownloadError(
                f"the mirror returned a web page instead of {known.name} ({url}); this is most likely Google "
                f"Drive's 'download quota exceeded' (or 'cannot scan for viruses') page. The page is saved as "
                f"{html}. To go on, " + _manual_hint(part.with_name(known.name), known, page, env)
            )
        if have and status == 200:  # Range ignored: the body is the whole file, so start the part again
            part.write_bytes(b"")
            digests.reset()
            have = 0
        if have and status == 206:
            content_range = response.headers.get("Content-Range", "")
            start = content_range.split(" ")[-1].split("-")[0]
            if start.isdigit() and int(start) != have:
                raise _Restart
        expected_total = have + remaining if remaining is not None else known.size
        if status == 200 and known.size is not None and remaining is not None and remaining != known.size:
            raise DownloadError(
                f"{url} serves {remaining} bytes but {known.name} has {known.size}; "
                f"check --mirror{' / ' + env if env else ''}"
            )
        received = 0
        with (
            open(part, "ab") as out,
            tqdm(
                total=expected_total,
                initial=have,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=known.name,
                disable=not progress,
                leave=False,
            ) as bar,
        ):
            block = first
            while block:
                out.write(block)
                digests.update(block)
                received += len(block)
                bar.update(len(block))
                block = response.read(CHUNK)
            out.flush()
    if remaining is not None:
        return received >= remaining
    return known.size is None or digests.offset >= known.size


def fetch_known(
    dataset: str,
    name: str,
    out: Path,
    *,
    mirror: str | None = None,
    progress: bool = True,
    retries: int = 5,
    timeout: float = 60.0,
    backoff: float = 1.0,
) -> Path:
    """Fetch one file of a known dataset into `out`, from --mirror / the environment / the default mirror."""
    known = KNOWN_FILES[dataset][name]
    source = SOURCES[dataset]
    url = file_url(mirror_for(dataset, mirror), known)
    return fetch(
        url,
        Path(out) / name,
        known,
        progress=progress,
        retries=retries,
        timeout=timeout,
        backoff=backoff,
        page=source.page,
        env=source.env,
    )


def copy_verified(src: Path, dest: Path) -> None:
    """Copy a small file (e.g. the partition list) next to the images, atomically."""
    with atomic_path(dest) as tmp:
        shutil.copyfile(src, tmp)
