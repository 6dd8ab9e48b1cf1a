"""Shareable links: a page's settings live in the URL, so a link opens the same view.

A page lists the widgets worth sharing once, near its top::

    share_view("pooling", [integer("pooling_pool_size", 2, 1, 4), flag("pooling_play")],
               image=ImageLink(extras=[EXAMPLE], default_sample=EXAMPLE))

When the URL holds values this session has not written lately (someone opened a link), they
are checked and copied into the widgets' session-state keys before the widgets are drawn; a
bad value falls back to the default with a warning. Then the current values are written to
``st.query_params``. Widget changes reach session state before the rerun starts, so writing at
the top keeps the address bar in step with every click. (A value the page itself changes later
in the run, such as a step clamped to a smaller total, shows on the next run.) Values equal to
their default are left out, to keep links short.

The shared input image (``st.session_state["image_input"]``, see ``pages/_input.py``) travels
as ``sample`` and ``size``; a drawing or an upload cannot travel in a link.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import streamlit as st

from unetviz.samples import SAMPLES

MEMO = "_share_{page}"  # what this session last wrote to the URL for a page, newest last
RECENT = 4  # a rerun can start before the browser shows the last write: its URL is still ours


@dataclass(frozen=True)
class Param:
    """One shared widget: its session-state key, default and how it reads and writes text."""

    key: str
    default: Any
    parse: Callable[[list[str]], Any]  # the URL's values -> the widget value; ValueError if bad
    text: Callable[[Any], list[str]]  # the widget value -> the URL's values
    allowed: str  # what a link may hold, for the warning


@dataclass(frozen=True)
class ImageLink:
    """The page's ``image_input`` settings: its extra samples, default sample and size range."""

    extras: Sequence[str] = ()
    default_sample: str | None = None
    min_size: int = 5
    max_size: int = 64
    samples: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "samples", (*self.extras, *SAMPLES))


def _one(values: list[str]) -> str:
    return values[-1] if values else ""


def integer(key: str, default: int, lo: int, hi: int) -> Param:
    """A slider or number input holding a whole number in ``lo..hi``."""
    def parse(values: list[str]) -> int:
        n = int(_one(values))
        if not lo <= n <= hi:
            raise ValueError
        return n
    return Param(key, default, parse, lambda v: [str(int(v))], f"a whole number from {lo} to {hi}")


def number(key: str, default: float, lo: float, hi: float) -> Param:
    """A slider or number input holding a decimal number in ``lo..hi``."""
    def parse(values: list[str]) -> float:
        x = float(_one(values))
        if not lo <= x <= hi:  # also refuses nan
            raise ValueError
        return x
    return Param(key, default, parse, lambda v: [f"{float(v):g}"], f"a number from {lo:g} to {hi:g}")


def choice(key: str, default: Any, options: Sequence[Any]) -> Param:
    """A radio, selectbox or select_slider: the URL holds the option's text."""
    by_text = {str(o): o for o in options}

    def parse(values: list[str]) -> Any:
        return by_text[_one(values)]  # KeyError for an unknown option
    return Param(key, default, parse, lambda v: [str(v)], "one of " + ", ".join(by_text))


def choices(key: str, default: Sequence[str], options: Sequence[str]) -> Param:
    """A multiselect: the URL repeats the parameter once per chosen option (none: one empty value)."""
    def parse(values: list[str]) -> list[str]:
        chosen = [v for v in values if v]
        if any(v not in options for v in chosen) or len(set(chosen)) != len(chosen):
            raise ValueError
        return chosen
    return Param(key, list(default), parse, lambda v: list(v) or [""],
                 "some of " + ", ".join(options))


def flag(key: str, default: bool = False) -> Param:
    """A toggle or checkbox: ``true`` or ``false`` in the URL."""
    def parse(values: list[str]) -> bool:
        return {"true": True, "1": True, "false": False, "0": False}[_one(values).lower()]
    return Param(key, default, parse, lambda v: ["true" if v else "false"], "true or false")


def _name(page: str, key: str) -> str:
    """The URL name of a widget key: the key without its page prefix."""
    return key.removeprefix(f"{page}_")


def _image_params(page: str, image: ImageLink) -> dict[str, Param]:
    return {"sample": choice(f"{page}_sample", None, image.samples),
            "size": integer(f"{page}_size", None, image.min_size, image.max_size)}


def _input():
    """``pages._input``, imported late: its drawing canvas can only load inside a running app."""
    from pages import _input

    return _input


def _restore(page: str, params: dict[str, Param], image: ImageLink | None, store: str | None,
             incoming: dict[str, list[str]]) -> list[str]:
    """Copy the URL's valid values into session state; return a line for each bad one."""
    bad = []
    for name, values in incoming.items():
        p = params[name]
        try:
            value = p.parse(values)
        except (ValueError, KeyError):
            shown = re.sub(r"[`\s]+", " ", ", ".join(values))  # inert inside a code span
            bad.append(f"`{name}={shown[:40]}`" + (f" (it must be {p.allowed})" if len(shown) < 40 else ""))
            value = p.default
        if image is not None and name in ("sample", "size"):
            if value is not None:
                s = _input()._state(image.default_sample)
                if name == "sample":
                    s["source"], s["sample"] = "Sample", value
                    st.session_state[f"{page}_source"] = "Sample"
                else:
                    s["size"], s["size_set"] = value, True
                st.session_state[p.key] = value
            continue
        if value is not None:  # a bad value of a widget whose default follows the page: leave it
            st.session_state[p.key] = value
            if store is not None and store in st.session_state:
                st.session_state[store][p.key] = value
    return bad


def _current(params: dict[str, Param], image: ImageLink | None, store: str | None) -> dict[str, list[str]]:
    """The URL for the current settings: non-default widget values and the input image."""
    out = {}
    values = st.session_state.get(store, st.session_state) if store else st.session_state
    for name, p in params.items():
        if image is not None and name in ("sample", "size"):
            continue
        value = values.get(p.key, p.default)
        if value != p.default:
            out[name] = p.text(value)
    s = st.session_state.get(_input().STATE) if image is not None else None
    if s is not None:
        if s["source"] == "Sample" and s["sample"] in image.samples:
            out["sample"] = [s["sample"]]
        out["size"] = [str(int(min(max(s["size"], image.min_size), image.max_size)))]
    return out


def share_view(page: str, params: Sequence[Param] = (), *, image: ImageLink | None = None,
               store: str | None = None) -> None:
    """Load the page's settings from the URL when it holds new ones, then write them back.

    Call it after ``st.title`` and before the widgets it lists. It shows a warning for each
    bad value in the URL and a "Share this view" button with the link.

    Parameters
    ----------
    page : str
        The page's widget-key prefix, such as ``"pooling"``.
    params : sequence of Param
        The widgets to share, made with `integer`, `number`, `choice`, `choices` or `flag`.
        Their URL names are their keys without the ``page_`` prefix.
    image : ImageLink, optional
        Share the page's ``image_input`` sample and grid size too.
    store : str, optional
        For a page that keeps its widget values in a dict ``st.session_state[store]`` (keyed by
        widget key) and copies them into the widgets every run: read and write that dict too.

    Examples
    --------
    >>> share_view("skips", [integer("skips_channels", 3, 1, 5)], image=ImageLink())  # doctest: +SKIP
    """
    spec = {_name(page, p.key): p for p in params}
    if image is not None:
        spec.update(_image_params(page, image))
    recent = st.session_state.setdefault(MEMO.format(page=page), [])
    incoming = {name: st.query_params.get_all(name) for name in spec if name in st.query_params}
    bad = []
    if incoming and incoming not in recent:
        bad = _restore(page, spec, image, store, incoming)
    current = _current(spec, image, store)
    if current != {k: st.query_params.get_all(k) for k in st.query_params}:
        st.query_params.from_dict(current)
    if current not in recent:
        recent[:] = [*recent[1 - RECENT:], current]
    if bad:
        st.warning("This link had settings the page cannot use, so their defaults are shown "
                   "instead: " + "; ".join(bad) + ".", icon=":material/link_off:")
    _share_button(current, image is not None)


def _share_button(current: dict[str, list[str]], has_image: bool) -> None:
    query = urlencode(current, doseq=True)
    url = (st.context.url or "") + (f"?{query}" if query else "")
    with st.popover("Share this view", icon=":material/link:"):
        st.markdown("The address bar always holds a link to what you see: send this one to open "
                    "the page with the same settings.")
        st.code(url or "(this page's address, with no settings changed)", language=None,
                wrap_lines=True)
        if has_image:
            st.caption("The link carries the sample image and the grid size. A drawing or an "
                       "upload cannot travel in a link; it opens with a sample instead.")
