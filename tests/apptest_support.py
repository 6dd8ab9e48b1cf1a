"""Helpers shared by the AppTests: open a page of the app, read what it shows."""

from __future__ import annotations

import base64
import json

import numpy as np
from streamlit.testing.v1 import AppTest


def open_page(path: str | None = None, *, timeout: float = 60) -> AppTest:
    """Run the app, switch to ``path`` (e.g. ``"pages/pooling.py"``), and check it raised nothing."""
    at = AppTest.from_file("../app.py", default_timeout=timeout)
    at.run()
    if path is not None:
        at.switch_page(path).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_text(at: AppTest) -> str:
    """The page's markdown and formulas as one string."""
    return " ".join(m.value for m in at.markdown) + " ".join(x.value for x in at.latex)


def chart_maps(at: AppTest, key: str) -> list[np.ndarray]:
    """The float32 z arrays of the heatmaps of the Plotly chart whose key contains ``key``."""
    (el,) = [e for e in at.get("plotly_chart") if key in e.proto.id]
    out = []
    for trace in json.loads(el.proto.spec)["data"]:
        z = trace["z"]
        shape = tuple(int(n) for n in str(z["shape"]).split(","))
        out.append(np.frombuffer(base64.b64decode(z["bdata"]), dtype=np.float32).reshape(shape))
    return out
