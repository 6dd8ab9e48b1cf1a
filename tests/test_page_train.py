"""AppTests for the Train page: a real short run on the toy task, stop, continue, reset."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from unetviz.config import PRESETS


def train_page(**state) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    OPENED.append(at)
    at.run()
    at.switch_page("pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


OPENED: list[AppTest] = []


@pytest.fixture(autouse=True)
def stop_jobs():
    """Stop any job a test leaves running, so no training thread outlives its test."""
    yield
    while OPENED:
        at = OPENED.pop()
        if "train_job" in at.session_state:
            at.session_state["train_job"].stop()
            at.session_state["train_job"].join(30)


def wait_until(at: AppTest, done, timeout: float = 120.0) -> None:
    """Poll the page (run_every fragments do not fire under AppTest)."""
    end = time.time() + timeout
    while time.time() < end:
        time.sleep(1.5)
        at.run()
        if done(at):
            return
    raise AssertionError("the page did not reach the expected state in time")


def job(at):
    return at.session_state["train_job"]


def progress_text(at) -> str:
    return " ".join(str(getattr(e, "proto", e)) for e in at.get("progress"))


def test_page_shows_the_data_the_device_and_the_model():
    at = train_page()
    assert at.title[0].value == "Train"
    assert any("100 training and 20 validation images of 8x8 pixels" in i.value for i in at.info)
    caption = " ".join(c.value for c in at.caption)
    assert "seed_simple" in caption and "348 parameters" in caption
    assert "CPU" in caption and "tensorflow" in caption


def test_toy_run_loss_goes_down_then_continue_adds_epochs():
    at = train_page()
    at.number_input(key="train_epochs_toy").set_value(15)
    at.select_slider(key="train_lr_toy").set_value(1e-2)
    at.button(key="train_start").click().run()
    wait_until(at, lambda a: job(a).status == "done")
    hist = job(at).history
    assert len(hist) == 15 and hist[-1]["loss"] < 0.6 * hist[0]["loss"]
    assert "Done: 15 epochs." in progress_text(at)
    assert len(at.get("plotly_chart")) >= 5  # two curves, input, target, prediction
    assert any("Epoch 15: training loss" in m.value for m in at.markdown)
    at.number_input(key="train_epochs_toy").set_value(3)
    at.button(key="train_continue").click().run()
    wait_until(at, lambda a: job(a).status == "done")
    assert job(at).epoch == 18 and job(at).history[-1]["loss"] < hist[0]["loss"]
    at.run()
    assert [d.proto.label for d in at.get("download_button")] == ["Download the trained model (.keras)"]


def test_stop_halts_within_a_batch_and_reset_clears():
    at = train_page()
    at.number_input(key="train_epochs_toy").set_value(3000)
    at.button(key="train_start").click().run()
    wait_until(at, lambda a: job(a).epoch >= 2)
    at.button(key="train_stop").click().run()
    j = job(at)
    assert j.status == "stopped"
    epochs = j.epoch
    time.sleep(0.5)
    assert j.epoch == epochs < 3000
    assert f"Stopped after epoch {epochs}." in progress_text(at)
    at.button(key="train_reset").click().run()
    assert "train_job" not in at.session_state
    assert any("Press **Start** to train" in c.value for c in at.caption)


def test_training_goes_on_across_page_switches():
    at = train_page()
    at.number_input(key="train_epochs_toy").set_value(3000)
    at.button(key="train_start").click().run()
    j = job(at)
    at.switch_page("pages/home.py").run()
    wait_until(at, lambda a: j.epoch >= 2)  # it trains while the learner reads another page
    assert at.title[0].value == "What is a U-Net?"
    at.switch_page("pages/train.py").run()
    assert job(at) is j and j.is_active and len(j.history) >= 2
    assert "Training: epoch" in progress_text(at)
    j.stop()
    j.join(10)


def test_isbi_folder_bad_path_gets_an_error_and_a_good_one_describes_the_tiles(isbi_dir):
    at = train_page()
    at.radio(key="train_source").set_value("isbi").run()
    assert at.text_input(key="train_isbi_path").value == ""  # no data folder outside the repository
    assert not at.exception and at.error  # an empty path gets a message
    at.text_input(key="train_isbi_path").set_value("/no/such/folder").run()
    assert any("There is no folder at /no/such/folder" in e.value for e in at.error)
    assert at.button(key="train_start").disabled
    at.text_input(key="train_isbi_path").set_value(str(isbi_dir))
    at.number_input(key="train_isbi_max").set_value(500).run()
    assert not at.error
    assert any("500 training and 320 validation images of 64x64" in i.value for i in at.info)
    assert any("seed_membrane" in c.value for c in at.caption)  # no builder model: the tutorial's
    assert at.select_slider(key="train_lr_isbi").value == 1e-4  # the tutorial's recipe
    assert at.number_input(key="train_batch_isbi").value == 100


def test_builder_config_is_trained_and_too_small_models_are_explained():
    cfg = PRESETS["seed-simple"].replace(name="mine")
    at = train_page(unet_config=cfg)
    assert any("**mine**" in c.value for c in at.caption)
    at.radio(key="train_source").set_value("membranes").run()
    assert any("too small for membranes" in w.value for w in at.warning)
    assert at.button(key="train_start").disabled


def test_zip_upload_is_read_or_refused_with_a_message():
    from test_data import good_zip, make_zip

    at = train_page()
    at.radio(key="train_source").set_value("zip").run()
    assert at.button(key="train_start").disabled  # nothing uploaded yet
    at.file_uploader(key="train_zip").upload("pairs.zip", make_zip(good_zip(3, 64)), "application/zip")
    at.run()
    assert any("Your upload (3 image/mask pairs): 14 training and 1 validation images of 64x64"
               in i.value for i in at.info)
    assert not at.button(key="train_start").disabled
    evil = good_zip(1)
    evil["../../etc/passwd.png"] = b"x"
    at.file_uploader(key="train_zip").upload("evil.zip", make_zip(evil), "application/zip")
    at.run()
    assert any("points outside the folder" in e.value for e in at.error)
    assert at.button(key="train_start").disabled


def test_a_saved_model_loads_back_and_a_bad_file_is_refused():
    from unetviz.model import build_unet, model_to_bytes

    at = train_page()
    saved = model_to_bytes(build_unet(PRESETS["seed-simple"]))
    at.file_uploader(key="train_load").upload("mine.keras", saved).run()
    assert any("348 parameters" in s.value for s in at.success)
    at.button(key="train_from_loaded").click().run()
    assert at.session_state["train_job"].epoch == 0
    at.session_state["train_job"].stop()
    at.file_uploader(key="train_load").upload("bad.keras", b"not a model").run()
    assert at.error and "train_from_loaded" not in [b.key for b in at.button]


def test_training_from_a_model_of_another_shape_names_the_layers_that_differ():
    from unetviz.model import build_unet, model_to_bytes

    at = train_page()
    other = PRESETS["seed-simple"].replace(filters=(4, 3), decoder_convs=2)
    at.file_uploader(key="train_load").upload("other.keras", model_to_bytes(build_unet(other))).run()
    at.button(key="train_from_loaded").click().run()
    message = " ".join(e.value for e in at.error)
    assert "enc1_conv1 has 3x3x1x4 + 4 where enc1_conv1 has 3x3x1x2 + 2" in message
    assert "Only the loaded model has: dec1_conv2" in message
    assert "weight list of length" not in message
    assert "train_job" not in at.session_state


def test_streamlit_keeps_the_keras_session_while_a_job_trains(monkeypatch):
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    at = train_page()
    assert getattr(script_runner._clean_problem_modules, "unetviz", False)
    cleared = []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    at.number_input(key="train_epochs_toy").set_value(3000)
    at.button(key="train_start").click().run()
    script_runner._clean_problem_modules()
    assert cleared == []  # skipped: a job is training
    job(at).stop()
    job(at).join(30)
    script_runner._clean_problem_modules()
    assert cleared == [1]  # Streamlit's usual clean-up once no job trains
