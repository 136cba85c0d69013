"""What a crawl has done, kept on disk so an interrupted crawl continues where it stopped.

`Ledger` owns `--out`: each accepted image is checked (sniffed from its bytes with `dcgan.data.open_image`'s
rules, size, duplicates by SHA-256 and by perceptual hash), written atomically under a name derived from its
content, and recorded in an append-only journal (`.crawl/journal.jsonl`, one fsynced JSON line per event:
page parsed, image kept, image dropped, URL skipped). A crawl stopped at any instant, even by SIGKILL, is
rebuilt from the journal: what it kept is not downloaded again, and the pages it still had to visit are
known. `write_manifest` writes `crawl.json` (atomic) from it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from dcgan.atomic import remove_stale_temps, write_bytes_atomic, write_json_atomic
from dcgan.data import count_reasons, open_image

MANIFEST = "crawl.json"
STATE = ".crawl"
JOURNAL = "journal.jsonl"
FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".png"}  # a GIF keeps its first frame, as PNG
# Failures that may pass: retried when a stopped crawl is run again. Any other skip is final.
TRANSIENT = ("HTTP 5", "HTTP 429", "HTTP 408", "timeout", "connection error", "DNS lookup failed", "crawl stopped")


class Rejected(Exception):
    """An image not kept; the message is the reason."""


def is_transient(reason: str) -> bool:
    return reason.startswith(TRANSIENT)


def _phash(image: Image.Image) -> int:
    import imagehash

    return int(str(imagehash.phash(image.convert("RGB"))), 16)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Ledger:
    out: Path
    min_side: int = 64
    dup_distance: int = 4  # pHash Hamming distance for "the same picture"; -1: exact duplicates only
    kept: dict[str, dict] = field(default_factory=dict)  # file → record
    skipped: dict[str, dict] = field(default_factory=dict)  # URL → {url, reason, page}
    pages: dict[str, dict] = field(default_factory=dict)  # URL → {url, hops, images, links, license, status}
    bytes_fetched: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # this run's skips by kind, for the progress line
    listeners: list = field(default_factory=list)  # called after every event (progress line, size cap)

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.state = self.out / STATE
        self.state.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(self.out)  # a file a killed crawl was writing: fetched again, as its journal has no line
        self._by_url: dict[str, str] = {}
        self._replay()
        self._journal = open(self.state / JOURNAL, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())

    # the journal

    def _replay(self) -> None:
        path = self.state / JOURNAL
        if not path.exists():
            return
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:  # the last line of a crawl killed mid-write
                continue
            self._apply(event)

    def _apply(self, event: dict) -> None:
        kind = event.pop("event")
        if kind == "page":
            self.pages[event["url"]] = event
            self.bytes_fetched += event.get("bytes", 0)
        elif kind == "keep":
            self.kept[event["file"]] = event
            self._by_url[event["requested_url"]] = event["file"]
            self.skipped.pop(event["requested_url"], None)
            self.bytes_fetched += event["bytes"]
        elif kind == "drop":
            record = self.kept.pop(event["file"], None)
            if record is not None:
                self._by_url.pop(record["requested_url"], None)
                self.skipped[record["requested_url"]] = {
                    "url": record["requested_url"],
                    "page": record.get("page_url"),
                    "reason": event["reason"],
                }
        elif kind == "skip":
            self.skipped[event["url"]] = event
            self.bytes_fetched += event.pop("bytes", 0)

    def _write(self, event: dict) -> None:
        self._journal.write(json.dumps(event, sort_keys=True) + "\n")
        self._journal.flush()
        os.fsync(self._journal.fileno())
        self._apply(dict(event))
        for listener in self.listeners:
            listener()

    def close(self) -> None:
        self._journal.close()

    # questions

    def handled(self, url: str) -> bool:
        """True when `url` needs no download: an image kept, or skipped for a reason that will not pass."""
        if url in self._by_url:
            return True
        skip = self.skipped.get(url)
        return skip is not None and not is_transient(skip["reason"])

    def pending(self) -> tuple[list[tuple[str, dict]], list[tuple[str, int]]]:
        """What a resumed crawl still has to do: (image URL, its page record) of parsed pages with no outcome,
        and (page URL, hops) linked from parsed pages and not parsed."""
        images, links, seen = [], [], set()
        for page in self.pages.values():
            for url in page.get("images", []):
                if not self.handled(url) and url not in seen:
                    seen.add(url)
                    images.append((url, page))
            for url in page.get("links", []):
                if url not in self.pages and not self.handled(url) and url not in seen:
                    seen.add(url)
                    links.append((url, page["hops"] + 1))
        return images, links

    @property
    def kept_bytes(self) -> int:
        return sum(r["bytes"] for r in self.kept.values())

    # events

    def page(self, url: str, hops: int, status: int, size: int, images: list[str], links: list[str], license):
        self._write(
            {
                "event": "page",
                "url": url,
                "hops": hops,
                "status": status,
                "bytes": size,
                "images": images,
                "links": links,
                "license": license,
            }
        )

    def skip(self, url: str, reason: str, page: str | None = None, size: int = 0) -> None:
        kind = count_reasons([{"reason": reason}])
        for key, n in kind.items():
            self.errors[key] = self.errors.get(key, 0) + n
        self._write({"event": "skip", "url": url, "reason": reason, "page": page, "bytes": size})

    def accept(self, data: bytes, *, requested_url: str, url: str, status: int, page: str | None, license) -> dict:
        """Check, deduplicate and store one downloaded image; its record, or Rejected with the reason."""
        try:
            record = self._accept(data, requested_url, url, status, page, license)
        except Rejected as exc:
            self.skip(requested_url, str(exc), page, len(data))
            raise
        return record

    def _accept(self, data, requested_url, url, status, page, license) -> dict:
        try:
            fmt = Image.open(io.BytesIO(data)).format
        except Exception:
            head = data[:64].lstrip().lower()
            kind = "an HTML page" if head.startswith((b"<!doctype html", b"<html")) else "unknown bytes"
            raise Rejected(f"not an image ({kind})") from None
        if fmt not in FORMATS:
            raise Rejected(f"unsupported image format ({fmt})")
        try:
            image = open_image(data)
        except ValueError as exc:
            raise Rejected(str(exc)) from None
        if min(image.size) < self.min_side:
            raise Rejected(f"too small ({image.width}×{image.height} < {self.min_side} px)")
        sha = hashlib.sha256(data).hexdigest()
        ext = FORMATS[fmt]
        name = sha[:20] + ext
        if name in self.kept:
            raise Rejected(f"duplicate (same bytes as {name})")
        digest = _phash(image)
        pixels = image.width * image.height
        replaced = None
        if self.dup_distance >= 0 and self.kept:
            files = list(self.kept)
            hashes = np.asarray([int(self.kept[f]["phash"], 16) for f in files], dtype=np.uint64)
            distances = np.bitwise_count(hashes ^ np.uint64(digest))
            nearest = int(np.argmin(distances))
            if distances[nearest] <= self.dup_distance:
                other = self.kept[files[nearest]]
                # keep the larger picture (ties: the smaller hash), whichever came first, so the result does not
                # depend on download order
                if (other["width"] * other["height"], -int(other["sha256"][:15], 16)) >= (pixels, -int(sha[:15], 16)):
                    raise Rejected(f"near-duplicate (pHash distance {int(distances[nearest])} of {files[nearest]})")
                replaced = (files[nearest], int(distances[nearest]))
        if fmt == "GIF":
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, format="PNG")
            stored = buffer.getvalue()
        else:
            stored = data
        write_bytes_atomic(self.out / name, stored)
        record = {
            "event": "keep",
            "file": name,
            "url": url,
            "requested_url": requested_url,
            "page_url": page,
            "fetched_at": _now(),
            "status": status,
            "license": license,
            "format": fmt,
            "width": image.width,
            "height": image.height,
            "bytes": len(data),
            "sha256": sha,
            "phash": f"{digest:016x}",
        }
        if replaced is not None:  # dropped first: killed in between, the new one is simply fetched again
            old, distance = replaced
            self._write(
                {"event": "drop", "file": old, "reason": f"near-duplicate (pHash distance {distance} of {name})"}
            )
            (self.out / old).unlink(missing_ok=True)
        self._write(record)
        return self.kept[name]

    # the manifest

    def manifest(self, options: dict, stopped: str | None) -> dict:
        skipped = sorted(self.skipped.values(), key=lambda s: s["url"])
        return {
            "format": 1,
            "written_at": _now(),
            "options": options,
            "finished": stopped is None,
            "stopped": stopped,
            "counts": {
                "pages": len(self.pages),
                "images": len(self.kept),
                "image_bytes": self.kept_bytes,
                "bytes_fetched": self.bytes_fetched,
                "skipped": len(skipped),
            },
            "skipped_by_reason": count_reasons(skipped),
            "images": [self.kept[f] for f in sorted(self.kept)],
            "skipped": skipped,
            "note": "the user is responsible for having the rights to use these images",
        }

    def write_manifest(self, options: dict, stopped: str | None = None) -> dict:
        manifest = self.manifest(options, stopped)
        write_json_atomic(self.out / MANIFEST, manifest)
        return manifest


def load_provenance(folder: Path) -> dict[str, dict] | None:
    """file → its crawl record, when `folder` holds a `crawl.json`; else None."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir() or not path.is_file():
        return None
    try:
        images = json.loads(path.read_text(encoding="utf-8"))["images"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {r["file"]: r for r in images if isinstance(r, dict) and "file" in r}
