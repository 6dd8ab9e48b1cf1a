"""Real-browser test: a stroke drawn on the canvas changes the convolution's output."""

import re
import time

import pytest

from browser_support import browser_page, need_browser, open_page, running_app, wait_idle

pytestmark = pytest.mark.browser


def output_caption(main) -> str:
    return main.get_by_text(re.compile(r"^Output map: ")).first.inner_text()


def test_drawing_a_stroke_changes_the_convolution_output():
    need_browser()
    with running_app() as url, browser_page() as page:
        open_page(page, url, "convolution", "Convolution")
        main = page.get_by_test_id("stMainBlockContainer")
        main.get_by_text("Draw", exact=True).first.click()
        main.get_by_text("Nothing drawn yet").first.wait_for(timeout=60_000)
        wait_idle(page)
        before = output_caption(main)
        assert "values from 0 to 0." in before  # a blank image gives a blank output

        canvas = page.locator("canvas.upper-canvas").first
        canvas.wait_for(timeout=30_000)
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        x0, y = box["x"] + 0.2 * box["width"], box["y"] + 0.5 * box["height"]
        page.mouse.move(x0, y)
        page.mouse.down()
        for i in range(1, 21):
            page.mouse.move(x0 + i * 0.03 * box["width"], y, steps=2)
        page.mouse.up()

        deadline = time.time() + 60
        after = before
        while after == before and time.time() < deadline:
            time.sleep(0.5)
            wait_idle(page)
            after = output_caption(main)
        assert after != before, after
        assert "values from 0 to 0." not in after
        assert main.get_by_text("Nothing drawn yet").count() == 0
        assert page.get_by_test_id("stException").count() == 0
