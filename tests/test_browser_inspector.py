"""Real-browser test: the inspector draws the membrane model's activation heatmaps, and a click on
one picks the pixel whose receptive field is shown."""

from pathlib import Path

import pytest

from browser_support import browser_page, need_browser, open_page, running_app, wait_idle

pytestmark = pytest.mark.browser
MEMBRANE = Path(__file__).resolve().parent.parent / "pretrained" / "membrane.keras"


def number(page, label: str) -> str:
    return page.get_by_label(label, exact=True).input_value()


def test_inspector_draws_activation_heatmaps_and_clicks_pick_a_pixel():
    need_browser()
    assert MEMBRANE.is_file(), "pretrained/membrane.keras ships with the app"
    with running_app() as url, browser_page(1280, 1000) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        open_page(page, url, "inspector", "Look inside", timeout=90_000)
        main = page.get_by_test_id("stMainBlockContainer")
        acts = main.locator(".js-plotly-plot").filter(has_text="enc1_conv1: channels 0 to 15 of 16")
        acts.wait_for(timeout=60_000)
        # input, output, errors, U, activations...: the charts draw one after another.
        page.wait_for_function("() => document.querySelectorAll("
                               "'[data-testid=stMainBlockContainer] .js-plotly-plot').length >= 7 && "
                               "document.querySelectorAll("
                               "'[data-testid=stMainBlockContainer] .heatmaplayer .hm').length >= 6",
                               timeout=60_000)
        assert acts.locator(".heatmaplayer .hm image").count() == 1  # 16 channels, one trace
        assert acts.locator(".modebar-btn[data-title='Download plot as a PNG']").count() == 1
        assert page.get_by_test_id("stException").count() == 0

        # Click the picker map (enc1_conv1, channel 0, 64x64) a quarter of the way in.
        assert (number(page, "Row"), number(page, "Column")) == ("32", "32")
        pick = main.locator(".js-plotly-plot").filter(has_text="enc1_conv1 ch 0: click")
        pick.scroll_into_view_if_needed()
        box = pick.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
        page.wait_for_function("() => [...document.querySelectorAll('input')].some("
                               "i => i.getAttribute('aria-label') === 'Row' && i.value !== '32')",
                               timeout=30_000)
        wait_idle(page)
        row, col = int(number(page, "Row")), int(number(page, "Column"))
        assert row > 40 and col < 24, (row, col)  # the lower left of the map

        # A click on the output map switches the layer to the output.
        out = main.locator(".js-plotly-plot").filter(has_text="Output: click a pixel")
        out.scroll_into_view_if_needed()
        box = out.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
        page.mouse.click(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
        main.get_by_text("of out (click", exact=False).wait_for(timeout=30_000)
        wait_idle(page)
        assert int(number(page, "Row")) < 32 and int(number(page, "Column")) < 32

        # With "Drag: pick a region" chosen, a box dragged on the output becomes the region.
        main.get_by_text("Drag: pick a region", exact=True).click()
        out = main.locator(".js-plotly-plot").filter(has_text="Output: drag a box")
        out.wait_for(timeout=30_000)
        wait_idle(page)
        box = out.locator(".nsewdrag").first.bounding_box()
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
        page.mouse.down()
        for i in range(1, 11):  # to the lower right corner, in steps Plotly sees as a drag
            page.mouse.move(box["x"] + box["width"] * (0.5 + 0.04 * i),
                            box["y"] + box["height"] * (0.5 + 0.04 * i))
        page.mouse.up()
        page.wait_for_function("() => [...document.querySelectorAll('input')].some("
                               "i => i.getAttribute('aria-label') === 'Top row' && +i.value >= 28)",
                               timeout=30_000)
        wait_idle(page)
        assert int(number(page, "Top row")) >= 28 and int(number(page, "Bottom row (excluded)")) > 50
        assert int(number(page, "Left column")) >= 28
        assert page.get_by_test_id("stException").count() == 0
        assert not errors, errors


def test_clicking_a_box_of_the_u_picks_that_layer():
    need_browser()
    assert MEMBRANE.is_file(), "pretrained/membrane.keras ships with the app"
    with running_app() as url, browser_page(1280, 1000) as page:
        open_page(page, url, "inspector", "Look inside", timeout=90_000)
        main = page.get_by_test_id("stMainBlockContainer")
        u = main.locator(".js-plotly-plot").filter(has_text="skip: copy enc1_conv2")
        u.scroll_into_view_if_needed()
        # The hover markers sit at the centres of the boxes; the bottleneck is the lowest row.
        points = u.locator(".scatterlayer path.point")
        boxes = [points.nth(i).bounding_box() for i in range(points.count())]
        lowest = max(boxes, key=lambda b: b["y"])
        page.mouse.move(lowest["x"] + lowest["width"] / 2, lowest["y"] + lowest["height"] / 2)
        page.mouse.click(lowest["x"] + lowest["width"] / 2, lowest["y"] + lowest["height"] / 2)
        main.locator(".js-plotly-plot").filter(has_text="of 64, 8x8 each").wait_for(timeout=30_000)
        wait_idle(page)
        assert page.get_by_test_id("stException").count() == 0
