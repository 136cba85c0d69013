"""A photo in a real browser (Chromium via Playwright) against `dcgan serve` of a bundle with a photo encoder:
upload a real photo, see the aligned crop, the model's face and the grid filled with its z, then paint a square and
see the face change."""

from __future__ import annotations

import tarfile

import httpx2
import numpy as np
import pytest
from conftest import SHARED
from test_e2e import cell_values, chromium_browser, served_for_browser, wait_for_new_face

RAW = SHARED / "raw-samples" / "celeba-aligned-89x109-1k.tar"
pytestmark = pytest.mark.skipif(not RAW.exists(), reason="needs ../shared/datasets/raw-samples")


@pytest.fixture(scope="module")
def photo_server(inverted_model, tmp_path_factory):
    with served_for_browser(inverted_model, tmp_path_factory.mktemp("e2e-photo") / "serve.log") as url:
        yield url


def test_a_photo_lands_on_the_grid_and_can_be_painted(photo_server, tmp_path) -> None:
    with tarfile.open(RAW) as tar:
        member = next(m for m in tar if m.isfile())
        (tmp_path / "me.jpg").write_bytes(tar.extractfile(member).read())
    with chromium_browser() as chromium:
        page = chromium.new_page(viewport={"width": 1280, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(photo_server)
        first = wait_for_new_face(page, "")
        entries = page.locator("[data-testid=history-item]").count()
        assert "never stored" in page.locator("[data-testid=photo-privacy]").inner_text()

        page.set_input_files("[data-testid=photo-input]", str(tmp_path / "me.jpg"))
        page.locator("[data-testid=photo-crop]").wait_for(timeout=60_000)
        page.locator("[data-testid=photo-result]").wait_for(timeout=60_000)
        from_photo = wait_for_new_face(page, first)
        z = cell_values(page)
        assert len(z) == 16 and min(z) >= -1 and max(z) <= 1  # the tiny model's uniform box
        assert "PSNR" in page.locator("[data-testid=photo-scores]").inner_text()
        page.wait_for_function(
            f"() => document.querySelectorAll('[data-testid=history-item]').length === {entries + 1}"
        )
        served = httpx2.post(f"{photo_server}/api/generate", json={"z": z})
        assert served.status_code == 200  # the grid holds a z the server takes as it is

        page.locator("[data-testid=swatch]").last.click()  # white: the prior's high end
        page.locator("[data-testid=z-cell]").nth(5).click()
        wait_for_new_face(page, from_photo)
        painted = cell_values(page)
        assert painted[5] == 1.0 and np.allclose(np.delete(painted, 5), np.delete(z, 5))
        assert not errors
