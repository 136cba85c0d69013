"""The Scrapy side of `dcgan crawl`: the spider, the image pipeline, two downloader middlewares, the settings,
and `run` (one `CrawlerProcess`; Twisted's reactor runs once per process).

Scrapy does the politeness and plumbing: robots.txt (Protego), AutoThrottle with a floor of 1/rate seconds
between requests to a host, retries, bounded redirects, the per-file size cap (DOWNLOAD_MAXSIZE), the HTTP
cache of pages and JOBDIR's request queue. `FilesPipeline` downloads the images through the engine, once per
URL; what it stores is decided by the `Ledger`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.extensions.httpcache import DummyPolicy
from scrapy.http import Request, TextResponse
from scrapy.http.request import NO_CALLBACK
from scrapy.pipelines.files import FileException, FilesPipeline
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.defer import deferred_from_coro

from dcgan.crawl.guard import UrlGuard
from dcgan.crawl.ledger import Ledger, Rejected
from dcgan.data import is_image_name

RETRY_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
CC_LICENSE = re.compile(r"creativecommons\.org/(licenses|publicdomain)/", re.I)


class Recorded(FileException):
    """An image failure already written to the ledger."""


def classify(exc: BaseException, max_file_mb: float) -> str:
    """A failed download's reason, short and stable (its kind before any "(")."""
    message = str(exc)
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if message.startswith("refused: "):
        return message.removeprefix("refused: ")
    if "robots.txt" in message:
        return "forbidden by robots.txt"
    if "max redirections" in message:
        return "too many redirects"
    if isinstance(exc, DownloadCancelledError) or "max size" in message:
        return f"over the file size cap ({max_file_mb:g} MB)"
    name = type(exc).__name__
    if "Timeout" in name:
        return "timeout"
    if "DNS" in name or "Resolve" in name:
        return "DNS lookup failed"
    if isinstance(exc, IgnoreRequest):
        return f"ignored ({message})"
    return f"connection error ({name})"


def license_hint(response: TextResponse) -> dict | None:
    """A page's licence: its rel="license" link, else a link to a Creative Commons licence."""
    for href in response.css('[rel~="license"]::attr(href)').getall():
        return {"url": response.urljoin(href.strip()), "how": 'rel="license"'}
    for href in response.css("a::attr(href)").getall():
        if CC_LICENSE.search(href):
            return {"url": response.urljoin(href.strip()), "how": "Creative Commons link"}
    return None


def image_urls(response: TextResponse) -> list[str]:
    """Images a page shows or links to: <img src/srcset>, <source srcset>, <a href> to an image file, og:image."""
    found = response.css("img::attr(src), img::attr(data-src), meta[property='og:image']::attr(content)").getall()
    for srcset in response.css("img::attr(srcset), source::attr(srcset)").getall():
        found += [part.strip().split(" ")[0] for part in srcset.split(",") if part.strip()]
    found += [h for h in response.css("a::attr(href)").getall() if is_image_name(urlsplit(h.strip()).path)]
    urls = [response.urljoin(u.strip()) for u in found if u.strip() and not u.strip().startswith("data:")]
    return list(dict.fromkeys(u.split("#")[0] for u in urls))


def page_links(response: TextResponse) -> list[str]:
    urls = [response.urljoin(h.strip()) for h in response.css("a::attr(href)").getall() if h.strip()]
    urls = [u.split("#")[0] for u in urls if not is_image_name(urlsplit(u).path)]
    return list(dict.fromkeys(urls))


class GuardMiddleware:
    """Refuses, before any connection, every request (pages, images, robots.txt, redirects) `UrlGuard` refuses."""

    def __init__(self, crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request: Request):
        reason = self.crawler.spider.guard.refusal(request.url)
        if reason:
            raise IgnoreRequest(f"refused: {reason}")
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries (RETRY_TIMES, RETRY_HTTP_CODES), each after a wait doubling from CRAWL_BACKOFF seconds."""

    async def _wait(self, result):
        if isinstance(result, Request):
            base = self.crawler.settings.getfloat("CRAWL_BACKOFF")
            await asyncio.sleep(min(60.0, base * 2 ** (result.meta.get("retry_times", 1) - 1)))
        return result

    async def process_response(self, request, response, spider=None):
        return await self._wait(super().process_response(request, response))

    async def process_exception(self, request, exception, spider=None):
        return await self._wait(super().process_exception(request, exception))


class TextOnlyPolicy(DummyPolicy):
    """The HTTP cache keeps pages and robots.txt (cheap to keep, costly to fetch again); images live in --out."""

    def should_cache_response(self, response, request) -> bool:
        kind = response.headers.get(b"Content-Type", b"").lower()
        return super().should_cache_response(response, request) and kind.startswith(b"text/")


class ImagePipeline(FilesPipeline):
    """FilesPipeline's downloading (through the engine, each URL once per run) with the ledger's storing."""

    def get_media_requests(self, item, info):
        headers = {"Referer": item["page"]} if item["page"] else {}
        meta = {"page": item["page"], "license": item["license"]}
        return [Request(item["url"], callback=NO_CALLBACK, meta=meta, headers=headers)]

    def media_to_download(self, request, info, *, item=None):
        return None  # the spider never asks for a URL the ledger has handled

    async def media_downloaded(self, response, request, info, *, item=None):
        spider = self.crawler.spider
        page, license = request.meta.get("page"), request.meta.get("license")
        if response.status != 200:
            spider.ledger.skip(request.url, f"HTTP {response.status}", page, len(response.body))
            raise Recorded(f"HTTP {response.status}")
        try:
            record = spider.ledger.accept(
                response.body,
                requested_url=request.url,
                url=response.url,
                status=response.status,
                page=page,
                license=license,
            )
        except Rejected as exc:
            raise Recorded(str(exc)) from None
        return {"url": request.url, "path": record["file"], "checksum": record["sha256"], "status": "downloaded"}

    def media_failed(self, failure, request, info):
        if not isinstance(failure.value, Recorded):
            spider = self.crawler.spider
            spider.ledger.skip(
                request.url, classify(failure.value, spider.options.max_file_mb), request.meta.get("page")
            )
        raise Recorded(str(failure.value))

    def item_completed(self, results, item, info):
        return item


class FaceCrawlSpider(scrapy.Spider):
    name = "dcgan-crawl"

    def __init__(self, options, ledger: Ledger, guard: UrlGuard, reseed: bool, **kwargs) -> None:
        super().__init__(**kwargs)
        self.options, self.ledger, self.guard, self.reseed = options, ledger, guard, reseed
        self.allow = [re.compile(p) for p in options.allow]
        self.deny = [re.compile(p) for p in options.deny]
        self.sites = {urlsplit(u).netloc.lower() for u in options.start}
        self.closing = False
        ledger.listeners.append(self.over_budget)

    # requests

    def _item(self, url: str, page: str | None, license) -> dict:
        return {"url": url, "page": page, "license": license}

    def _page(self, url: str, hops: int, follow: bool = True) -> Request:
        return Request(
            url, callback=self.parse, errback=self.failed, meta={"hops": hops, "follow": follow}, dont_filter=True
        )

    async def start(self):
        images, links = self.ledger.pending()  # left by an earlier run of this crawl
        for url, page in images:
            yield self._item(url, page["url"], page.get("license"))
        if self.reseed:
            for url, hops in links:
                yield self._page(url, hops)
        for url in self.options.urls or self.options.start:
            if url in self.ledger.pages or self.ledger.handled(url):
                continue
            reason = self.guard.refusal(url)
            if reason:
                self.ledger.skip(url, reason)
            elif self.options.urls and is_image_name(urlsplit(url).path):
                yield self._item(url, None, None)
            else:
                yield self._page(url, 0, follow=not self.options.urls)

    def _allowed(self, url: str) -> bool:
        if urlsplit(url).netloc.lower() not in self.sites:
            return False
        if any(p.search(url) for p in self.deny):
            return False
        return not self.allow or any(p.search(url) for p in self.allow)

    # callbacks

    def parse(self, response):
        url = response.meta.get("redirect_urls", [response.url])[0]
        if url in self.ledger.pages:
            return
        hops = response.meta["hops"]
        kind = response.headers.get(b"Content-Type", b"").lower()
        if not isinstance(response, TextResponse) or b"html" not in kind:  # a listed URL that is an image
            with contextlib.suppress(Rejected):
                self.ledger.accept(
                    response.body, requested_url=url, url=response.url, status=response.status, page=None, license=None
                )
            return
        license = license_hint(response)
        images, links = [], []
        for image in image_urls(response):
            reason = self.guard.refusal(image)
            if reason:
                if not self.ledger.handled(image):
                    self.ledger.skip(image, reason, url)
            elif not any(p.search(image) for p in self.deny):
                images.append(image)
        if response.meta.get("follow") and hops < self.options.depth:
            for link in page_links(response):
                reason = self.guard.refusal(link)
                if reason:
                    if not self.ledger.handled(link):
                        self.ledger.skip(link, reason, url)
                elif self._allowed(link):
                    links.append(link)
        self.ledger.page(url, hops, response.status, len(response.body), images, links, license)
        for image in images:
            if not self.ledger.handled(image):
                yield self._item(image, url, license)
        for link in links:
            if link not in self.ledger.pages and not self.ledger.handled(link):
                yield self._page(link, hops + 1)

    def failed(self, failure):
        request = failure.request
        self.ledger.skip(request.url, classify(failure.value, self.options.max_file_mb))

    def over_budget(self) -> None:
        """Stop once the bytes fetched pass --max-total-mb (checked after every ledger event)."""
        cap = self.options.max_total_mb * 1024 * 1024
        if not self.closing and self.ledger.bytes_fetched > cap:
            self.closing = True
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="total size cap"))


def settings(options, state: Path, out: Path) -> dict:
    delay = 1.0 / options.rate
    return {
        "BOT_NAME": "dcgan-crawl",
        "USER_AGENT": options.user_agent,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": max(delay, 1.0),
        "AUTOTHROTTLE_MAX_DELAY": 60.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_DELAY": delay,  # AutoThrottle never goes below it: at most `rate` requests a second per host
        "DOWNLOAD_DELAY_JITTER": 0.0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 2,
        "DOWNLOAD_TIMEOUT": options.timeout,
        "DOWNLOAD_MAXSIZE": int(options.max_file_mb * 1024 * 1024),
        "DOWNLOAD_WARNSIZE": int(options.max_file_mb * 1024 * 1024) // 2,
        "REDIRECT_MAX_TIMES": options.max_redirects,
        "MEDIA_ALLOW_REDIRECTS": True,
        "RETRY_TIMES": options.retries,
        "RETRY_HTTP_CODES": RETRY_CODES,
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",
        "CRAWL_BACKOFF": options.backoff,
        "HTTPCACHE_ENABLED": True,
        "HTTPCACHE_DIR": str(state / "httpcache"),
        "HTTPCACHE_EXPIRATION_SECS": 7 * 24 * 3600,
        "HTTPCACHE_IGNORE_HTTP_CODES": RETRY_CODES,
        "HTTPCACHE_POLICY": "dcgan.crawl.spider.TextOnlyPolicy",
        "JOBDIR": str(state / "job"),
        "FILES_STORE": str(out),
        "ITEM_PIPELINES": {"dcgan.crawl.spider.ImagePipeline": 1},
        "DOWNLOADER_MIDDLEWARES": {
            "dcgan.crawl.spider.GuardMiddleware": 50,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "dcgan.crawl.spider.BackoffRetryMiddleware": 550,
        },
        "DEPTH_LIMIT": 0,  # hops are counted by the spider (they survive a resume)
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "INFO" if options.verbose else "ERROR",
    }


def run(options, ledger: Ledger, guard: UrlGuard, reseed: bool) -> str | None:
    """Run the crawl in this process; Scrapy's finish reason ("finished", "shutdown", ...), None if it did not
    close properly."""
    state = ledger.state
    if not options.verbose:
        for name in ("scrapy.pipelines", "scrapy.core.scraper", "scrapy.core.engine"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    process = CrawlerProcess(settings(options, state, ledger.out))
    crawler = process.create_crawler(FaceCrawlSpider)
    process.crawl(crawler, options=options, ledger=ledger, guard=guard, reseed=reseed)
    process.start()
    return crawler.stats.get_value("finish_reason") if crawler.stats else None


def reset_job(state: Path) -> None:
    """Forget Scrapy's JOBDIR queue and the HTTP cache (not trustworthy after a kill mid-write)."""
    shutil.rmtree(state / "job", ignore_errors=True)
    shutil.rmtree(state / "httpcache", ignore_errors=True)
