"""AppTests of the inspector page: models, layers, pages of channels, threshold, uploads, epochs."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import need_isbi
from streamlit.testing.v1 import AppTest

from unetviz.model import PRESETS, build_unet, load_model, model_to_bytes

ROOT = Path(__file__).resolve().parent.parent
MEMBRANE = ROOT / "pretrained" / "membrane.keras"
PAGE = "pages/inspector.py"


def open_page(model: str | None = None, state: dict | None = None) -> AppTest:
    at = AppTest.from_file("../app.py", default_timeout=60)
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(PAGE).run()
    if model is not None:
        at.radio(key="inspector_model").set_value(model).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def chart(at: AppTest, key: str) -> dict:
    for el in at.get("plotly_chart"):
        if el.key == key:
            return json.loads(el.proto.spec)
    raise AssertionError(f"no chart {key}")


def text(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error])


def needs_membrane():
    assert MEMBRANE.is_file(), "pretrained/membrane.keras ships with the app"


def test_inversion_model_resizes_the_input_and_lists_layers_in_u_order():
    at = open_page("Pretrained: inversion")
    assert at.title[0].value == "Look inside"
    assert "Resized" not in text(at)  # the grid starts at the model's 8x8
    at.slider(key="inspector_size").set_value(32).run()
    assert "Resized from 32x32 to 8x8" in text(at)
    layers = at.selectbox(key="inspector_layer")
    assert layers.options[:4] == [
        "input · input (InputLayer, 1 ch)", "down 1 · enc1_conv1 (Conv2D, 2 ch)",
        "down 1 · enc1_conv2 (Conv2D, 2 ch) ⟶ skip to dec1_concat",
        "down 1 · enc1_pool (MaxPooling2D, 2 ch)"]
    assert "dec1_concat (Concatenate, 4 ch) ⟵ skip from enc1_conv2" in layers.options[8]
    layers.set_value("dec1_concat").run()
    assert "first 2 channels are enc1_conv2" in text(at)
    at.selectbox(key="inspector_layer").set_value("enc1_pool").run()
    assert "no weights, so no filters" in text(at)


def test_a_blank_drawing_is_inverted_to_white_by_default():
    at = open_page("Pretrained: inversion")
    at.radio(key="inspector_source").set_value("Draw").run()
    assert at.checkbox(key="inspector_invert_Draw").value is True
    z = chart(at, "inspector_in")["data"][0]["z"]
    pixels = np.frombuffer(base64.b64decode(z["bdata"]), np.float32)
    np.testing.assert_array_equal(pixels, np.ones(64, np.float32))  # 8x8 of white
    at.checkbox(key="inspector_invert_Draw").uncheck().run()
    z = chart(at, "inspector_in")["data"][0]["z"]
    assert not np.frombuffer(base64.b64decode(z["bdata"]), np.float32).any()


def test_receptive_field_numbers_follow_the_layer_and_the_typed_pixel():
    at = open_page("Pretrained: inversion")
    at.number_input(key="inspector_rf_row").set_value(2).run()
    at.number_input(key="inspector_rf_col").set_value(2).run()
    assert "**3x3** window" in text(at)  # one 3x3 conv
    at.selectbox(key="inspector_layer").set_value("enc1_conv2").run()
    assert "**5x5** window" in text(at)  # two
    at.selectbox(key="inspector_layer").set_value("out").run()
    assert "**20x20** window" in text(at)  # worked out in tests/test_inspection.py
    assert "(64 pixels inside the image" in text(at)  # the whole 8x8 input


def test_filter_colours_switch_between_the_tutorial_and_zero_centred():
    at = open_page("Pretrained: inversion")
    fig = chart(at, "inspector_filters")
    assert "layer min" in fig["data"][0]["colorbar"]["title"]["text"]
    at.radio(key="inspector_filter_mode").set_value("zero").run()
    fig = chart(at, "inspector_filters")
    assert fig["data"][0]["zmin"] == -1 and "max |weight|" in fig["data"][0]["colorbar"]["title"]["text"]


def test_threshold_changes_the_membrane_scores():
    needs_membrane()
    at = open_page("Pretrained: membrane")
    at.radio(key="inspector_source").set_value("Sample").run()
    at.selectbox(key="inspector_sample").set_value("membrane").run()
    at.slider(key="inspector_size").set_value(64).run()
    scores = {m.label: float(m.value) for m in at.metric}
    # The same numbers worked out here, independently of the page.
    from unetviz.samples import membrane_pair

    image, label = membrane_pair(64)
    prob = np.asarray(load_model(MEMBRANE)(image[None, ..., None]))[0, ..., 0]
    for t in (0.5, 0.9):
        at.slider(key="inspector_threshold").set_value(t).run()
        scores = {m.label: float(m.value) for m in at.metric}
        pred, true = prob < t, label < 0.5
        assert scores["Pixel error"] == pytest.approx(np.mean(pred != true), abs=6e-4)
        dice = 2 * np.sum(pred & true) / (pred.sum() + true.sum())
        assert scores["Membrane Dice"] == pytest.approx(dice, abs=6e-4)
    assert scores["Pixel error"] != pytest.approx(np.mean((prob < 0.5) != (label < 0.5)), abs=1e-4)


def test_membrane_layers_page_through_their_channels():
    needs_membrane()
    at = open_page("Pretrained: membrane")
    at.selectbox(key="inspector_layer").set_value("dec1_concat").run()
    assert "channels 0 to 15 of 32, 64x64 each" in chart(at, "inspector_acts")["layout"]["title"]["text"]
    at.slider(key="inspector_page_dec1_concat").set_value(2).run()
    fig = chart(at, "inspector_acts")
    assert "channels 16 to 31 of 32" in fig["layout"]["title"]["text"]
    assert len(json.dumps(fig)) < 1_500_000
    assert chart(at, "inspector_u")  # the U, with this layer outlined


def test_isbi_slice_gives_scores_and_a_bad_folder_a_message():
    needs_membrane()
    need_isbi()
    at = open_page("Pretrained: membrane")
    at.radio(key="inspector_input_kind").set_value("ISBI slice").run()
    assert [m.label for m in at.metric] == ["Pixel error", "Membrane Dice", "Membrane IoU"]
    at.select_slider(key="inspector_isbi_crop").set_value(128).run()
    x = chart(at, "inspector_in")["data"][0]["x"]  # the column numbers, int16
    assert len(base64.b64decode(x["bdata"])) == 128 * 2
    at.text_input(key="inspector_isbi_folder").set_value("/no/such/folder").run()
    assert any("There is no folder" in e.value for e in at.error)
    assert not at.exception


def test_a_bad_upload_gets_a_message_and_a_good_one_is_inspected():
    at = open_page("Upload a .keras file")
    assert "Upload a .keras file" in text(at)
    at.file_uploader(key="inspector_upload").upload("junk.keras", b"not a zip").run()
    assert any("not a Keras model file" in e.value for e in at.error)
    assert not at.exception
    good = model_to_bytes(build_unet(PRESETS["seed-simple"]))
    at.file_uploader(key="inspector_upload").set_value(("small.keras", good, "application/zip")).run()
    assert not at.error
    assert "enc1_pool" in at.selectbox(key="inspector_layer").options[3]
    at.selectbox(key="inspector_layer").set_value("input").run()
    assert "**1x1** window" in text(at) and not at.exception


def test_an_uploaded_model_with_its_own_layer_names_still_works():
    import keras

    inp = keras.Input((None, None, 1))
    a = keras.layers.Conv2D(3, 5, padding="same", activation="relu")(inp)
    b = keras.layers.AveragePooling2D(2)(a)
    c = keras.layers.UpSampling2D(interpolation="bilinear")(b)
    out = keras.layers.Conv2D(1, 1, activation="sigmoid")(keras.layers.Concatenate()([a, c]))
    data = model_to_bytes(keras.Model(inp, out))
    at = open_page("Upload a .keras file")
    at.file_uploader(key="inspector_upload").set_value(("mine.keras", data, "application/zip")).run()
    assert not at.exception and not at.error
    options = at.selectbox(key="inspector_layer").options
    assert any("Concatenate" in o and "skip from" in o for o in options)
    assert all(el.key != "inspector_u" for el in at.get("plotly_chart"))  # no U diagram: unknown names
    at.selectbox(key="inspector_layer").set_value(options[-1].split(" ")[0]).run()
    assert "window of the input" in text(at) and not at.exception


class FakeJob:
    """What the Train page's TrainingJob offers the inspector."""

    def __init__(self):
        self.config = PRESETS["seed-simple"]
        self.status, self.epoch, self.history = "done", 5, []
        first = build_unet(self.config).get_weights()
        self.snapshots = [(0, first), (5, [w + 0.5 for w in first])]

    def weights_copy(self):
        model = build_unet(self.config)
        model.set_weights(self.snapshots[-1][1])
        return model


def test_a_model_trained_in_this_session_can_be_watched_over_the_epochs():
    at = open_page("Trained on the Train page")
    assert "No model has been trained in this session yet" in text(at)
    job = FakeJob()
    at = open_page("Trained on the Train page", {"train_job": job})
    assert "5 epochs" in text(at)
    slider = at.select_slider(key="inspector_epoch")
    assert slider.value == 5
    late = np.asarray(chart(at, "inspector_filters")["data"][0]["customdata"]["bdata"])
    slider.set_value(0).run()
    early = chart(at, "inspector_filters")["data"][0]["customdata"]["bdata"]
    assert late != early  # the raw weights shown on hover come from epoch 0 now
