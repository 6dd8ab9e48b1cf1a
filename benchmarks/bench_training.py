"""Throughput of the app's TrainingJob against a bare ``model.fit``, same model, same data.

    .venv/bin/python benchmarks/bench_training.py [tiles] [epochs] [batch] [repeats]

Trains the tutorial's seed-membrane U-Net (1,170,149 parameters) on generated
64x64 membrane tiles. One warmed-up model is trained with bare fit and one
through a TrainingJob (with a thread polling it once a second, as the page
does), ``epochs`` epochs at a time with the same validation data; the two
alternate ``repeats`` times and the median of the paired ratios is printed
(the target is at least 0.95). Defaults suit a small CPU: 320 tiles, 2 epochs,
batch 32, 3 repeats. On a GPU try ``KERAS_BACKEND=jax ... 6400 3 100 3``.
"""

import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from unetviz.config import PRESETS  # noqa: E402
from unetviz.data import membrane_data  # noqa: E402
from unetviz.model import build_unet  # noqa: E402
from unetviz.training import TrainingJob, TrainSettings, compile_model, device_info  # noqa: E402

tiles = int(sys.argv[1]) if len(sys.argv) > 1 else 320
epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 2
batch = int(sys.argv[3]) if len(sys.argv) > 3 else 32
repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 3

config = PRESETS["seed-membrane"]
data = membrane_data(n=tiles, size=64)
settings = TrainSettings(learning_rate=1e-4, loss="mse", epochs=epochs, batch_size=batch)
fit_args = dict(batch_size=batch, validation_data=(data.x_val, data.y_val), shuffle=True, verbose=0)


def make_bare():
    keras.utils.set_random_seed(0)
    model = compile_model(build_unet(config), settings, kind=data.kind)
    model.fit(data.x_train, data.y_train, epochs=1, **fit_args)  # warm-up: tracing
    return model


def bare_fit(model) -> float:
    done = model.optimizer.iterations.numpy() // -(-tiles // batch)  # epochs trained so far
    t0 = time.perf_counter()
    model.fit(data.x_train, data.y_train, initial_epoch=done, epochs=done + epochs, **fit_args)
    return epochs * tiles / (time.perf_counter() - t0)


def make_job():
    job = TrainingJob(config, data, settings)
    job.start(1)  # warm-up: tracing
    job.join()
    return job


def job_fit(job) -> float:
    done = threading.Event()

    def page():  # a browser tab polling once a second, as the live view does
        while not done.wait(1.0):
            job.progress()
            _ = list(job.history), job.preview

    poller = threading.Thread(target=page, daemon=True)
    poller.start()
    t0 = time.perf_counter()
    job.start(epochs)
    job.join()
    seconds = time.perf_counter() - t0
    done.set()
    poller.join()
    assert job.status == "done", job.error
    return epochs * tiles / seconds


info = device_info()
print(f"seed-membrane ({build_unet(config).count_params():,} parameters), {tiles} tiles of 64x64, "
      f"{epochs} epochs x {repeats} repeats, batch {batch}; {info['device']}, "
      f"Keras {keras.__version__} on {info['backend']}")
model, job = make_bare(), make_job()
bare, live = [], []
for r in range(repeats):  # alternate, so a change in the machine's load hits both alike
    bare.append(bare_fit(model))
    live.append(job_fit(job))
    print(f"  repeat {r + 1}: bare fit {bare[-1]:8.1f} images/s   TrainingJob {live[-1]:8.1f} images/s   "
          f"ratio {live[-1] / bare[-1]:.3f}")
ratio = statistics.median(j / b for j, b in zip(live, bare))
print(f"medians: bare fit {statistics.median(bare):.1f} images/s, TrainingJob "
      f"{statistics.median(live):.1f} images/s; median ratio {ratio:.3f} (target >= 0.95: "
      f"{'met' if ratio >= 0.95 else 'NOT met'})")
