"""End to end in a real browser: Debian's Chromium driven by Playwright against `dcgan serve`."""

from __future__ import annotations

import io
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

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
def chromium_browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_FLAGS)
        yield instance
        instance.close()


@pytest.fixture(scope="module")
def server(tiny_model, tmp_path_factory):
    with served_for_browser(tiny_model, tmp_path_factory.mktemp("e2e") / "serve.log") as url:
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


def settled_face(page, expected: np.ndarray, timeout: float = 20.0) -> np.ndarray:
    """The face once it shows `expected` (live updates may still be in flight right after an edit)."""
    deadline = time.time() + timeout
    while not np.array_equal(pixels := face_pixels(page), expected) and time.time() < deadline:
        time.sleep(0.1)
    return pixels


def served_face(server: str, z: list[float]) -> np.ndarray:
    response = httpx2.post(f"{server}/api/generate", json={"z": z})
    return np.asarray(Image.open(io.BytesIO(response.content)).convert("RGB"))


def cell_values(page) -> list[float]:
    return page.eval_on_selector_all("[data-testid=z-cell]", "cells => cells.map(c => Number(c.dataset.value))")


def test_paint_changes_the_face_and_share_link_restores_it(browser, server) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server)
    first = wait_for_new_face(page, "")
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
    np.testing.assert_array_equal(settled_face(page, painted), painted)  # the page shows the face of its z
    assert not np.array_equal(painted, before_paint)

    page.keyboard.press("Control+z")  # one stroke is one undo step
    page.wait_for_function(
        "(v) => Math.abs(Number(document.querySelector('[data-testid=z-cell]').dataset.value) - v) < 1e-6",
        arg=reset_z[0],
    )
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("() => Number(document.querySelector('[data-testid=z-cell]').dataset.value) === -3")

    page.click("[data-testid=share]")
    link = page.input_value("[data-testid=share-url]")
    assert "#m=tiny&z=" in link and link == page.evaluate("() => location.href")  # in the address bar too
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "studio.png"), full_page=True)

    fresh = browser.new_page(viewport={"width": 375, "height": 800})  # phone width
    fresh.goto(link)
    wait_for_new_face(fresh, "")
    assert cell_values(fresh) == values
    np.testing.assert_array_equal(settled_face(fresh, painted), painted)  # the link restores the same pixels
    fresh.screenshot(path=str(ARTIFACTS / "studio-phone.png"), full_page=True)
    width = fresh.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375  # no sideways scrolling at phone width
    assert not errors


def test_server_errors_are_shown_readably(browser, server) -> None:
    page = browser.new_page()
    page.goto(server)
    wait_for_new_face(page, "")
    page.click("[data-testid=paste-z]")
    page.fill("[data-testid=paste-text]", "[1, 2, 3]")
    page.click("[data-testid=paste-apply]")
    banner = page.locator("[data-testid=error]")
    banner.wait_for(timeout=10_000)
    assert "16" in banner.inner_text()  # says how many values are expected
