"""The named controls in a real browser (Chromium via Playwright) against `dcgan serve` of a bundle with controls:
sliders, "make me a face that is …", breeding with its lineage, the gallery across a reload, the seed box, and
the phone layout."""

from __future__ import annotations

import json

import pytest
from test_e2e import cell_values, chromium_browser, face_drawn, served_for_browser, wait_for_new_face


@pytest.fixture(scope="module")
def controls_server(controls_model, tmp_path_factory):
    with served_for_browser(controls_model, tmp_path_factory.mktemp("e2e-controls") / "serve.log") as url:
        yield url


@pytest.fixture(scope="module")
def chromium(controls_server):
    with chromium_browser() as instance:
        yield instance


@pytest.fixture
def page(chromium, controls_server):
    context = chromium.new_context(viewport={"width": 1280, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(controls_server)
    wait_for_new_face(page, "")
    page.locator("[data-testid=controls]").wait_for(timeout=20_000)
    yield page
    assert not errors
    context.close()


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


def test_the_gallery_survives_a_reload_and_exports_json(page, tmp_path):
    page.fill("[data-testid=gallery-name]", "my face")
    page.click("[data-testid=gallery-save]")
    page.locator("[data-testid=gallery-item]").first.wait_for()
    page.reload()
    wait_for_new_face(page, "")
    assert "my face" in page.inner_text("[data-testid=gallery]")
    with page.expect_download() as download:
        page.click("[data-testid=gallery-export]")
    saved = json.loads(download.value.path().read_text())
    assert "my face" in json.dumps(saved)


def test_the_seed_box_loads_that_seed(page, controls_server):
    import httpx2

    expected = httpx2.get(f"{controls_server}/api/random", params={"seed": 42}).json()["z"]
    page.fill("[data-testid=seed-input]", "42")
    page.click("[data-testid=seed-go]")
    page.wait_for_function(
        "(v) => Math.abs(Number(document.querySelector('[data-testid=z-cell]').dataset.value) - v) < 1e-3",
        arg=expected[0],
    )


def test_on_a_phone_the_face_stays_in_view_while_painting(chromium, controls_server):
    page = chromium.new_page(viewport={"width": 390, "height": 844}, has_touch=True)
    page.goto(controls_server)
    wait_for_new_face(page, "")
    assert page.get_attribute("main", "data-layout") == "narrow"
    assert not page.locator("[data-testid=desktop-help]").is_visible()
    page.locator("[data-testid=z-cell]").last.scroll_into_view_if_needed()
    box = page.locator("[data-testid=face]").bounding_box()
    assert box is not None and box["y"] + box["height"] > 0 and box["y"] < 844  # still on screen
    page.close()
