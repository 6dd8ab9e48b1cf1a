"""Train: fit the builder's U-Net live, in a background thread that survives page switches."""

import os

import streamlit as st

from pages._common import tour_nav
from unetviz import data as D
from unetviz.config import PRESETS, UNetConfigError, count_params
from unetviz.figures import matrix_heatmap
from unetviz.losses import LOSS_LABELS, LOSSES
from unetviz.model import ModelLoadError, load_model, model_to_bytes
from unetviz.training import TrainingJob, TrainSettings, curves_figure, device_info

st.title("Train")
st.markdown(
    "Training shows the network an input, compares its output with the target, and nudges "
    "every weight a little in the direction that shrinks the difference. One pass over all the "
    "training images is an **epoch**. The *loss* measures the difference; with mean squared "
    "error it is the average squared gap per pixel:")
st.latex(r"L = \frac{1}{N}\sum_{i=1}^{N} (y_i - \hat y_i)^2")
st.markdown("Watch the **validation** curve too: it scores images the network never trains on, "
            "so it tells you whether the network learned the task or memorised the examples.")

SOURCES = {"toy": "Toy inversion (8x8)", "membranes": "Generated membranes",
           "isbi": "ISBI 2012 folder", "zip": "Your zip of pairs"}
DEFAULTS = {"toy": (5e-4, 100, 32), "membranes": (1e-3, 10, 32), "isbi": (1e-4, 2, 100),
            "zip": (1e-3, 10, 16)}  # learning rate, epochs, batch size
RATES = [1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2]
ISBI_ENV = "UNETVIZ_ISBI_DIR"  # the folder the ISBI option starts with; the product ships no data


@st.cache_resource(max_entries=3, show_spinner="Preparing the data...")
def prepare(source: str, tile: int, n: int, path: str, max_tiles: int, upload: bytes | None):
    if source == "toy":
        return D.toy_data(n=n, size=tile)
    if source == "membranes":
        return D.membrane_data(n=n, size=tile)
    if source == "isbi":
        return D.isbi_data(path, tile=tile, max_tiles=max_tiles)
    return D.zip_data(upload, tile=tile)


job: TrainingJob | None = st.session_state.get("train_job")
dev = st.cache_resource(device_info)()
st.subheader("1. Data")
source = st.radio("Data", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="train_source",
                  label_visibility="collapsed")
config = st.session_state.get("unet_config") or PRESETS["seed-simple" if source == "toy" else "seed-membrane"]
tile = config.input_size or (8 if source == "toy" else 64)
n, path, max_tiles, upload = 0, "", 0, None
if source == "toy":
    st.caption("Random black-and-white images; the target is each image inverted (black <-> white).")
    n = st.slider("Training images", 20, 500, 100, 10, key="train_toy_n")
elif source == "membranes":
    st.caption("Cell-like images drawn by our own code, with exact masks: 0 = membrane, 1 = cell.")
    n = st.slider("Training images", 20, 1000, 200, 20, key="train_membranes_n")
elif source == "isbi":
    st.caption("Each 512x512 slice is cut into tiles, and each tile also rotated by 90, 180 and 270 "
               "degrees, transposed and flipped both ways (7 per tile). Slices 25-29 are held out "
               "whole for validation.")
    path = st.text_input("Folder (PNG pairs in train/image and train/label, or train-volume.tif "
                         "with train-labels.tif)", os.environ.get(ISBI_ENV, ""), key="train_isbi_path",
                         help=f"Set {ISBI_ENV} to fill this in.")
    max_tiles = st.number_input("Use at most this many training tiles (0 = all)", 0, 20_000,
                                2000, 500, key="train_isbi_max",
                                help="All tiles take several minutes per epoch on a CPU.")
else:
    up = st.file_uploader("A zip with images/NAME.png and masks/NAME.png (white = object, black = "
                          "boundary)", type=["zip"], key="train_zip")
    upload = up.getvalue() if up is not None else None
data = None
if tile < 16 and source != "toy":
    st.warning(f"The model from the builder takes {tile}x{tile} images, too small for membranes. "
               "Pick the seed-membrane preset on the *Build a U-Net* page.")
elif source != "zip" or upload is not None:
    try:
        data = prepare(source, tile, n, path, int(max_tiles), upload)
    except (D.DataError, ValueError) as exc:
        st.error(str(exc))
if data is not None:
    st.info(data.describe())

st.subheader("2. Settings")
rate0, epochs0, batch0 = DEFAULTS[source]
c = st.columns([2, 3])
lr = c[0].select_slider("Learning rate", RATES, rate0, key=f"train_lr_{source}",
                        format_func=lambda v: f"{v:g}", help="Adam's step size.")
loss = c[1].selectbox("Loss", LOSSES, format_func=LOSS_LABELS.get, key=f"train_loss_{source}")
c = st.columns(3)
epochs = c[0].number_input("Epochs", 1, 5000, epochs0, key=f"train_epochs_{source}")
batch = c[1].number_input("Batch size", 1, 512, batch0, key=f"train_batch_{source}")
seed = c[2].number_input("Random seed", 0, 10_000, 0, key=f"train_seed_{source}")
origin = ("from the *Build a U-Net* page" if "unet_config" in st.session_state
          else "the tutorial's model; build your own on the *Build a U-Net* page")
st.caption(f"Model: **{config.name}** ({count_params(config):,} parameters, {tile}x{tile} input), "
           f"{origin}. Runs on **{dev['device']}** with the Keras **{dev['backend']}** backend.")


def session_alive():
    """A check, safe from any thread, that this browser session is still connected."""
    from streamlit import runtime
    from streamlit.runtime import get_instance
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():  # bare mode (AppTest): no session to watch
        return None
    session_id, runtime = ctx.session_id, get_instance()
    return lambda: runtime.is_active_session(session_id)


def new_job(weights=None) -> None:
    old = st.session_state.pop("train_job", None)
    if old is not None:
        old.stop()
    try:
        settings = TrainSettings(learning_rate=lr, loss=loss, epochs=int(epochs), batch_size=int(batch),
                                 seed=int(seed))
        new = TrainingJob(config, data, settings, initial_weights=weights,
                          owner_alive=session_alive())
    except (UNetConfigError, ValueError) as exc:
        st.session_state["train_error"] = str(exc)
        return
    new.start()
    st.session_state["train_job"] = new


st.subheader("3. Train")
active = job is not None and job.is_active
b = st.columns(4)
if b[0].button("Start", type="primary", disabled=data is None or active, key="train_start",
               icon=":material/play_arrow:", width="stretch"):
    new_job()
    st.rerun()
if b[1].button("Stop", disabled=not active, key="train_stop", icon=":material/stop:",
               width="stretch"):
    job.stop()
    job.join(30)
    st.rerun()
if b[2].button("Continue", disabled=job is None or active, key="train_continue",
               icon=":material/fast_forward:", width="stretch",
               help=f"Train {int(epochs)} more epochs on the same weights, as the tutorial does."):
    job.start(int(epochs))
    st.rerun()
if b[3].button("Reset", disabled=job is None, key="train_reset", icon=":material/restart_alt:",
               width="stretch"):
    st.session_state.pop("train_job").stop()
    st.rerun()
st.caption("**Start** trains a fresh model with these settings. **Continue** trains the same "
           "weights for the number of epochs above. **Reset** throws the run away.")
if "train_error" in st.session_state:
    st.error(st.session_state.pop("train_error"))


@st.fragment(run_every=1.0 if active else None)
def live_view() -> None:
    j: TrainingJob | None = st.session_state.get("train_job")
    if j is None:
        st.caption("Press **Start** to train. Training goes on if you visit other pages.")
        return
    p = j.progress()
    speed = (f"{p['images_per_s']:,.0f} images/s" if p["images_per_s"]
             else "Keras is compiling the model for its first batches")
    left = f", about {p['seconds_left']:,.0f} s left" if p["seconds_left"] else ""
    label = {"queued": f"Waiting for a free slot (place {j.queue_position} in the queue)",
             "running": f"Training: epoch {min(p['epoch'] + 1, p['target_epoch'])} of "
                        f"{p['target_epoch']}, {speed}{left}",
             "stopped": f"Stopped after epoch {p['epoch']}.", "done": f"Done: {p['epoch']} epochs.",
             "error": "Training failed.", "idle": "Not started."}[p["status"]]
    st.progress(p["fraction"], text=label)
    if j.error:
        st.error(j.error)
    st.caption(f"{j.data.describe()} Training {j.config.name}; Adam {j.settings.learning_rate:g}, "
               f"{LOSS_LABELS[j.settings.loss].lower()}, batch {j.settings.batch_size}.")
    hist = list(j.history)
    if hist:
        last = hist[-1]
        cols = st.columns(2 if "membrane_dice" not in last else 3)
        for col, metric in zip(cols, ("loss", "pixel_accuracy", "membrane_dice")):
            col.plotly_chart(curves_figure(hist, metric, height=280), key=f"train_curve_{metric}")
        st.markdown(f"Epoch {last['epoch']}: training loss **{last['loss']:.4f}**, validation "
                    f"loss **{last.get('val_loss', float('nan')):.4f}**.")
    epoch, pred = j.preview
    x, y = j.data.x_val[0, :, :, 0], j.data.y_val[0, :, :, 0]
    st.markdown(f"**A validation image** (never trained on), and the prediction after epoch {epoch}:")
    cols = st.columns(3)
    panels = ((x, "Input", True), (y, "Target", True), (pred, f"Prediction, epoch {epoch}", False))
    for col, (arr, name, digits) in zip(cols, panels):
        col.plotly_chart(matrix_heatmap(arr, title=name, zmin=0, zmax=1, height=260,
                                        show_values=digits and arr.shape[0] <= 8),
                         key=f"train_preview_{name[:5]}")
    st.caption("Black is 0, white is 1. Hover over the prediction for its exact values: the closer "
               "to the target's 0s and 1s, the better.")
    if active and not j.is_active:
        st.rerun()


live_view()

st.subheader("4. Save or load the model")
s1, s2 = st.columns(2)
if job is not None and job.epoch > 0 and not active:
    s1.download_button("Download the trained model (.keras)", lambda: model_to_bytes(job.weights_copy()),
                       file_name=f"{job.config.name}_epoch{job.epoch}.keras", key="train_download",
                       icon=":material/download:")
else:
    s1.caption("The download appears here once some training is finished and stopped.")
saved = s2.file_uploader("Load a .keras model saved here (it is checked; no code in it runs)",
                         type=["keras"], key="train_load")
if saved is not None:
    if st.session_state.get("train_loaded", (None,))[0] != saved.file_id:  # load each file once
        try:
            st.session_state["train_loaded"] = (saved.file_id, load_model(saved.getvalue()), None)
        except ModelLoadError as exc:
            st.session_state["train_loaded"] = (saved.file_id, None, str(exc))
    _, loaded, problem = st.session_state["train_loaded"]
    if problem:
        s2.error(problem)
    else:
        s2.success(f"Loaded {loaded.name}: {loaded.count_params():,} parameters.")
        if s2.button("Train from these weights", disabled=data is None or active, key="train_from_loaded"):
            new_job(loaded)
            st.rerun()

tour_nav("pages/train.py")
