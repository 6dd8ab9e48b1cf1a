"""Train a U-Net in a background thread, so a web page can watch it live.

A :class:`TrainingJob` owns one Keras model and runs ``model.fit`` in a daemon
thread. A small callback writes progress under a lock and honours a stop
event before every batch; the page only ever reads copies. Nothing here
touches Streamlit, and only ``keras.*`` is used for training, so the same code
runs on the TensorFlow and the JAX backends.

A module-level limiter caps how many jobs train at once (``UNETVIZ_MAX_JOBS``,
default 2); jobs beyond it wait in a queue and report ``queue_position``.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import plotly.graph_objects as go  # noqa: E402

from unetviz.config import UNetConfig  # noqa: E402
from unetviz.data import TrainingData  # noqa: E402
from unetviz.figures import STYLE  # noqa: E402
from unetviz.losses import LOSSES, get_loss, membrane_dice  # noqa: E402
from unetviz.model import build_unet  # noqa: E402

STATUSES = ("idle", "queued", "running", "stopped", "done", "error")
METRIC_LABELS = {"loss": "Loss", "pixel_accuracy": "Pixel accuracy",
                 "membrane_dice": "Membrane Dice"}


@dataclass(frozen=True)
class TrainSettings:
    """How to train: Adam with a learning rate, a loss, epochs, batch size, seed.

    The defaults are the tutorial's toy-task recipe (section 4.7) except for
    the epochs: 500 there, fewer here so a first run ends quickly.

    >>> TrainSettings(learning_rate=1e-4).loss
    'mse'
    """

    learning_rate: float = 5e-4  # Adam's step size
    loss: str = "mse"  # one of unetviz.losses.LOSSES
    epochs: int = 50  # epochs per start (Continue adds this many more)
    batch_size: int = 32
    seed: int = 0  # weights and shuffling

    def __post_init__(self):
        if not 0 < self.learning_rate < 1:
            raise ValueError(f"The learning rate must be between 0 and 1; got {self.learning_rate}.")
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; choose from {', '.join(LOSSES)}.")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("Epochs and batch size must be at least 1.")


def compile_model(model: keras.Model, settings: TrainSettings, *, kind: str = "toy") -> keras.Model:
    """Compile ``model`` with Adam, the chosen loss and the page's metrics (returns it).

    Every task reports pixel accuracy; segmentation also reports membrane Dice.
    """
    metrics = [keras.metrics.BinaryAccuracy(name="pixel_accuracy")]
    if kind == "segmentation":
        metrics.append(membrane_dice)
    model.compile(optimizer=keras.optimizers.Adam(settings.learning_rate),
                  loss=get_loss(settings.loss), metrics=metrics)
    return model


class _Limiter:
    """At most ``n`` jobs train at once; the others wait in arrival order."""

    def __init__(self, n: int):
        self.n, self.running, self.waiting = n, 0, []
        self.starting = 0  # jobs between start() and their place in the queue
        self.cond = threading.Condition()

    def acquire(self, job, cancel: threading.Event) -> bool:
        with self.cond:
            self.starting -= 1
            self.waiting.append(job)
            while self.running >= self.n or self.waiting[0] is not job:
                if cancel.is_set() or job._abandoned():
                    self.waiting.remove(job)
                    self.cond.notify_all()
                    return False
                self.cond.wait(0.2)
            self.waiting.pop(0)
            self.running += 1
            return True

    def release(self) -> None:
        with self.cond:
            self.running -= 1
            self.cond.notify_all()

    def position(self, job) -> int:
        with self.cond:
            return self.waiting.index(job) + 1 if job in self.waiting else 0

    def busy(self) -> bool:
        with self.cond:
            return bool(self.running or self.waiting or self.starting)


LIMITER = _Limiter(max(1, int(os.environ.get("UNETVIZ_MAX_JOBS", "2"))))
ABANDON_AFTER_S = float(os.environ.get("UNETVIZ_ABANDON_AFTER", "60"))  # owner gone this long: stop


def any_training() -> bool:
    """True while some job in this process is queued or training.

    Streamlit calls ``keras.backend.clear_session()`` after every script run,
    fragment reruns included; that resets TensorFlow's graph and kernel cache
    under a running ``fit`` and all but stops it. The app skips that clean-up
    while this is True.
    """
    return LIMITER.busy()


def set_max_jobs(n: int) -> None:
    """Change how many jobs may train at the same time (server-wide)."""
    if n < 1:
        raise ValueError("At least one job must be allowed to train.")
    with LIMITER.cond:
        LIMITER.n = n
        LIMITER.cond.notify_all()


def _weight_shapes(model: keras.Model) -> list[tuple[str, list[tuple]]]:
    """(layer name, [weight shapes]) of every layer that has weights, in model order."""
    return [(layer.name, [tuple(w.shape) for w in layer.weights])
            for layer in model.layers if layer.weights]


def weights_mismatch(source: keras.Model, target: keras.Model, *, most: int = 4) -> str | None:
    """Why ``source``'s weights cannot be loaded into ``target``, layer by layer; None if they can.

    Layers are matched in order (names may differ); the sentence names the first ``most``
    layers whose weight shapes differ and the layers one model has and the other lacks.

    >>> from unetviz.config import PRESETS
    >>> a, b = build_unet(PRESETS["seed-simple"]), build_unet(PRESETS["seed-simple"])
    >>> weights_mismatch(a, b) is None
    True
    """
    src, dst = _weight_shapes(source), _weight_shapes(target)
    if [s for _, s in src] == [s for _, s in dst]:
        return None

    def shapes(ws):
        return " + ".join("x".join(map(str, s)) for s in ws)

    a, b = dict(src), dict(dst)
    if set(a) & set(b):  # layers named alike (e.g. both from the builder): match by name
        pairs = [(n, a[n], n, b[n]) for n in a if n in b]
        only_src, only_dst = [n for n in a if n not in b], [n for n in b if n not in a]
    else:  # other names: match in order
        pairs = [(na, sa, nb, sb) for (na, sa), (nb, sb) in zip(src, dst)]
        only_src, only_dst = [n for n, _ in src[len(dst):]], [n for n, _ in dst[len(src):]]
    differ = [f"{na} has {shapes(sa)} where {nb} has {shapes(sb)}"
              for na, sa, nb, sb in pairs if sa != sb]
    text = (f"The loaded model ({source.name}) does not fit the model the builder describes "
            f"({target.name}): it has {len(src)} layers with weights "
            f"({sum(len(s) for _, s in src)} arrays), the builder's has {len(dst)} "
            f"({sum(len(s) for _, s in dst)} arrays).")
    if differ:
        text += (" Layers that differ: " + "; ".join(differ[:most])
                 + (f"; and {len(differ) - most} more" if len(differ) > most else "") + ".")
    for owner, names in (("loaded model", only_src), ("builder's model", only_dst)):
        if names:
            text += (f" Only the {owner} has: {', '.join(names[:most])}"
                     + (f" and {len(names) - most} more" if len(names) > most else "") + ".")
    return text + (" Set the Build page to the loaded model's shape (depth, filters, kernels), "
                   "or train a new model.")


class _LiveCallback(keras.callbacks.Callback):
    """Reports to the job; stops before the next batch once asked.

    Only batch-*begin* hooks are used, so Keras keeps dispatching its own
    batch-end work asynchronously, exactly as in a bare ``fit``.
    """

    def __init__(self, job: TrainingJob):
        super().__init__()
        self.job = job

    def on_epoch_begin(self, epoch, logs=None):
        self.job._epoch_begin(epoch)

    def on_train_batch_begin(self, batch, logs=None):
        if self.job._stop.is_set() or self.job._abandoned():
            self.model.stop_training = True
        now = time.perf_counter()
        if batch == 1:  # time from here on, past the first batch's tracing
            self.job._epoch_t1 = now
        self.job._batch, self.job._batch_t = batch, now  # plain stores: no lock needed per batch

    def on_test_begin(self, logs=None):
        self.job._train_t_end = time.perf_counter()

    def on_test_batch_begin(self, batch, logs=None):
        if self.job._stop.is_set():
            self.model.stop_evaluating = True

    def on_epoch_end(self, epoch, logs=None):
        self.job._epoch_end(epoch, logs or {})


class TrainingJob:
    """One model, its data and settings, trained in a background thread.

    Read-only for callers: ``config``, ``status`` (see :data:`STATUSES`), ``error``,
    ``history`` (one dict per epoch: ``loss``, ``val_loss``, metrics, ``seconds``,
    ``images_per_s``, ``complete``), ``epoch`` (epochs finished), ``snapshots``
    (``(epoch, [weights])``, thinned to at most ``max_snapshots``), ``preview``
    (``(epoch, prediction)`` on the first validation image) and ``queue_position``.
    ``initial_weights`` (a loaded model, or a list like ``model.get_weights()``) starts from
    those weights; a model whose layers do not match ``config`` raises ValueError naming them.

    Examples
    --------
    >>> from unetviz.config import PRESETS
    >>> from unetviz.data import toy_data
    >>> job = TrainingJob(PRESETS["seed-simple"], toy_data(), TrainSettings(epochs=2))
    >>> job.start(); job.join(); job.status
    'done'
    """

    def __init__(self, config: UNetConfig, data: TrainingData, settings: TrainSettings, *,
                 initial_weights: list | None = None, max_snapshots: int = 50,
                 max_snapshot_bytes: int = 200_000_000, owner_alive=None,
                 abandon_after: float = ABANDON_AFTER_S):
        size = config.input_size
        if size is not None and data.x_train.shape[1:3] != (size, size):
            raise ValueError(f"The model takes {size}x{size} images but the data are "
                             f"{data.x_train.shape[1]}x{data.x_train.shape[2]}.")
        self.config, self.data, self.settings = config, data, settings
        self.status, self.error = "idle", None
        self.history: list[dict] = []
        self.epoch = 0
        self.target_epoch = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Whoever started the job (a browser session) may go away; without it for
        # ``abandon_after`` seconds the job stops and frees its slot and memory.
        self._owner_alive, self._abandon_after = owner_alive, abandon_after
        self._owner_seen = self._owner_checked = time.monotonic()
        self._thread: threading.Thread | None = None
        self._batch, self._batch_t = 0, 0.0
        self._run_start_epoch = self._run_history0 = 0
        self._epoch_t0 = self._epoch_t1 = self._train_t_end = self._run_t0 = time.perf_counter()
        keras.utils.set_random_seed(settings.seed)
        self._model = compile_model(build_unet(config), settings, kind=data.kind)
        if isinstance(initial_weights, keras.Model):
            problem = weights_mismatch(initial_weights, self._model)
            if problem:
                raise ValueError(problem)
            initial_weights = initial_weights.get_weights()
        if initial_weights is not None:
            self._model.set_weights(initial_weights)  # Keras checks every shape
        weights = self._model.get_weights()
        nbytes = sum(w.nbytes for w in weights)
        self.max_snapshots = max(2, min(max_snapshots, max_snapshot_bytes // max(nbytes, 1)))
        self.snapshots: list[tuple[int, list[np.ndarray]]] = [(0, weights)]
        self.preview = (0, self._predict_preview())

    # --- control, from the page ---------------------------------------------------------
    def start(self, epochs: int | None = None) -> None:
        """Train ``epochs`` more epochs (default: the settings' epochs) on the current weights.

        Returns at once; the work happens in a daemon thread. Calling it again
        after a stop or the end continues where the model is (the tutorial's
        "train another 500 epochs").
        """
        if self.is_active:
            raise RuntimeError("This job is already training; stop it first.")
        n = self.settings.epochs if epochs is None else int(epochs)
        if n < 1:
            raise ValueError("Train at least one epoch.")
        self._stop.clear()
        with LIMITER.cond:
            LIMITER.starting += 1
        with self._lock:
            self.status, self.error = "queued", None
            self.target_epoch = self.epoch + n
            self._run_start_epoch, self._run_history0 = self.epoch, len(self.history)
        self._thread = threading.Thread(target=self._run, args=(self.target_epoch,),
                                        name="unetviz-training", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Ask the run to stop; it does so before its next batch."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the background thread (tests and benchmarks)."""
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def is_active(self) -> bool:
        return self.status in ("queued", "running")

    @property
    def queue_position(self) -> int:
        """1 for the next job to start, 2 behind it...; 0 when not waiting."""
        return LIMITER.position(self)

    def weights_copy(self) -> keras.Model:
        """A new float32 model with the latest finished epoch's weights (never the trained one)."""
        with self._lock:
            weights = self.snapshots[-1][1]
        copy = build_unet(self.config)
        copy.set_weights([w.astype("float32") for w in weights])
        return copy

    def progress(self) -> dict:
        """What a progress bar needs: epochs, batch, fraction done, images/s, seconds left."""
        with self._lock:
            n = len(self.data.x_train)
            batches = -(-n // self.settings.batch_size)
            start_epoch = self._run_start_epoch
            done_batches = (self.epoch - start_epoch) * batches
            if self.status == "running" and self.epoch < self.target_epoch:
                done_batches += min(self._batch, batches)
            total = max(1, (self.target_epoch - start_epoch) * batches)
            rate = self._rate()
            left = (total - done_batches) * self.settings.batch_size / rate if rate else None
            return {"status": self.status, "epoch": self.epoch, "target_epoch": self.target_epoch,
                    "batch": self._batch, "batches": batches,
                    "fraction": min(1.0, done_batches / total), "images_per_s": rate,
                    "seconds_left": left if self.is_active else 0.0}

    # --- the thread -----------------------------------------------------------------------
    def _rate(self) -> float | None:
        """Images per second, everything included, since this run's first epoch ended (that one
        includes compiling); during the first epoch, the rate of its batches after the first."""
        done = len(self.history) - self._run_history0
        if done >= 2:
            first, last = self.history[self._run_history0], self.history[-1]
            epochs_images = (done - 1) * len(self.data.x_train)
            return epochs_images / max(last["seconds"] - first["seconds"], 1e-9)
        b, t = self._batch, self._batch_t
        if self.status == "running" and b >= 2 and t > self._epoch_t1 > self._epoch_t0:
            return (b - 1) * self.settings.batch_size / (t - self._epoch_t1)
        return self.history[-1]["images_per_s"] if self.history else None

    def _abandoned(self) -> bool:
        """True once the owner has been gone for ``abandon_after`` seconds (checked once a second)."""
        if self._owner_alive is None:
            return False
        now = time.monotonic()
        if now - self._owner_checked >= 1.0:
            self._owner_checked = now
            try:
                alive = bool(self._owner_alive())
            except Exception:  # noqa: BLE001 - a broken check must not kill training
                alive = True
            if alive:
                self._owner_seen = now
        if now - self._owner_seen < self._abandon_after:
            return False
        self._stop.set()
        self.error = "Stopped: the browser session that started this run went away."
        return True

    def _run(self, target: int) -> None:
        if not LIMITER.acquire(self, self._stop):
            with self._lock:
                self.status = "stopped"
            return
        try:
            with self._lock:
                self.status = "running"
                self._run_t0 = time.perf_counter()
            d = self.data
            self._model.fit(d.x_train, d.y_train, batch_size=self.settings.batch_size,
                            epochs=target, initial_epoch=self.epoch,
                            validation_data=(d.x_val, d.y_val), callbacks=[_LiveCallback(self)],
                            shuffle=True, verbose=0)
            with self._lock:
                self.status = "stopped" if self._stop.is_set() else "done"
        except Exception as exc:  # noqa: BLE001 - shown to the learner, never raised into the page
            with self._lock:
                self.status, self.error = "error", f"{type(exc).__name__}: {exc}"
        finally:
            LIMITER.release()

    def _epoch_begin(self, epoch: int) -> None:
        self._batch = 0
        self._epoch_t0 = self._epoch_t1 = self._train_t_end = time.perf_counter()

    def _epoch_end(self, epoch: int, logs: dict) -> None:
        now = time.perf_counter()
        end = self._train_t_end if self._train_t_end > self._epoch_t0 else now
        if self._epoch_t1 > self._epoch_t0 and self._batch >= 2:  # skip the first batch
            images, seconds = self._batch * self.settings.batch_size, end - self._epoch_t1
        else:
            images, seconds = (self._batch + 1) * self.settings.batch_size, end - self._epoch_t0
        row = {"epoch": epoch + 1, **{k: float(v) for k, v in logs.items()},
               "seconds": round(now - self._run_t0, 2),
               "images_per_s": min(images, len(self.data.x_train)) / max(seconds, 1e-9),
               "complete": not self._stop.is_set()}
        weights = self._model.get_weights()  # NumPy copies
        preview = self._predict_preview()
        with self._lock:
            self.history.append(row)
            self.epoch = epoch + 1
            self.snapshots.append((epoch + 1, weights))
            if len(self.snapshots) > self.max_snapshots:
                # Thin evenly: keep every other one, always the first and the newest.
                self.snapshots = self.snapshots[:-1][::2] + [self.snapshots[-1]]
            self.preview = (epoch + 1, preview)

    def _predict_preview(self) -> np.ndarray:
        x = self.data.x_val[:1]  # (1, H, W, 1)
        return np.asarray(self._model(x, training=False), dtype=np.float32)[0, :, :, 0]


def curves_figure(history: list[dict], metric: str = "loss", *, height: int = 300) -> go.Figure:
    """Train and validation curves of one ``metric`` over the epochs of ``history``.

    >>> curves_figure([{"epoch": 1, "loss": 0.3, "val_loss": 0.4}]).data[0].name
    'train'
    """
    label = METRIC_LABELS.get(metric, metric)
    epochs = np.array([h["epoch"] for h in history], np.float32)
    fig = go.Figure()
    for key, name, colour in ((metric, "train", STYLE["conv"]),
                              (f"val_{metric}", "validation", STYLE["output"])):
        values = np.array([h.get(key, np.nan) for h in history], np.float32)
        fig.add_scatter(x=epochs, y=values, name=name, mode="lines+markers" if len(history) < 30
                        else "lines", line={"color": colour, "width": 2},
                        hovertemplate=f"epoch %{{x}}: %{{y:.4g}}<extra>{name}</extra>")
    fig.update_layout(title={"text": label, "font": {"size": STYLE["font"] + 1}}, height=height,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10}, plot_bgcolor="white",
                      legend={"orientation": "h", "y": -0.32, "yanchor": "top"},
                      font={"size": STYLE["font"]})
    last = float(epochs.max()) if len(epochs) else 1.0
    fig.update_xaxes(title_text="epoch", gridcolor="#eee", range=[0, max(5.0, last) * 1.03])
    fig.update_yaxes(gridcolor="#eee", type="log" if metric == "loss" else "linear")
    return fig


def device_info() -> dict:
    """The Keras backend and the device it trains on, in words.

    >>> sorted(device_info())
    ['backend', 'device', 'gpu']
    """
    backend = keras.backend.backend()
    gpus: list[str] = []
    try:
        if backend == "jax":
            import jax

            gpus = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        elif backend == "tensorflow":
            import tensorflow as tf

            for d in tf.config.list_physical_devices("GPU"):
                gpus.append(tf.config.experimental.get_device_details(d).get("device_name", d.name))
        elif backend == "torch":
            import torch

            gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    except Exception:  # noqa: BLE001 - no GPU stack: CPU it is
        gpus = []
    device = f"GPU: {', '.join(gpus)}" if gpus else f"CPU ({os.cpu_count()} cores)"
    return {"backend": backend, "device": device, "gpu": bool(gpus)}
