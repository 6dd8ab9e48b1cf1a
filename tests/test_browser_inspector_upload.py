"""Real-browser test (issue 9): in one page, upload a practitioner's own open-size U-Net and a
full-size 512x512 image through the inspector's file inputs; the prediction covers the whole
image, as the output chart's figure data says."""

import io

import numpy as np
import pytest

from browser_support import browser_page, need_browser, open_page, running_app, wait_idle

pytestmark = pytest.mark.browser
SIZE = 512


def small_open_unet_file(path) -> None:
    """A small membrane-style U-Net with an open input size, saved as .keras at ``path``."""
    import keras

    from unetviz.config import PRESETS
    from unetviz.model import build_unet, model_to_bytes

    keras.utils.set_random_seed(0)
    config = PRESETS["seed-membrane"].replace(input_size=None, filters=(4, 8, 16, 32))
    path.write_bytes(model_to_bytes(build_unet(config)))


def slice_png(path) -> None:
    """A 512x512 grey picture like an EM slice: dark membranes on a light, noisy background."""
    from PIL import Image

    rng = np.random.default_rng(9)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    lines = (np.abs(np.sin(xx / 23.0 + np.sin(yy / 31.0))) < 0.12) | (np.abs(np.sin(yy / 19.0)) < 0.1)
    image = np.where(lines, 40, 200) + rng.normal(0, 20, (SIZE, SIZE))
    buf = io.BytesIO()
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), "L").save(buf, format="PNG")
    path.write_bytes(buf.getvalue())


FIGURE = """d => ({meta: d.layout.meta || null, title: (d.layout.title || {}).text || "",
                  traces: d.data.map(t => t.type)})"""


def test_a_model_upload_and_a_512_image_upload_predict_the_whole_image(tmp_path):
    need_browser()
    model_file, image_file = tmp_path / "my_unet.keras", tmp_path / "slice512.png"
    small_open_unet_file(model_file)
    slice_png(image_file)
    with running_app() as url, browser_page(1280, 1000) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_page(page, url, "inspector", "Look inside", timeout=90_000)
        main = page.get_by_test_id("stMainBlockContainer")

        main.get_by_text("Upload a .keras file", exact=True).click()
        uploader = main.get_by_test_id("stFileUploader").filter(has_text="A Keras 3 model")
        uploader.wait_for(timeout=60_000)
        uploader.locator("input[type=file]").set_input_files(str(model_file))
        main.get_by_text("Input from", exact=True).wait_for(timeout=90_000)
        wait_idle(page, timeout=90_000)
        assert page.get_by_test_id("stException").count() == 0

        main.get_by_text("Image file (full size)", exact=True).click()
        images = main.get_by_test_id("stFileUploader").filter(has_text="An image, used at its own size")
        images.wait_for(timeout=60_000)
        images.locator("input[type=file]").set_input_files(str(image_file))
        main.get_by_text(f"slice512.png: {SIZE}x{SIZE} pixels, used at full size").wait_for(timeout=120_000)
        out = main.locator(".js-plotly-plot").filter(has_text="Output: click a pixel")
        out.wait_for(timeout=120_000)
        wait_idle(page, timeout=120_000)

        figure = out.evaluate(FIGURE)
        assert figure["meta"] is not None, figure
        assert figure["meta"]["shape"] == [SIZE, SIZE], figure  # the prediction's own size
        step = figure["meta"]["step"]
        if step > 1:  # shown every step-th pixel, and the title says so
            assert f"1 pixel in {step} shown" in figure["title"], figure
        assert main.get_by_text(f"The prediction covers the whole {SIZE}x{SIZE} image",
                                exact=False).count() == 1
        # The input chart is the whole uploaded image, too.
        shown_in = main.locator(".js-plotly-plot").filter(has_text="Input").first.evaluate(FIGURE)
        assert shown_in["meta"]["shape"] == [SIZE, SIZE], shown_in
        assert main.get_by_test_id("stAlertContentError").count() == 0
        assert page.get_by_test_id("stException").count() == 0
        assert not errors, errors
