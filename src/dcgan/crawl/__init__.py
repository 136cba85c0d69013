"""`dcgan crawl`: a face dataset from the web, polite and resumable, in a folder `dcgan faces` reads.

    from dcgan.crawl import CrawlOptions, crawl
    manifest = crawl(CrawlOptions(out=Path("data/web"), start=["https://example.org/people/"], depth=2))

Two modes: `urls` (image or page URLs, pages are read for their images but not followed) and `start` (pages
followed within their site up to `depth` links away, filtered by the `allow`/`deny` regexes). Images (JPEG,
PNG, WebP, GIF's first frame) are stored in `out` under content-derived names, with `out/crawl.json`: one
record per kept image (its URL, page, time, HTTP status, licence hint) and every skipped URL with its reason.
The crawl state (journal, Scrapy's JOBDIR and HTTP cache) is in `out/.crawl/`; running the same crawl again
continues it. The user is responsible for having the rights to what they crawl.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from dcgan.crawl.guard import UrlGuard, is_local_address
from dcgan.crawl.ledger import MANIFEST, Ledger, load_provenance
from dcgan.errors import ConfigError

__all__ = ["DEFAULT_USER_AGENT", "MANIFEST", "CrawlOptions", "UrlGuard", "crawl", "is_local_address", "load_provenance"]

DEFAULT_USER_AGENT = "dcgan-crawl/0.1 (face dataset builder of the dcgan project; obeys robots.txt)"
RUNNING = "running"


@dataclass
class CrawlOptions:
    out: Path
    urls: list[str] = field(default_factory=list)  # URL-list mode
    start: list[str] = field(default_factory=list)  # start pages, followed within their site
    depth: int = 1  # links followed from a start page
    allow: list[str] = field(default_factory=list)  # followed page URLs must match one (when given)
    deny: list[str] = field(default_factory=list)  # page and image URLs matching one are not fetched
    user_agent: str = DEFAULT_USER_AGENT
    rate: float = 1.0  # requests per second per host, at most
    max_file_mb: float = 20.0
    max_total_mb: float = 2000.0
    min_side: int = 64  # smaller images (icons, spacers) are skipped
    dup_distance: int = 4  # pHash Hamming distance for "the same picture"; -1: exact duplicates only
    allow_private: list[str] = field(default_factory=list)  # hosts that may be private or local; "*": any
    timeout: float = 30.0
    retries: int = 2
    backoff: float = 1.0  # seconds before the first retry, doubled for each next one
    max_redirects: int = 5
    verbose: bool = False

    def validate(self) -> None:
        if bool(self.urls) == bool(self.start):
            raise ConfigError("give either --urls FILE or --start URL...")
        for name in ("rate", "max_file_mb", "max_total_mb", "timeout"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be > 0")
        if self.depth < 0 or self.retries < 0 or self.max_redirects < 0 or self.backoff < 0:
            raise ConfigError("--depth, --retries, --max-redirects and --backoff must be >= 0")
        import re

        for pattern in (*self.allow, *self.deny):
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(f"bad regular expression {pattern!r}: {exc}") from None

    def public(self) -> dict:
        facts = asdict(self)
        facts["out"] = str(self.out)
        return facts


def read_url_list(path: Path) -> list[str]:
    """One URL a line; blank lines and # comments ignored."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read --urls {path}: {exc.strerror or exc}") from None
    return [
        s
        for s in (line.split("#", 1)[0].strip() if line.lstrip().startswith("#") else line.strip() for line in lines)
        if s
    ]


def crawl(options: CrawlOptions, *, progress: bool = True) -> dict:
    """Run (or continue) a crawl into `options.out` in this process (once per process: Twisted's reactor
    cannot restart); returns the crawl.json manifest."""
    options.validate()
    try:
        import scrapy  # noqa: F401
    except ImportError:
        raise ConfigError("dcgan crawl needs Scrapy: pip install -e '.[crawl]'") from None
    from tqdm import tqdm

    from dcgan.crawl import spider as scrapy_side

    out = Path(options.out)
    ledger = Ledger(out, min_side=options.min_side, dup_distance=options.dup_distance)
    marker = ledger.state / RUNNING
    resumed = bool(ledger.pages or ledger.kept or ledger.skipped)
    unclean = marker.exists()
    if unclean:  # killed: Scrapy's queue was not saved; the journal says what is left
        scrapy_side.reset_job(ledger.state)
    marker.write_text(str(os.getpid()))
    bar = tqdm(desc="crawl", unit=" img", disable=not progress, initial=len(ledger.kept))
    seen = {"kept": len(ledger.kept)}

    def changed() -> None:
        if progress:
            bar.update(len(ledger.kept) - seen["kept"])
            seen["kept"] = len(ledger.kept)
            errors = ", ".join(f"{k} {v}" for k, v in sorted(ledger.errors.items())) or "none"
            bar.set_postfix_str(
                f"pages {len(ledger.pages)}, {ledger.bytes_fetched / 1e6:.1f} MB, skipped: {errors}", refresh=False
            )

    ledger.listeners.append(changed)
    guard = UrlGuard(options.allow_private)
    try:
        reason = scrapy_side.run(options, ledger, guard, reseed=resumed)
    finally:
        bar.close()
        ledger.close()
    stopped = None if reason == "finished" else (reason or "interrupted")
    if reason is not None:
        marker.unlink(missing_ok=True)
    return ledger.write_manifest(options.public(), stopped)


def summary(manifest: dict) -> str:
    counts = manifest["counts"]
    skipped = ", ".join(f"{k} {v}" for k, v in sorted(manifest["skipped_by_reason"].items())) or "none"
    state = "finished" if manifest["finished"] else f"stopped ({manifest['stopped']}); run it again to continue"
    return (
        f"crawl {state}: {counts['pages']} pages, {counts['images']} images kept "
        f"({counts['image_bytes'] / 1e6:.1f} MB; {counts['bytes_fetched'] / 1e6:.1f} MB fetched); "
        f"skipped by reason: {skipped}"
    )
