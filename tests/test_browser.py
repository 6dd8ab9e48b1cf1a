"""Real-browser test: the app starts, and every page opens with no exception."""

import pytest

from browser_support import browser_page, need_browser, open_page, running_app
from pages._common import TOUR

pytestmark = pytest.mark.browser


def url_path(stop) -> str:
    """The URL path Streamlit gives a page: its file name, '' for the default page."""
    return "" if stop is TOUR[0] else stop.path.removeprefix("pages/").removesuffix(".py")


def test_every_page_opens_without_exception():
    need_browser()
    with running_app() as url, browser_page() as page:
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        for stop in TOUR:
            open_page(page, url, url_path(stop), stop.title)
            assert page.get_by_test_id("stException").count() == 0, stop.path
        assert not errors, errors


def test_a_direct_link_opens_the_app_not_a_bare_page():
    """A shared link straight to a page gets the app's navigation and layout."""
    need_browser()
    with running_app() as url, browser_page() as page:
        open_page(page, url, "pooling", "Pooling & up-sampling")
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        assert "What is a U-Net?" in nav and "Look inside" in nav
        assert "common" not in nav.split()
