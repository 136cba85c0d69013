"""The named controls in a real browser (Chromium via Playwright) against `dcgan serve` of a bundle with controls:
sliders, "make me a face that is …", breeding with its lineage, the gallery across a reload, the seed box, and
the phone layout; in both modes (the `mode` fixture). The controls, make-me and breeding ask the server in both: in
local mode the page must still ask it for no face (`Studio.assert_no_face_calls`)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_e2e import cell_values, chromium_browser, face_drawn, open_studio, served_for_browser, wait_for_new_face


@pytest.fixture(scope="module")
def controls_server(mode, controls_model, bundle_for, tmp_path_factory):
    log = tmp_path_factory.mktemp(f"e2e-controls-{mode}") / "serve.log"
    with served_for_browser(bundle_for(controls_model, mode), log) as url:
        yield url


@pytest.fixture(scope="module")
def chromium(controls_server):
    with chromium_browser() as instance:
        yield instance


@pytest.fixture
def studio(chromium, controls_server, mode):
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    studio = open_studio(context, controls_server, mode)
    studio.page.locator("[data-testid=controls]").wait_for(timeout=20_000)
    yield studio
    assert not studio.errors
    studio.assert_no_face_calls()
    context.close()


@pytest.fixture
def page(studio):
    return studio.page


def history_length(page) -> int:
    return page.locator("[data-testid=history-item]").count()


def test_a_slider_edits_the_face_and_leaves_one_history_step(page):
    before_z, before_face = cell_values(page), face_drawn(page)
    entries = history_length(page)
    slider = page.locator("[data-testid=slider-Smiling]")
    slider.evaluate("(el) => { el.value = '1.5'; el.dispatchEvent(new Event('input', {bubbles: true})); }")
    wait_for_new_face(page, before_face)
    slider.evaluate("(el) => el.dispatchEvent(new Event('change', {bubbles: true}))")
    page.wait_for_function(f"() => document.querySelectorAll('[data-testid=history-item]').length === {entries + 1}")
    assert cell_values(page) != before_z  # the grid follows the slider's z
    assert page.locator("[data-testid=attr-Smiling]").count() == 1
    page.locator("[data-testid=slider-sefa_0]").wait_for()  # discovered directions are sliders too


def test_make_me_returns_faces_that_load_into_the_editor(page):
    page.click("[data-testid=makeme-Male-yes]")
    page.fill("[data-testid=makeme-count]", "3")
    page.click("[data-testid=makeme-submit]")
    page.locator("[data-testid=makeme-face]").nth(2).wait_for(timeout=30_000)
    assert page.locator("[data-testid=makeme-face]").count() == 3
    assert "tried" in page.inner_text("[data-testid=makeme-summary]")
    before = face_drawn(page)
    page.locator("[data-testid=makeme-face]").first.click()
    wait_for_new_face(page, before)


def test_children_carry_their_lineage_into_the_share_link(page):
    page.click("[data-testid=breed-children]")
    page.locator("[data-testid=breed-result]").first.wait_for(timeout=30_000)
    before = face_drawn(page)
    page.locator("[data-testid=breed-result]").first.click()
    wait_for_new_face(page, before)
    assert "child" in page.inner_text("[data-testid=lineage]").lower()
    page.click("[data-testid=share]")
    link = page.input_value("[data-testid=share-url]")
    assert "&l=" in link  # the lineage travels with the face


def test_the_gallery_survives_a_reload_and_exports_json(page, studio, tmp_path):
    page.fill("[data-testid=gallery-name]", "my face")
    page.click("[data-testid=gallery-save]")
    page.locator("[data-testid=gallery-item]").first.wait_for()
    studio.assert_no_face_calls()
    page.reload()
    wait_for_new_face(page, "")
    studio.wait_for_engine()  # a reloaded page asks the server for its first face until its engine is back
    assert "my face" in page.inner_text("[data-testid=gallery]")
    with page.expect_download() as download:
        page.click("[data-testid=gallery-export]")
    saved = json.loads(download.value.path().read_text())
    assert "my face" in json.dumps(saved)


def load_seed(page, seed: int) -> list[float]:
    """z once the seed box has loaded `seed`."""
    page.fill("[data-testid=seed-input]", str(seed))
    page.click("[data-testid=seed-go]")
    page.wait_for_function(
        "s => document.querySelector('[data-testid=notice]').textContent.includes(`(seed ${s})`)", arg=seed
    )
    return cell_values(page)


def test_the_seed_box_loads_that_seed(page, controls_server):
    import httpx2

    expected = httpx2.get(f"{controls_server}/api/random", params={"seed": 42}).json()["z"]
    np.testing.assert_allclose(load_seed(page, 42), expected, atol=1e-6)  # the server's z in either mode


def test_a_seed_gives_the_same_face_again(page):
    first = load_seed(page, 42)
    assert load_seed(page, 7) != first
    assert load_seed(page, 42) == first  # in local mode with no /api/random (the `studio` fixture checks)


def test_on_a_phone_the_face_stays_in_view_while_painting(chromium, controls_server, mode):
    page = open_studio(chromium, controls_server, mode, viewport={"width": 390, "height": 844}, has_touch=True).page
    assert page.get_attribute("main", "data-layout") == "narrow"
    assert not page.locator("[data-testid=desktop-help]").is_visible()
    page.locator("[data-testid=z-cell]").last.scroll_into_view_if_needed()
    box = page.locator("[data-testid=face]").bounding_box()
    assert box is not None and box["y"] + box["height"] > 0 and box["y"] < 844  # still on screen
    page.close()
