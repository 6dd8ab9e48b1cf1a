"""The background training job: it learns, stops within a batch, continues, and queues."""

import time

import numpy as np
import pytest

from unetviz import training
from unetviz.config import PRESETS
from unetviz.data import TrainingData, toy_data
from unetviz.training import TrainingJob, TrainSettings, curves_figure, device_info

SIMPLE = PRESETS["seed-simple"]
FAST = TrainSettings(learning_rate=1e-2, epochs=10, batch_size=32, seed=0)


def wait(cond, timeout=60.0):
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


def test_settings_refuse_nonsense():
    with pytest.raises(ValueError, match="learning rate"):
        TrainSettings(learning_rate=0)
    with pytest.raises(ValueError, match="Unknown loss"):
        TrainSettings(loss="hinge")
    with pytest.raises(ValueError, match="at least 1"):
        TrainSettings(batch_size=0)


def test_a_short_run_learns_and_reports_each_epoch():
    job = TrainingJob(SIMPLE, toy_data(), FAST)
    assert job.status == "idle" and job.epoch == 0 and len(job.snapshots) == 1
    job.start()
    job.join(60)
    assert job.status == "done" and job.error is None and job.epoch == 10
    h = job.history
    assert [r["epoch"] for r in h] == list(range(1, 11))
    assert h[-1]["loss"] < 0.7 * h[0]["loss"]
    assert {"loss", "val_loss", "pixel_accuracy", "val_pixel_accuracy", "images_per_s"} <= set(h[0])
    assert all(r["complete"] for r in h)
    assert [e for e, _ in job.snapshots] == list(range(11))
    epoch, pred = job.preview
    assert epoch == 10 and pred.shape == (8, 8) and pred.dtype == np.float32
    p = job.progress()
    assert p["fraction"] == 1.0 and p["seconds_left"] == 0.0 and p["batches"] == 4


def test_continue_trains_more_epochs_on_the_same_weights():
    job = TrainingJob(SIMPLE, toy_data(), FAST)
    job.start(3)
    job.join(60)
    before = [w.copy() for w in job.snapshots[-1][1]]
    job.start(2)
    assert job.target_epoch == 5
    job.join(60)
    assert job.epoch == 5 and len(job.history) == 5
    # The optimiser picked up where it was: epoch 4 starts from epoch 3's weights, not afresh.
    assert job.snapshots[3][0] == 3
    for a, b in zip(job.snapshots[3][1], before):
        np.testing.assert_array_equal(a, b)


def test_stop_takes_effect_within_one_batch():
    big = toy_data(n=20_000)  # 625 batches per epoch
    job = TrainingJob(SIMPLE, big, TrainSettings(epochs=100, batch_size=32))
    job.start()
    wait(lambda: job._batch >= 20)
    job.stop()
    at_stop = job._batch
    job.join(30)
    assert job.status == "stopped"
    assert job._batch <= at_stop + 1  # at most the batch already under way
    assert job.epoch == 1 and job.history[-1]["complete"] is False


def test_weights_copy_is_a_separate_float32_model():
    job = TrainingJob(SIMPLE, toy_data(), FAST)
    job.start(2)
    job.join(60)
    copy = job.weights_copy()
    assert copy is not job._model
    for a, b in zip(copy.get_weights(), job.snapshots[-1][1]):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)
    copy.set_weights([np.zeros_like(w) for w in copy.get_weights()])
    assert any(np.any(w) for w in job.weights_copy().get_weights())


def test_snapshots_are_thinned_keeping_first_and_newest():
    job = TrainingJob(SIMPLE, toy_data(n=32), FAST, max_snapshots=4)
    job.start(9)
    job.join(60)
    epochs = [e for e, _ in job.snapshots]
    assert len(epochs) <= 4 and epochs[0] == 0 and epochs[-1] == 9
    assert epochs == sorted(epochs)


def test_mismatches_are_refused_with_words():
    with pytest.raises(ValueError, match="takes 8x8 images but the data are 16x16"):
        TrainingJob(SIMPLE, toy_data(size=16), FAST)
    with pytest.raises(ValueError):
        TrainingJob(SIMPLE, toy_data(), FAST, initial_weights=[np.zeros(3)])
    job = TrainingJob(SIMPLE, toy_data(), FAST)
    job.start(1)
    with pytest.raises(RuntimeError, match="already training"):
        job.start(1)
    job.join(60)


def test_a_failing_fit_becomes_an_error_status_not_an_exception(monkeypatch):
    x = np.zeros((4, 8, 8, 1), np.float32)
    job = TrainingJob(SIMPLE, TrainingData(x, x, x, x, "zeros", "toy"), FAST)

    def broken_fit(*args, **kwargs):
        raise MemoryError("out of memory")

    monkeypatch.setattr(job._model, "fit", broken_fit)
    job.start(1)
    job.join(60)
    assert job.status == "error" and job.error == "MemoryError: out of memory"
    assert training.LIMITER.running == 0  # the slot was given back


def test_the_limiter_queues_jobs_beyond_the_maximum():
    old = training.LIMITER.n
    training.set_max_jobs(1)
    try:
        first = TrainingJob(SIMPLE, toy_data(n=20_000), TrainSettings(epochs=50))
        second = TrainingJob(SIMPLE, toy_data(), FAST)
        first.start()
        wait(lambda: first.status == "running")
        second.start(1)
        wait(lambda: second.queue_position == 1)
        assert second.status == "queued" and first.queue_position == 0
        first.stop()
        second.join(60)
        assert second.status == "done" and second.queue_position == 0
        with pytest.raises(ValueError):
            training.set_max_jobs(0)
    finally:
        training.set_max_jobs(old)
        first.stop()
        first.join(30)
    assert first.status == "stopped" and not first._thread.is_alive()


def test_an_abandoned_job_stops_and_frees_its_slot():
    owner = {"alive": True}
    job = TrainingJob(SIMPLE, toy_data(n=20_000), TrainSettings(epochs=50),
                      owner_alive=lambda: owner["alive"], abandon_after=1.0)
    job.start()
    wait(lambda: job.status == "running")
    time.sleep(1.5)
    assert job.status == "running"  # the owner is there: training goes on
    owner["alive"] = False
    job.join(30)
    assert job.status == "stopped" and "went away" in job.error
    assert not training.any_training()


def test_an_abandoned_job_leaves_the_queue():
    old = training.LIMITER.n
    training.set_max_jobs(1)
    first = TrainingJob(SIMPLE, toy_data(n=20_000), TrainSettings(epochs=50))
    try:
        gone = TrainingJob(SIMPLE, toy_data(), FAST, owner_alive=lambda: False, abandon_after=0.5)
        first.start()
        wait(lambda: first.status == "running")
        gone.start(1)
        gone.join(30)
        assert gone.status == "stopped" and gone.queue_position == 0 and gone.epoch == 0
    finally:
        training.set_max_jobs(old)
        first.stop()
        first.join(30)


def test_curves_figure_sends_float32_train_and_validation():
    hist = [{"epoch": 1, "loss": 0.3, "val_loss": 0.4}, {"epoch": 2, "loss": 0.2}]
    fig = curves_figure(hist)
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert fig.data[1].y.dtype == np.float32 and np.isnan(fig.data[1].y[1])


def test_device_info_names_the_backend():
    info = device_info()
    assert info["backend"] == "tensorflow" and info["device"].startswith(("CPU", "GPU"))


def test_weights_mismatch_names_each_layer_that_differs():
    from unetviz.model import build_unet
    from unetviz.training import weights_mismatch

    a = build_unet(SIMPLE)
    assert weights_mismatch(a, build_unet(SIMPLE)) is None
    wide = build_unet(SIMPLE.replace(filters=(5, 3)))
    text = weights_mismatch(wide, a)
    assert "enc1_conv1 has 3x3x1x5 + 5 where enc1_conv1 has 3x3x1x2 + 2" in text
    assert "enc1_conv2 has 3x3x5x5 + 5 where enc1_conv2 has 3x3x2x2 + 2" in text
    with pytest.raises(ValueError, match="Layers that differ"):
        TrainingJob(SIMPLE, toy_data(), FAST, initial_weights=wide)
