"""AppTest for every page: each runs, and shows what it should."""

import pytest
from streamlit.testing.v1 import AppTest

from pages._common import TOUR


def app() -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    return at


def goto(path: str) -> AppTest:
    at = app()
    at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_home_explains_and_links_every_page():
    at = app()
    assert not at.exception
    assert at.title[0].value == "What is a U-Net?"
    text = " ".join(m.value for m in at.markdown)
    assert "encoder" in text and "decoder" in text and "skip connection" in text
    assert "348 learnable numbers" in text  # comes from layer_specs, not typed in


@pytest.mark.parametrize("stop", TOUR, ids=[s.path for s in TOUR])
def test_every_page_runs_with_a_title(stop):
    at = goto(stop.path)
    assert at.title[0].value == stop.title
