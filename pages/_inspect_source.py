"""The inspector's choices: which model, which image, and which window of the image to look into.

Every failure (a model that will not load or cannot be inspected, an image that
cannot be read) becomes an ``st.error`` naming the file and what to do; the
caller gets None and stops there.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from pages._input import STATE as INPUT_STATE
from pages._input import UPLOAD_TYPES, image_input
from unetviz.data import DataError, read_isbi_folder
from unetviz.images import ImageInputError, load_image, to_grid
from unetviz.inspection import Inspector, sample_label
from unetviz.model import load_model
from unetviz.predict import accepted_size, output_offset, output_size

ROOT = Path(__file__).resolve().parent.parent
PRETRAINED = ROOT / "pretrained"
OPTIONAL = ("membrane-bn",)  # listed only when its file is there
TRAINED, UPLOAD = "Trained on the Train page", "Upload a .keras file"
GRID, FILE, ISBI = "Sample or drawing (small grid)", "Image file (full size)", "ISBI slice (full size)"
WINDOW = 512  # activations are computed for a view window of at most this side
ISBI_ENV = "UNETVIZ_ISBI_DIR"


@dataclass(frozen=True)
class Chosen:
    """The model to look inside."""

    ins: Inspector
    key: str  # names the model and its weights, for caches
    name: str  # the file (or source) named in messages
    task: str  # "membrane", "inversion" (a pretrained model's card says so) or "" (unknown)


@dataclass(frozen=True)
class Picture:
    """The whole image, in [0, 1], with the model's channels, and its label if there is one."""

    image: np.ndarray  # (H, W) or (H, W, C) float32 in [0, 1]
    label: np.ndarray | None  # (H, W) float32: 0/1 membrane label, or class indices
    key: str  # names the pixels, for caches
    name: str


@dataclass(frozen=True)
class Window:
    """The part of the image whose activations are shown: rows top..top+h, cols left..left+w."""

    top: int
    left: int
    h: int
    w: int
    out: tuple[int, int]  # the model's output size for this window
    offset: tuple[int, int]  # where output pixel (0, 0) sits in the window

    def crop(self, a: np.ndarray) -> np.ndarray:
        return a[self.top:self.top + self.h, self.left:self.left + self.w]


def shown(image: np.ndarray) -> np.ndarray:
    """What a figure can draw of an image: (H, W) grey or (H, W, 3) RGB (other channel counts
    are averaged)."""
    if image.ndim == 3 and image.shape[-1] != 3:
        return image.mean(axis=-1)
    return image


def pretrained_sources() -> dict[str, Path]:
    names = ["membrane", "membrane-bn", "inversion"]
    return {f"Pretrained: {n}": PRETRAINED / f"{n}.keras" for n in names
            if n not in OPTIONAL or (PRETRAINED / f"{n}.keras").is_file()}


def card(path: Path) -> dict:
    """The JSON model card beside a pretrained model ({} when there is none)."""
    try:
        return json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}


def task_of(path: Path) -> str:
    name = str(card(path).get("name", ""))
    return "membrane" if name.startswith("membrane") else "inversion" if name == "inversion" else ""


def digest(*parts) -> str:
    h = hashlib.blake2b(digest_size=10)
    for p in parts:
        h.update(p if isinstance(p, (bytes, memoryview)) else str(p).encode())
    return h.hexdigest()


@st.cache_resource(max_entries=4, show_spinner="Loading the model...")
def _pretrained(path: str, mtime: float) -> Inspector:
    ins = Inspector(load_model(path))  # mtime: a rewritten checkpoint is loaded again
    # Streamlit clears the Keras session after every run, with a full gc.collect() over
    # TensorFlow's millions of objects (about 0.4 s); frozen objects are skipped.
    gc.freeze()
    return ins


def choose_model() -> Chosen | None:
    """The chosen model, or None after a message saying what is missing or wrong."""
    sources = pretrained_sources()
    source = st.radio("Model", (*sources, TRAINED, UPLOAD), horizontal=True, key="inspector_model")
    if source in sources:
        return _from_file(sources[source])
    if source == UPLOAD:
        return _from_upload()
    return _from_training()


def _from_file(path: Path) -> Chosen | None:
    if not path.is_file():
        st.warning(f"{path.name} is not there yet: run `python -m unetviz.pretrain {path.stem}` "
                   "to make it, or pick another model.")
        return None
    md = path.with_suffix(".md")
    if md.is_file():
        with st.expander("Model card"):
            st.markdown(md.read_text())
    mtime = path.stat().st_mtime
    try:
        ins = _pretrained(str(path), mtime)
    except ValueError as exc:  # ModelLoadError, InspectionError
        st.error(f"{path.name}: {exc} Make it again with `python -m unetviz.pretrain {path.stem}`, "
                 "or pick another model.")
        return None
    return Chosen(ins, f"file:{path.name}:{mtime}", path.name, task_of(path))


def _from_upload() -> Chosen | None:
    # Not "inspector_upload": the image input's own uploader has that key on this page.
    up = st.file_uploader("A Keras 3 model saved with model.save('name.keras')", type=["keras"],
                          key="inspector_model_upload")
    if up is None:
        st.info("Upload a .keras file to look inside it. Only Keras' own layers are loaded; "
                "no code in the file is ever run.")
        return None
    held = st.session_state.get("inspector_uploaded")
    if held is None or held[0] != up.file_id:
        data = up.getvalue()
        try:
            ins = Inspector(load_model(data))
        except ValueError as exc:  # ModelLoadError, InspectionError
            st.error(f"{up.name}: {exc} Save the model with Keras 3's model.save('name.keras') "
                     "and upload it again, or pick another model.")
            return None
        held = (up.file_id, ins, digest(data))
        st.session_state["inspector_uploaded"] = held
    return Chosen(held[1], f"upload:{held[2]}", up.name, "")


def _from_training() -> Chosen | None:
    job = st.session_state.get("train_job")
    if job is None or not hasattr(job, "weights_copy"):
        st.info("No model has been trained in this session yet: train one on the Train page, "
                "then come back to watch its layers change over the epochs.")
        return None
    snaps = list(getattr(job, "snapshots", []) or [])
    stamp = (id(job), len(snaps), snaps[-1][0] if snaps else None)
    held = st.session_state.get("inspector_job")
    if held is None or held[0] != stamp:
        try:
            held = (stamp, Inspector(job.weights_copy()))
        except ValueError as exc:
            st.error(f"The model trained on the Train page: {exc}")
            return None
        st.session_state["inspector_job"] = held
    ins = held[1]
    st.caption(f"Training status: {getattr(job, 'status', '?')}, {getattr(job, 'epoch', 0)} epochs.")
    epoch = snaps[-1][0] if snaps else getattr(job, "epoch", 0)
    if len(snaps) > 1:
        epochs = [e for e, _ in snaps]
        epoch = st.select_slider("Weights after epoch", epochs, value=epochs[-1], key="inspector_epoch",
                                 help="Slide to watch the filters and activations change as it learned.")
        ins.set_weights(dict(snaps)[epoch])
    return Chosen(ins, f"job:{id(job)}:{len(snaps)}:{epoch}", "the model trained on the Train page", "")


# ---------------------------------------------------------------- images


@st.cache_data(max_entries=8, show_spinner=False)
def _isbi_slice(folder: str, index: int):
    d = read_isbi_folder(folder, [index])
    return d.images[0], d.labels[0]


def _channels(a: np.ndarray, c: int) -> np.ndarray:
    """An (H, W) grey image as (H, W, c) when the model takes c > 1 channels."""
    return np.repeat(a[:, :, None], c, axis=-1) if a.ndim == 2 and c > 1 else a


def choose_image(chosen: Chosen) -> Picture | None:
    """The image to predict, at its own resolution (the small grid for samples and drawings)."""
    kind = st.radio("Input from", (GRID, FILE, ISBI), horizontal=True, key="inspector_input_kind")
    if kind == FILE:
        return _from_image_file(chosen)
    if kind == ISBI:
        return _from_isbi(chosen)
    return _from_grid(chosen)


def _fixed_size(ins: Inspector) -> tuple[int, int] | None:
    h, w = ins.model.inputs[0].shape[1:3]
    return None if h is None or w is None else (int(h), int(w))


def _from_grid(chosen: Chosen) -> Picture | None:
    ins = chosen.ins
    fixed = _fixed_size(ins)
    grid = image_input("inspector", default_size=fixed[0] if fixed else 64, min_size=8, max_size=64,
                       default_sample="membrane")
    state = st.session_state.get(INPUT_STATE, {})
    invert = st.checkbox("Invert: dark lines on a light background, as membranes look in the "
                         "micrographs", value=state.get("source") == "Draw",
                         key=f"inspector_invert_{state.get('source')}")
    x = 1.0 - grid if invert else grid
    n = x.shape[0]
    size = fixed or accepted_size(ins.model, n, n, at_least=False) or (n, n)
    if size != x.shape:
        x = to_grid(x, min(size))
        st.caption(f"Resized from {n}x{n} to {x.shape[0]}x{x.shape[1]}, a size this model accepts.")
    # The sample's label marks membranes: it scores membrane models only.
    membrane = chosen.task == "membrane" and state.get("source") == "Sample"
    label = sample_label(state.get("sample"), x.shape[0]) if membrane else None
    x = _channels(x, ins.in_channels)
    return Picture(x, label, digest(x.tobytes()), "the grid")


def _from_image_file(chosen: Chosen) -> Picture | None:
    c = chosen.ins.in_channels
    c1, c2 = st.columns(2)
    up = c1.file_uploader("An image, used at its own size (PNG, JPEG, TIFF, BMP or GIF)",
                          type=UPLOAD_TYPES, key="inspector_image_upload")
    lab = c2.file_uploader("Its label (optional): class numbers as pixel values, or black/white "
                           "for two classes", type=UPLOAD_TYPES, key="inspector_label_upload")
    if up is None:
        st.info("Upload an image: it is predicted at its own resolution (up to 2048x2048 and more).")
        return None
    image = _decoded(up, 3 if c == 3 else 1)
    if image is None:
        return None
    label = _decoded(lab, 1) if lab is not None else None
    if label is not None and label.shape != image.shape[:2]:
        st.error(f"{lab.name}: the label is {label.shape[1]}x{label.shape[0]} pixels but the image "
                 f"is {image.shape[1]}x{image.shape[0]}; upload the label made for this image.")
        label = None
    image = _channels(image, c)
    st.caption(f"{up.name}: {image.shape[1]}x{image.shape[0]} pixels, used at full size.")
    return Picture(image, label, f"upload:{up.file_id}:{c}", up.name)


def _decoded(up, channels: int) -> np.ndarray | None:
    """An uploaded image decoded once per session (with ``channels``), or None after a message."""
    store = st.session_state.setdefault("inspector_decoded", {})
    key = (up.file_id, channels)
    if key not in store:
        try:
            store.clear()  # keep one decoded image (and its label) at a time
            store[key] = load_image(up.getvalue(), channels=channels)
        except ImageInputError as exc:
            st.error(f"{up.name}: {exc}")
            return None
    return store[key]


def _from_isbi(chosen: Chosen) -> Picture | None:
    c1, c2 = st.columns([3, 1])
    folder = c1.text_input("ISBI folder (train/image/N.png, train/label/N.png)",
                           os.environ.get(ISBI_ENV, ""), key="inspector_isbi_folder",
                           help=f"Set {ISBI_ENV} to fill this in.")
    index = int(c2.number_input("Slice", 0, 999, 25, key="inspector_isbi_slice"))
    if not folder:
        st.info(f"Type the folder of the ISBI 2012 data (or set {ISBI_ENV} before starting the app).")
        return None
    try:
        image, label = _isbi_slice(folder, index)
    except DataError as exc:
        st.error(f"{exc} Check the folder and the slice number.")
        return None
    return Picture(_channels(image, chosen.ins.in_channels), label if chosen.task == "membrane" else None,
                   f"isbi:{folder}:{index}", f"ISBI slice {index}")


def choose_window(chosen: Chosen, pic: Picture) -> Window | None:
    """The view window (at most :data:`WINDOW` a side) whose activations are shown."""
    model = chosen.ins.model
    h, w = pic.image.shape[:2]
    size = _fixed_size(chosen.ins) or accepted_size(model, min(h, WINDOW), min(w, WINDOW),
                                                    at_least=False)
    if size is None or size[0] > h or size[1] > w:
        want = f"takes {size[1]}x{size[0]} images" if size else "cannot take an image this small"
        st.error(f"{pic.name} is {w}x{h} pixels; this model {want}. Use a larger image, or a "
                 "model that takes this size.")
        return None
    top = left = 0
    if size != (h, w):
        st.caption(f"The layers below look at a {size[1]}x{size[0]} window of the {w}x{h} image "
                   "(the prediction above covers all of it). Move the window:")
        c1, c2 = st.columns(2)
        if h > size[0]:
            top = _slider(c1, "Window top", h - size[0], "inspector_win_top")
        if w > size[1]:
            left = _slider(c2, "Window left", w - size[1], "inspector_win_left")
    out = output_size(model, *size)
    return Window(int(top), int(left), size[0], size[1], out, output_offset(model, *size))


def _slider(where, text: str, most: int, key: str) -> int:
    """A slider over 0..most (centred at first) whose value a click elsewhere may have set."""
    st.session_state[key] = min(int(st.session_state.get(key, most // 2 // 8 * 8)), most)
    return int(where.slider(text, 0, most, step=8, key=key))
