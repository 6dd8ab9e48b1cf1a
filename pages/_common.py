"""Pieces every page shares: the tour's order and the previous/next links.

This module imports streamlit, so it lives beside the pages, not in ``unetviz``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Stop:
    path: str  # script path relative to the repository root
    title: str
    icon: str
    blurb: str  # one line for the home page's list
    section: str


TOUR = [
    Stop("pages/home.py", "What is a U-Net?", ":material/home:",
         "An image in, an image out: why U-Nets exist and the shape that names them.", "Start"),
    Stop("pages/convolution.py", "Convolution", ":material/grid_on:",
         "Slide a filter over your own drawing, one window at a time: padding, stride, bias, "
         "activation.", "Operations"),
    Stop("pages/filters.py", "Filters", ":material/filter_b_and_w:",
         "Edge detectors on real images: why red, why blue, why zero.", "Operations"),
    Stop("pages/channels.py", "Channels", ":material/layers:",
         "Many filters stack into channels; multi-channel filters sum them.", "Operations"),
    Stop("pages/pooling.py", "Pooling & up-sampling", ":material/zoom_out_map:",
         "Shrink with max or average pooling, grow back with up-sampling.", "Operations"),
    Stop("pages/skips.py", "Skip connections", ":material/merge:",
         "Concatenate the encoder's detail into the decoder.", "Operations"),
    Stop("pages/builder.py", "Build a U-Net", ":material/construction:",
         "Sliders for depth, filters and kernels; the layer table and the U update live.",
         "Models"),
    Stop("pages/train.py", "Train", ":material/model_training:",
         "Train it in your browser on a toy task, generated cells or real EM membranes.",
         "Models"),
    Stop("pages/inspector.py", "Look inside", ":material/visibility:",
         "Every layer's filters and activations, for your model or the pretrained one.",
         "Models"),
]


def stop_for(path: str) -> Stop:
    return next(s for s in TOUR if s.path == path)


def tour_nav(current: str) -> None:
    """Previous / next links at the foot of a page."""
    i = [s.path for s in TOUR].index(current)
    st.divider()
    st.caption(f"Step {i + 1} of {len(TOUR)} in the tour")
    left, right = st.columns(2)
    if i > 0:
        prev = TOUR[i - 1]
        left.page_link(prev.path, label=f"Back: {prev.title}", icon=":material/arrow_back:")
    if i + 1 < len(TOUR):
        nxt = TOUR[i + 1]
        right.page_link(nxt.path, label=f"Next: {nxt.title}", icon=":material/arrow_forward:")


def _leave_pages_directory_mode() -> None:
    """Make a direct link such as ``/pooling`` open the app, not a bare page.

    Streamlit starts in its old "pages directory" mode whenever a ``pages/``
    folder sits beside the entry script, and stays in it until some run calls
    ``st.navigation``. A first visit straight to ``/pooling`` would then run
    that page alone, with an automatic sidebar and without ``app.py``. Leaving
    the mode and re-running hands the visit to ``app.py``'s navigation, which
    opens the same page.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def _keep_keras_session_while_training() -> None:
    """Stop Streamlit from resetting Keras under a model that is training.

    After every script run, fragment re-runs included, Streamlit calls
    ``keras.backend.clear_session()``, which resets TensorFlow's state under a
    ``fit`` running in a background thread and all but stops it. The clean-up
    is skipped while a job in this process is queued or training. Installed
    once per process, from whichever page runs first.
    """
    from streamlit.runtime.scriptrunner import script_runner

    original = script_runner._clean_problem_modules
    if getattr(original, "unetviz", False):
        return

    def clean() -> None:
        training = sys.modules.get("unetviz.training")  # not loaded: nothing can be training
        if training is None or not training.any_training():
            original()

    clean.unetviz = True
    script_runner._clean_problem_modules = clean


_keep_keras_session_while_training()
_leave_pages_directory_mode()
