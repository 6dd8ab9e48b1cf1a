"""AppTests for shareable links: pages open with the URL's settings and write theirs back."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from apptest_support import page_text
from browser_support import browser_page, need_browser, running_app, wait_idle
from pages._share import choice, choices, flag, integer, number
from unetviz.channels import EXAMPLE_FILTERS


def open_with(page: str, **params) -> AppTest:
    """Open ``page`` as a link with these query parameters would."""
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.query_params.update(params)
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def link(at: AppTest) -> str:
    """The link the "Share this view" popover shows."""
    (code,) = [c for c in at.code]
    return code.value


def test_pooling_opens_with_the_links_settings():
    at = open_with("pages/pooling.py", pool_size="3", pool_stride="3", step="2",
                   tfilter="2x2 uneven [[1, 2], [3, 4]]", t_step="2")
    assert at.slider(key="pooling_pool_size").value == 3
    assert at.slider(key="pooling_pool_stride").value == 3
    assert at.slider(key="pooling_step").value == 2
    # 3x3 windows with stride 3 on the worked 6x6: 4 windows, the second at columns 3-5.
    assert "Window 2 of 4 (rows 0-2, columns 3-5)" in page_text(at)
    assert at.selectbox(key="pooling_tfilter").value == "2x2 uneven [[1, 2], [3, 4]]"
    assert "added** at rows 0-1, columns 2-3" in page_text(at)  # scatter step 2 of the 2x2 filter
    assert not at.warning


def test_changing_a_widget_updates_the_url():
    at = open_with("pages/pooling.py")
    at.slider(key="pooling_pool_size").set_value(3).run()
    assert at.query_params["pool_size"] == "3"
    at.button(key="pooling_step_next").click().run()
    assert at.query_params["step"] == "2"
    assert "pool_size=3" in link(at) and "step=2" in link(at)
    at.toggle(key="pooling_play").set_value(True).run()
    assert at.query_params["play"] == "true"
    at.toggle(key="pooling_play").set_value(False).run()
    assert "play" not in at.query_params  # back to its default: left out of the link
    assert at.query_params["sample"] == "worked example 6x6" and at.query_params["size"] == "16"


def test_the_image_settings_travel_in_the_link():
    at = open_with("pages/skips.py", sample="checkerboard", size="16", channels="1", pool="average")
    assert at.session_state["image_input"]["sample"] == "checkerboard"
    assert at.selectbox(key="skips_sample").value == "checkerboard"
    assert at.slider(key="skips_size").value == 16
    assert at.radio(key="skips_pool").value == "average"
    without, with_skip = re.search(r"mean error of \*\*([\d.]+)\*\*.*reaches \*\*([\d.]+)\*\*",
                                   page_text(at)).groups()
    assert float(without) > 0.45 and float(with_skip) == 0.0  # the hand-worked checkerboard case
    at.slider(key="skips_size").set_value(8).run()
    assert at.query_params["size"] == "8" and at.query_params["sample"] == "checkerboard"


def test_a_drawing_does_not_travel_but_the_grid_size_does():
    at = open_with("pages/skips.py")
    at.radio(key="skips_source").set_value("Draw").run()
    at.slider(key="skips_size").set_value(12).run()
    assert "sample" not in at.query_params and at.query_params["size"] == "12"


def test_channels_multiselect_and_dependent_sliders():
    at = open_with("pages/channels.py", filters=["blur", "diagonal"], depth="3", fdepth="6", k="9")
    assert at.multiselect(key="channels_filters").value == ["blur", "diagonal"]
    assert "came out as a **9x9x2** stack" in page_text(at)
    assert at.slider(key="channels_k").value == 9
    # fdepth=6 is fine alone but deeper than depth=3: the page clamps it rather than failing.
    assert at.slider(key="channels_depth").value == 3 and at.slider(key="channels_fdepth").value == 3
    assert "fits **1** position(s) along the depth (3 - 3 + 1)" in page_text(at)
    at.multiselect(key="channels_filters").set_value(["blur"]).run()
    assert at.query_params["filters"] == "blur"


def test_bad_values_give_a_warning_and_the_default():
    at = open_with("pages/pooling.py", pool_size="99", pool_stride="two", play="maybe",
                   tfilter="<script>", sample="no such sample", unknown="1")
    (warning,) = at.warning
    for bad in ("pool_size=99", "pool_stride=two", "play=maybe", "tfilter=<script>",
                "sample=no such sample"):
        assert bad in warning.value
    assert "unknown" not in warning.value  # unknown names are ignored, not reported
    assert at.slider(key="pooling_pool_size").value == 2
    assert at.slider(key="pooling_pool_stride").value == 2
    assert at.selectbox(key="pooling_sample").value == "worked example 6x6"
    assert "Window 1 of 9" in page_text(at)
    # The URL is rewritten with what the page really shows, and the warning goes on the next run.
    assert "pool_size" not in at.query_params and "unknown" not in at.query_params
    at.slider(key="pooling_step").set_value(2).run()
    assert not at.warning and at.query_params["step"] == "2"


def test_out_of_range_values_never_raise():
    at = open_with("pages/skips.py", channels="0", size="999", pool="")
    assert len(at.warning) == 1 and "channels=0" in at.warning[0].value
    assert at.slider(key="skips_channels").value == 3 and at.radio(key="skips_pool").value == "max"
    at = open_with("pages/channels.py", filters=["blur", "blur"], c="-1", f="1e9")
    assert "filters=blur, blur" in at.warning[0].value
    assert at.multiselect(key="channels_filters").value == list(EXAMPLE_FILTERS)
    assert at.slider(key="channels_f").value == 3


def test_value_readers_refuse_what_the_widgets_cannot_take():
    assert integer("p_n", 1, 1, 5).parse(["4"]) == 4
    assert number("p_b", 0.0, -2.5, 2.5).parse(["-2.5"]) == -2.5
    assert choice("p_k", 3, range(1, 8)).parse(["7"]) == 7  # options keep their type
    assert choices("p_f", [], ["a", "b"]).parse([""]) == []  # none chosen travels as one empty value
    assert flag("p_t").parse(["TRUE"]) is True and flag("p_t").text(False) == ["false"]
    for param, values in [(integer("p_n", 1, 1, 5), ["6"]), (integer("p_n", 1, 1, 5), ["9" * 5000]),
                          (number("p_b", 0.0, -2.5, 2.5), ["nan"]), (choices("p_f", [], ["a"]), ["a", "z"]),
                          (choice("p_k", 3, range(1, 8)), ["3.0"]), (flag("p_t"), ["yes"])]:
        with pytest.raises((ValueError, KeyError)):
            param.parse(values)


def test_a_url_the_session_wrote_itself_never_undoes_a_click():
    at = open_with("pages/pooling.py")
    at.slider(key="pooling_pool_size").set_value(3).run()
    old = dict(at.query_params)
    at.slider(key="pooling_pool_size").set_value(4).run()
    # A rerun that starts before the browser shows the new address still sends the old one.
    at.query_params = dict(old)
    at.slider(key="pooling_pool_stride").set_value(1).run()
    assert at.slider(key="pooling_pool_size").value == 4 and at.query_params["pool_size"] == "4"
    at.query_params["pool_size"] = "1"  # a value this session never wrote: someone edited the link
    at.run()
    assert at.slider(key="pooling_pool_size").value == 1


@pytest.mark.browser
def test_in_a_browser_the_address_bar_is_the_link():
    need_browser()
    with running_app() as url, browser_page(1280, 900) as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/pooling?pool_size=3&pool_stride=3&step=2&sample=checkerboard&size=12")
        main = page.get_by_test_id("stMainBlockContainer")
        main.get_by_text("Window 2 of 16").wait_for(timeout=60_000)  # 12x12 in 3x3 windows
        wait_idle(page)
        main.get_by_role("button", name="Next", exact=True).first.click()
        main.get_by_text("Window 3 of 16").wait_for(timeout=30_000)
        page.wait_for_url(re.compile(r"/pooling\?.*step=3"), timeout=30_000)
        assert "pool_size=3" in page.url and "sample=checkerboard" in page.url
        main.get_by_role("button", name="Share this view").click()
        assert "step=3" in page.get_by_test_id("stCode").inner_text()
        assert page.get_by_test_id("stException").count() == 0 and not errors


def test_convolution_opens_with_the_links_settings():
    at = open_with("pages/convolution.py", stride="2", padding="1", step="3")
    assert at.slider(key="conv_stride").value == 2 and at.slider(key="conv_padding").value == 1
    # The worked 5x5 padded by 1 with stride 2: (5 - 3 + 2) / 2 + 1 = 3 per side, 9 steps.
    assert at.slider(key="conv_step").value == 3
    at.slider(key="conv_dilation").set_value(2).run()
    assert at.query_params["dilation"] == "2" and at.query_params["stride"] == "2"


def test_filters_and_builder_open_with_the_links_settings():
    at = open_with("pages/filters.py", sample="edges", size="24")
    assert at.session_state["image_input"]["sample"] == "edges"
    assert at.session_state["image_input"]["size"] == 24
    at = open_with("pages/builder.py", depth="2", first_filters="4")
    assert at.slider(key="builder_depth").value == 2
    assert at.session_state["unet_config"].filters[0] == 4
    at = open_with("pages/builder.py", depth="99")
    assert at.warning and at.slider(key="builder_depth").value == 1  # bad value: default, warned
