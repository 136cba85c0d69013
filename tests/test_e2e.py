"""End to end in a real browser: Debian's Chromium driven by Playwright against `dcgan serve`, in both modes (the
`mode` fixture): the server makes the faces, or the browser does with the model's web export (issue #25)."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx2
import numpy as np
import pytest
from conftest import running_server
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
REQUIRED = os.environ.get("CI") == "true"  # in CI a missing browser or page is a failure, not a skip


def missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Debian's chromium is not installed (scripts/test.sh installs it)"
    if not (ROOT / "web" / "dist" / "index.html").exists():
        return "the page is not built (scripts/setup.sh builds it)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


BROWSER_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def served_for_browser(model: Path, log: Path) -> Iterator[str]:
    """`dcgan serve` of `model` for browser tests; skipped (a failure in CI) without a browser or a built page."""
    reason = missing()
    if reason:
        if REQUIRED:
            pytest.fail(reason)
        pytest.skip(reason)
    with running_server(model, log) as url:
        yield url


@contextmanager
def chromium_browser(*flags: str) -> Iterator:
    """Headless Chromium with BROWSER_FLAGS and `flags`."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=[*BROWSER_FLAGS, *flags])
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(mode, tiny_model, bundle_for, tmp_path_factory):
    with served_for_browser(bundle_for(tiny_model, mode), tmp_path_factory.mktemp(f"e2e-{mode}") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with chromium_browser() as instance:
        yield instance


def face_drawn(page) -> str:
    """How many faces the face's canvas has drawn (its data-drawn counter), "" before the first."""
    return page.get_attribute("[data-testid=face]", "data-drawn") or ""


def wait_for_new_face(page, previous: str) -> str:
    """Waits until the face's canvas draws a face after drawing `previous` ("": any face); returns its counter."""
    page.wait_for_function(
        "prev => { const f = document.querySelector('[data-testid=face]');"
        " return f && f.dataset.drawn && f.dataset.drawn !== prev; }",
        arg=previous,
        timeout=20_000,
    )
    return face_drawn(page)


def face_pixels(page) -> np.ndarray:
    """The face on show as drawn on its canvas (the model's size), RGB."""
    width, height, rgba = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=face]');
        return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)];
    }""")
    return np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3]


# The browser's generator against the server's: at most this far apart in grey levels, on average and anywhere
# (what `dcgan export-web` checks at export, docs/serving.md "The generator in the browser").
LOCAL_MEAN, LOCAL_MAX = 1.0, 8


def face_difference(shown: np.ndarray, expected: np.ndarray) -> tuple[float, int]:
    """Mean and largest absolute difference, in grey levels."""
    difference = np.abs(shown.astype(int) - expected.astype(int))
    return float(difference.mean()), int(difference.max())


def same_face(shown: np.ndarray, expected: np.ndarray, mode: str) -> bool:
    """`shown` is the face `expected`: the same pixels in server mode, within the tolerance in local mode."""
    if shown.shape != expected.shape:
        return False
    if mode == "server":
        return np.array_equal(shown, expected)
    mean, largest = face_difference(shown, expected)
    return mean <= LOCAL_MEAN and largest <= LOCAL_MAX


def assert_same_face(shown: np.ndarray, expected: np.ndarray, mode: str) -> None:
    if mode == "server":
        np.testing.assert_array_equal(shown, expected)
    else:
        assert same_face(shown, expected, mode), face_difference(shown, expected)


def settled_face(page, expected: np.ndarray, mode: str = "server", timeout: float = 20.0) -> np.ndarray:
    """The face once it shows `expected` (see `same_face`; live updates may still be in flight right after an edit)."""
    deadline = time.time() + timeout
    while not same_face(pixels := face_pixels(page), expected, mode) and time.time() < deadline:
        time.sleep(0.1)
    return pixels


def served_face(server: str, z: list[float]) -> np.ndarray:
    response = httpx2.post(f"{server}/api/generate", json={"z": z})
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def cell_values(page) -> list[float]:
    return page.eval_on_selector_all("[data-testid=z-cell]", "cells => cells.map(c => Number(c.dataset.value))")


ENGINE = "[data-testid=engine]"
READY = f"{ENGINE}[data-state=ready]"
FACE_APIS = ("/api/generate", "/api/random", "/api/interpolate", "/api/arithmetic")  # what the browser can do itself


@dataclass
class Studio:
    """A page of the studio in a mode, and what it did: its uncaught errors since it opened, its requests for faces
    (FACE_APIS) since its engine was ready."""

    page: object
    mode: str
    errors: list[str] = field(default_factory=list)
    face_calls: list[str] = field(default_factory=list)

    def wait_for_engine(self) -> None:
        """Local mode: until the browser's generator is loaded; then says who makes the faces, and counts face
        requests from here on."""
        if self.mode == "local":
            self.page.locator(READY).wait_for(timeout=60_000)
            assert self.page.get_attribute(READY, "data-engine").startswith("local-")
        else:
            assert self.page.get_attribute(ENGINE, "data-engine") == "server"
        self.face_calls.clear()

    def assert_no_face_calls(self) -> None:
        """Local mode: the server was asked for no face since the engine was ready."""
        if self.mode == "local":
            assert not self.face_calls, self.face_calls


def open_studio(target, url: str, mode: str, **options) -> Studio:
    """A new page of `target` (a browser or a context, with `options`) at `url`, once its first face is in and its
    engine is ready (`Studio.wait_for_engine`)."""
    page = target.new_page(**options)
    studio = Studio(page, mode)
    page.on("pageerror", lambda exc: studio.errors.append(str(exc)))
    page.on("request", lambda r: studio.face_calls.append(r.url) if urlparse(r.url).path in FACE_APIS else None)
    page.goto(url)
    wait_for_new_face(page, "")
    studio.wait_for_engine()
    return studio


def test_paint_changes_the_face_and_share_link_restores_it(browser, server, mode) -> None:
    studio = open_studio(browser, server, mode, viewport={"width": 1280, "height": 900})
    page = studio.page
    first = face_drawn(page)
    assert len(cell_values(page)) == 16  # the grid follows the model's z contract (16 dims: 4×4)
    about = page.eval_on_selector_all(
        "[data-testid=about] dt", "dts => dts.map(dt => dt.textContent + ': ' + dt.nextElementSibling.textContent)"
    )
    assert "Images seen: 32" in about  # the server's plain summary of the tiny model (4 steps of 8 images)

    page.click("[data-testid=reset]")
    after_reset = wait_for_new_face(page, first)
    reset_z = httpx2.get(f"{server}/api/models").json()["models"][0]["reset_z"]
    np.testing.assert_allclose(cell_values(page), reset_z, atol=1e-6)  # a face-like z, not the flat centre
    before_paint = face_pixels(page)

    page.locator("[data-testid=swatch]").first.click()  # black = the prior's low end
    cells = page.locator("[data-testid=z-cell]")
    start, end = cells.nth(0).bounding_box(), cells.nth(3).bounding_box()
    page.mouse.move(start["x"] + 5, start["y"] + 5)
    page.mouse.down()
    page.mouse.move(end["x"] + 5, end["y"] + 5, steps=8)
    page.mouse.up()
    wait_for_new_face(page, after_reset)
    values = cell_values(page)
    assert values[:4] == [-3.0] * 4  # a drag paints the row, nothing else
    np.testing.assert_allclose(values[4:], reset_z[4:], atol=1e-6)
    painted = served_face(server, values)
    assert_same_face(settled_face(page, painted, mode), painted, mode)  # the page shows the face of its z
    assert not np.array_equal(painted, before_paint)

    page.keyboard.press("Control+z")  # one stroke is one undo step
    page.wait_for_function(
        "(v) => Math.abs(Number(document.querySelector('[data-testid=z-cell]').dataset.value) - v) < 1e-6",
        arg=reset_z[0],
    )
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=z-cell]').dataset.value) === -3")
    studio.assert_no_face_calls()  # local mode: reset, painting, undo and redo all made in the browser
    if mode == "server":
        assert any("/api/generate" in url for url in studio.face_calls)

    page.click("[data-testid=share]")
    link = page.input_value("[data-testid=share-url]")
    assert "#m=tiny&z=" in link and link == page.evaluate("() => location.href")  # in the address bar too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"studio-{mode}.png"), full_page=True)

    fresh = open_studio(browser, link, mode, viewport={"width": 375, "height": 800})  # phone width
    assert cell_values(fresh.page) == values
    assert_same_face(settled_face(fresh.page, painted, mode), painted, mode)  # the link restores the same pixels
    fresh.page.screenshot(path=str(ARTIFACTS / f"studio-phone-{mode}.png"), full_page=True)
    width = fresh.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling at phone width
    assert not studio.errors and not fresh.errors
    fresh.page.close()
    page.close()


def test_server_errors_are_shown_readably(browser, server, mode) -> None:
    page = open_studio(browser, server, mode).page
    page.click("[data-testid=paste-z]")
    page.fill("[data-testid=paste-text]", "[1, 2, 3]")
    page.click("[data-testid=paste-apply]")
    banner = page.locator("[data-testid=error]")
    banner.wait_for(timeout=10_000)
    assert "16" in banner.inner_text()  # says how many values are expected
