"""A photo in a real browser (Chromium via Playwright) against `dcgan serve` of a bundle with a photo encoder:
upload a real photo, see the aligned crop, the model's face and the grid filled with its z, then paint a square and
see the face change; in both modes (the `mode` fixture): the photo goes to the server in both, the painting after it
is made in the browser in local mode."""

from __future__ import annotations

import tarfile

import httpx2
import numpy as np
import pytest
from conftest import SHARED
from test_e2e import cell_values, chromium_browser, face_drawn, open_studio, served_for_browser, wait_for_new_face

RAW = SHARED / "raw-samples" / "celeba-aligned-89x109-1k.tar"
pytestmark = pytest.mark.skipif(not RAW.exists(), reason="needs ../shared/datasets/raw-samples")


@pytest.fixture(scope="module")
def photo_server(mode, inverted_model, bundle_for, tmp_path_factory):
    log = tmp_path_factory.mktemp(f"e2e-photo-{mode}") / "serve.log"
    with served_for_browser(bundle_for(inverted_model, mode), log) as url:
        yield url


def test_a_photo_lands_on_the_grid_and_can_be_painted(photo_server, mode, tmp_path) -> None:
    with tarfile.open(RAW) as tar:
        member = next(m for m in tar if m.isfile())
        (tmp_path / "me.jpg").write_bytes(tar.extractfile(member).read())
    with chromium_browser() as chromium:
        studio = open_studio(chromium, photo_server, mode, viewport={"width": 1280, "height": 1000})
        page = studio.page
        first = face_drawn(page)
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
        studio.assert_no_face_calls()  # local mode: the photo's face came with its z, the painted one from the browser
        assert not studio.errors
