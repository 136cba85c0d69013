"""The generator in the browser (issue #25), in Chromium via Playwright: with a bundle exported for the web, the
page loads the ONNX generator, paints with no server call and shows the server's face within the tolerance; a
static site (`dcgan site`) served by a plain static file server works with no Python behind it."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import static_server
from PIL import Image
from test_e2e import (
    READY,
    assert_same_face,
    cell_values,
    chromium_browser,
    face_difference,
    same_face,
    served_face,
    served_for_browser,
    settled_face,
    wait_for_new_face,
)

from dcgan.bundle import load_generator
from dcgan.images import enlarge
from dcgan.web_export import web_file

pytest.importorskip("onnx")
SHIPPED = Path(__file__).resolve().parents[1] / "models" / "celeba64"


@pytest.fixture(scope="module")
def web_model(tiny_model, bundle_for):
    return bundle_for(tiny_model, "local")


@pytest.fixture(scope="module")
def static_site(tmp_path_factory):
    """static_site(bundle): its static site (`dcgan site`), served by a plain static file server (no dcgan)."""
    from test_e2e import ROOT, missing

    from dcgan.site import build_site

    if reason := missing():
        pytest.skip(reason)

    def serve(bundle):
        out = tmp_path_factory.mktemp("site") / "site"
        return static_server(build_site([bundle], out, page=ROOT / "web" / "dist", log=lambda _: None))

    return serve


def test_painting_runs_in_the_browser_and_matches_the_server(web_model, tmp_path) -> None:
    with served_for_browser(web_model, tmp_path / "serve.log") as url, chromium_browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        generated: list[str] = []
        page.on("request", lambda r: generated.append(r.url) if "/api/generate" in r.url else None)
        page.goto(url)
        first = wait_for_new_face(page, "")
        page.locator(READY).wait_for(timeout=60_000)
        assert page.get_attribute(READY, "data-engine").startswith("local-")
        calls = len(generated)
        page.locator("[data-testid=swatch]").first.click()
        page.locator("[data-testid=z-cell]").nth(2).click()
        wait_for_new_face(page, first)
        server = served_face(url, cell_values(page))
        assert_same_face(settled_face(page, server, "local"), server, "local")  # within the tolerance
        page.locator("[data-testid=history-item]").nth(1).wait_for()  # the painted face, kept after its frame
        page.set_viewport_size({"width": 1280, "height": 2000})  # the face and the morph slots in view at once
        page.drag_and_drop("[data-testid=face]", "[data-testid=morph-a]")  # the face's canvas drags to a slot
        page.locator("[data-testid=morph-a] img").wait_for(timeout=5_000)
        assert len(generated) == calls  # no /api/generate once the local engine is ready
        assert not errors


def test_webgpu_draws_the_servers_face(web_model, tmp_path) -> None:
    """The WebGPU path, on the WebGPU Chromium offers with no GPU (SwiftShader, with --enable-unsafe-webgpu)."""
    with (
        served_for_browser(web_model, tmp_path / "serve.log") as url,
        chromium_browser("--enable-unsafe-webgpu") as chromium,
    ):
        page = chromium.new_page()
        page.goto(f"{url}/?engine=webgpu")  # that backend only, no fallback (web/src/engine.ts engineChoice)
        page.locator(READY).wait_for(timeout=60_000)
        assert page.get_attribute(READY, "data-engine") == "local-webgpu"
        first = wait_for_new_face(page, "")
        page.locator("[data-testid=z-cell]").nth(5).click()
        wait_for_new_face(page, first)
        server = served_face(url, cell_values(page))
        assert_same_face(settled_face(page, server, "local"), server, "local")


def test_a_static_site_runs_with_no_server(web_model, static_site) -> None:
    with static_site(web_model) as url, chromium_browser() as chromium:
        page = chromium.new_page()
        api_calls: list[str] = []
        page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url and "models" not in r.url else None)
        page.goto(url)
        page.locator(READY).wait_for(timeout=60_000)
        first = wait_for_new_face(page, "")
        page.locator("[data-testid=serverless-note]").wait_for()
        page.locator("[data-testid=z-cell]").nth(0).click()
        wait_for_new_face(page, first)
        page.select_option("[data-testid=resample]", "lanczos")
        with page.expect_download() as download:
            page.click("[data-testid=download]")
        picture = np.asarray(Image.open(download.value.path()).convert("RGB"))
        face = load_generator(web_model).generate(np.array(cell_values(page), np.float32))
        expected = np.asarray(enlarge(face[0], 8, "lanczos"))  # what the server's download gives
        assert picture.shape == expected.shape == (32 * 8, 32 * 8, 3)  # the tiny model's 32 px, enlarged
        assert same_face(picture, expected, "local"), face_difference(picture, expected)
        assert not api_calls


def test_a_static_sites_sliders_and_breeding_run_in_the_browser(controls_model, bundle_for, static_site) -> None:
    with static_site(bundle_for(controls_model, "local")) as url, chromium_browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        api_calls: list[str] = []
        page.on("request", lambda r: api_calls.append(r.url) if "/api/" in r.url and "models" not in r.url else None)
        page.goto(url)
        page.locator(READY).wait_for(timeout=60_000)
        first = wait_for_new_face(page, "")
        z = cell_values(page)
        page.locator("[data-testid=slider-linear]").wait_for()
        slider = page.locator("[data-testid=slider-sefa_0]")
        slider.evaluate("(el) => { el.value = '2'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
        slider.evaluate("(el) => el.dispatchEvent(new Event('change', {bubbles: true}))")
        wait_for_new_face(page, first)
        moved = cell_values(page)
        assert max(abs(a - b) for a, b in zip(moved, z, strict=True)) > 0.05  # the grid follows the slider
        assert page.locator("[data-testid=makeme]").count() == 0  # needs the server
        page.click("[data-testid=breed-children]")  # children made in the page, without the identity lock
        page.wait_for_function("() => document.querySelectorAll('[data-testid=breed-result] img').length === 6")
        assert not api_calls


@pytest.mark.skipif(not (SHIPPED / "classifier").is_dir(), reason="no shipped model with named controls")
def test_a_static_site_reads_faces_and_makes_them_as_the_server_does(static_site, tmp_path) -> None:
    """The shipped model's static site: its classifier runs in the page (ONNX, float16 weights) on the browser's face,
    its calibrated readings match the server's (Keras on TensorFlow's face), and "make me a face" in the page gives
    faces the server reads as asked."""
    bundle = SHIPPED
    if web_file(SHIPPED) is None:  # a clean checkout: the site exports a copy for the browser, not the repository's
        bundle = shutil.copytree(SHIPPED, tmp_path / SHIPPED.name, ignore=shutil.ignore_patterns("samples"))
    with static_site(bundle) as url, chromium_browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        page.locator(READY).wait_for(timeout=120_000)
        first = wait_for_new_face(page, "")
        slider = page.locator("[data-testid=slider-Smiling]")
        slider.evaluate("(el) => { el.value = '1'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
        slider.evaluate("(el) => el.dispatchEvent(new Event('change', {bubbles: true}))")
        wait_for_new_face(page, first)
        model = load_generator(SHIPPED)
        served = model.controls.attributes(model.generate(np.array([cell_values(page)], np.float32)))
        names = ("Smiling", "Male", "Young", "Eyeglasses", "Black_Hair")
        deadline, shown = time.time() + 60, {}
        while time.time() < deadline:  # the readings of the moved face, once in (those of the first may show before)
            if page.locator("[data-testid=attr-Smiling]").count():
                shown = {
                    n: int(page.inner_text(f"[data-testid=attr-{n}]").split()[-1].rstrip("%")) / 100 for n in names
                }
                if all(abs(shown[n] - float(served[n][0])) <= 0.03 for n in names):
                    break
            time.sleep(0.2)
        assert shown and all(abs(shown[n] - float(served[n][0])) <= 0.03 for n in names), (shown, served)

        # make me a face, in the page: a woman, smiling, with glasses
        for wish in ("Male-no", "Smiling-yes", "Eyeglasses-yes"):
            page.click(f"[data-testid=makeme-{wish}]")
        page.click("[data-testid=makeme-submit]")
        page.locator("[data-testid=makeme-summary]").wait_for(timeout=60_000)
        assert int(page.inner_text("[data-testid=makeme-summary]").split()[0]) >= 6  # "N of 8 faces as asked …"
        before = cell_values(page)
        page.locator("[data-testid=makeme-face]").first.click()
        changed = (
            "(z) => [...document.querySelectorAll('[data-testid=z-cell]')].some((c, i) => +c.dataset.value !== z[i])"
        )
        page.wait_for_function(changed, arg=before)
        read = model.controls.attributes(model.generate(np.array([cell_values(page)], np.float32)))
        assert read["Male"][0] < 0.5 and read["Smiling"][0] > 0.5 and read["Eyeglasses"][0] > 0.5, (
            read
        )  # the server agrees
