"""Screenshot pages of the running app in headless chromium, to look at them.

    .venv/bin/python benchmarks/screenshots.py convolution,filters 1280 1600

Arguments: comma-separated URL paths ('' or home for the home page), viewport
width, viewport height. Writes /tmp/shot_<page>_<width>.png and prints how many
exceptions each page shows.
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_support import browser_page, running_app, wait_idle  # noqa: E402

pages = [("" if p == "home" else p) for p in (sys.argv[1] if len(sys.argv) > 1 else "").split(",")]
width = int(sys.argv[2]) if len(sys.argv) > 2 else 1280
height = int(sys.argv[3]) if len(sys.argv) > 3 else 800
with running_app() as url, browser_page(width, height) as page:
    for p in pages:
        page.goto(f"{url}/{p}")
        time.sleep(2)
        wait_idle(page)
        deadline = time.time() + 30  # skeletons mean elements still on their way
        while page.locator('[data-testid="stSkeleton"]').count() and time.time() < deadline:
            time.sleep(0.5)
        wait_idle(page)
        time.sleep(2)
        out = f"/tmp/shot_{p or 'home'}_{width}.png"
        page.screenshot(path=out, full_page=True)
        print(out, "exceptions:", page.get_by_test_id("stException").count())
