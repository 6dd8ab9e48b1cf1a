"""AppTests of the inspector page: models, layers, pages of channels, threshold, uploads, epochs,
full-size images, multi-class and valid-convolution models, region attribution."""

import base64
import io
import json
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import need_isbi
from PIL import Image
from streamlit.testing.v1 import AppTest
from unet_zoo import ZOO

from unetviz.data import read_isbi_folder
from unetviz.metrics import class_scores, segmentation_scores
from unetviz.model import PRESETS, build_unet, load_model, model_to_bytes

ROOT = Path(__file__).resolve().parent.parent
MEMBRANE = ROOT / "pretrained" / "membrane.keras"
PAGE = "pages/inspector.py"
FILE, ISBI = "Image file (full size)", "ISBI slice (full size)"


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


def ints(at: AppTest, key: str, axis: str = "x", trace: int = 0) -> np.ndarray:
    """The int16 pixel coordinates along ``axis`` of a chart's trace (true coordinates)."""
    a = chart(at, key)["data"][trace][axis]
    return np.frombuffer(base64.b64decode(a["bdata"]), np.int16)


def screen_bytes(at: AppTest) -> int:
    """The figure data of every chart on the screen."""
    return sum(len(el.proto.spec) for el in at.get("plotly_chart"))


def png(a: np.ndarray) -> bytes:
    """(H, W) or (H, W, 3) uint8 as PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def upload_model(at: AppTest, model, name: str = "mine.keras") -> AppTest:
    at.radio(key="inspector_model").set_value("Upload a .keras file").run()
    at.file_uploader(key="inspector_model_upload").set_value(
        (name, model_to_bytes(model), "application/zip")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def upload_image(at: AppTest, image: np.ndarray, label: np.ndarray | None = None) -> AppTest:
    at.radio(key="inspector_input_kind").set_value(FILE).run()
    at.file_uploader(key="inspector_image_upload").set_value(("slice.png", png(image), "image/png")).run()
    if label is not None:
        at.file_uploader(key="inspector_label_upload").set_value(("label.png", png(label), "image/png")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def small_open_unet():
    return build_unet(PRESETS["seed-simple"].replace(input_size=None))


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
    assert "channels 0-1 are enc1_conv2, copied across the U (the skip); 2-3 come up" in text(at)
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


def test_isbi_slice_is_predicted_whole_with_v_rand_and_a_bad_folder_gets_a_message():
    needs_membrane()
    folder = need_isbi()
    at = open_page("Pretrained: membrane")
    at.number_input(key="inspector_rf_row").set_value(3).run()  # a pixel of the small sample
    at.radio(key="inspector_input_kind").set_value(ISBI).run()
    assert "UNETVIZ_ISBI_DIR" in text(at)  # no default folder outside the repository
    at.text_input(key="inspector_isbi_folder").set_value(str(folder)).run()
    at.number_input(key="inspector_isbi_slice").set_value(27).run()
    assert not at.exception and not at.error
    # A new image starts the picked pixel at its centre, not where the last one had it.
    assert at.number_input(key="inspector_rf_row").value == 256
    scores = {m.label: float(m.value) for m in at.metric}
    assert list(scores) == ["Pixel error", "Membrane Dice", "Membrane IoU", "V_rand"]
    cols = ints(at, "inspector_prob")  # the output chart, every step-th column, true numbers
    assert cols[-1] + (cols[1] - cols[0]) >= 512 > cols[-1]  # the whole 512-wide slice
    # The same numbers worked out here, independently of the page.
    d = read_isbi_folder(folder, [27])
    prob = np.asarray(load_model(MEMBRANE)(d.images[:, :, :, None]))[0, ..., 0]
    expected = segmentation_scores(prob, d.labels[0])
    assert scores["V_rand"] == pytest.approx(expected.v_rand, abs=2e-3)
    assert scores["Membrane Dice"] == pytest.approx(expected.dice, abs=2e-3)
    assert "Predicted in one pass at 512x512" in text(at)
    at.selectbox(key="inspector_layer").set_value("bottleneck_conv1").run()  # the most channels
    assert screen_bytes(at) < 1_350_000  # every chart of the screen, room for the region's two
    at.text_input(key="inspector_isbi_folder").set_value("/no/such/folder").run()
    assert any("There is no folder" in e.value for e in at.error)
    assert not at.exception


def test_a_bad_upload_gets_a_message_and_a_good_one_is_inspected():
    at = open_page("Upload a .keras file")
    assert "Upload a .keras file" in text(at)
    at.file_uploader(key="inspector_model_upload").upload("junk.keras", b"not a zip").run()
    (error,) = at.error
    assert error.value.startswith("junk.keras: ") and "not a Keras model file" in error.value
    assert "upload it again" in error.value
    assert not at.exception
    good = model_to_bytes(build_unet(PRESETS["seed-simple"]))
    at.file_uploader(key="inspector_model_upload").set_value(("small.keras", good, "application/zip")).run()
    assert not at.error
    assert "enc1_pool" in at.selectbox(key="inspector_layer").options[3]
    at.selectbox(key="inspector_layer").set_value("input").run()
    assert "**1x1** window" in text(at) and not at.exception


def test_an_uploaded_model_with_its_own_layer_names_still_works():
    inp = keras.Input((None, None, 1))
    a = keras.layers.Conv2D(3, 5, padding="same", activation="relu")(inp)
    b = keras.layers.AveragePooling2D(2)(a)
    c = keras.layers.UpSampling2D(interpolation="bilinear")(b)
    out = keras.layers.Conv2D(1, 1, activation="sigmoid")(keras.layers.Concatenate()([a, c]))
    model = keras.Model(inp, out)
    at = upload_model(open_page(), model)
    assert not at.exception and not at.error
    options = at.selectbox(key="inspector_layer").options
    assert any("Concatenate" in o and "skip from" in o for o in options)
    assert all(el.key != "inspector_u" for el in at.get("plotly_chart"))  # no U diagram: unknown names
    at.selectbox(key="inspector_layer").set_value(model.layers[-1].name).run()
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


# ---------------------------------------------------------------- any model, full-size images


def range_radio(at: AppTest):
    (radio,) = [r for r in at.radio if r.label == "Pixel values the model expects"]
    return radio


def test_an_image_upload_then_a_model_upload_do_not_clash():
    # The grid's own upload and the model's upload used to share the key "inspector_upload".
    at = open_page("Pretrained: inversion")
    at.radio(key="inspector_source").set_value("Upload").run()
    image = (np.random.default_rng(5).random((40, 40)) * 255).astype(np.uint8)
    at.file_uploader(key="inspector_upload").set_value(("small.png", png(image), "image/png")).run()
    upload_model(at, small_open_unet())
    assert not at.error and chart(at, "inspector_prob")


def test_a_model_upload_and_a_full_size_image_upload_work_together():
    at = upload_model(open_page(), small_open_unet())
    at.radio(key="inspector_source").set_value("Upload").run()
    assert not at.exception, [e.value for e in at.exception]
    image = (np.random.default_rng(0).random((512, 512)) * 255).astype(np.uint8)
    upload_image(at, image)
    assert not at.error
    assert "slice.png: 512x512 pixels, used at full size" in text(at)
    cols, rows = ints(at, "inspector_prob", "x"), ints(at, "inspector_prob", "y")
    step = int(cols[1] - cols[0])
    assert cols[-1] < 512 <= cols[-1] + step and rows[-1] < 512 <= rows[-1] + step
    assert f"1 pixel in {step} shown" in chart(at, "inspector_prob")["layout"]["title"]["text"]
    assert "Predicted in one pass at 512x512" in text(at)
    assert "512x512 each" in chart(at, "inspector_acts")["layout"]["title"]["text"]
    at.button(key="inspector_region_go").click().run()
    assert screen_bytes(at) < 1_500_000  # every chart of the screen together


def rgb_softmax_model(classes: int = 3):
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 3))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    b = keras.layers.UpSampling2D(2)(keras.layers.MaxPooling2D(2)(a))
    m = keras.layers.Concatenate()([a, b])
    return keras.Model(inp, keras.layers.Conv2D(classes, 1, activation="softmax")(m))


def test_a_softmax_rgb_model_shows_class_maps_and_per_class_scores():
    model = rgb_softmax_model()
    rng = np.random.default_rng(1)
    image = (rng.random((32, 48, 3)) * 255).astype(np.uint8)
    label = rng.integers(0, 3, (32, 48)).astype(np.uint8)  # class numbers as pixel values
    at = upload_image(upload_model(open_page(), model), image, label)
    assert not at.error
    out = chart(at, "inspector_prob")
    assert list(out["data"][0]["colorbar"]["ticktext"]) == ["class 0", "class 1", "class 2"]
    assert "class 2" in chart(at, "inspector_out_maps")["layout"]["annotations"][2]["text"]
    in_fig = chart(at, "inspector_in")["data"][0]
    assert in_fig["type"] == "image"  # the RGB image itself, not grey copies
    # Per-class scores, worked out here from the model itself.
    pred = np.argmax(np.asarray(model(image[None].astype(np.float32) / 255.0)), axis=-1)[0]
    expected = class_scores(pred, label.astype(np.int64), 3)
    table = at.dataframe[0].value
    assert list(table["class"]) == [0, 1, 2]
    np.testing.assert_allclose(table["Dice"], [round(r["dice"], 3) for r in expected], atol=1e-3)
    np.testing.assert_allclose(table["IoU"], [round(r["iou"], 3) for r in expected], atol=1e-3)
    assert not any("membrane" in m.value.lower() for m in at.caption)


def test_the_inversion_model_gets_no_membrane_screens():
    at = open_page("Pretrained: inversion")
    assert not at.metric  # no Dice against a membrane sample
    assert "membrane" not in at.slider(key="inspector_threshold").label.lower()
    assert "membrane" not in text(at).lower()
    assert "1 − input" in text(at)  # what this model was trained to do


def test_a_bad_model_file_gets_an_error_naming_it_not_a_traceback():
    at = open_page("Upload a .keras file")
    inp = keras.Input((8, 8, 1))
    dense = keras.Model(inp, keras.layers.Dense(3)(keras.layers.Flatten()(inp)))
    at.file_uploader(key="inspector_model_upload").set_value(
        ("flat.keras", model_to_bytes(dense), "application/zip")).run()
    assert not at.exception
    (error,) = at.error
    assert error.value.startswith("flat.keras: ") and "upload it again" in error.value


def valid_unet():
    """The 2015 paper's kind of U-Net, tiny: valid convolutions and a cropped skip."""
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 1))
    a = keras.layers.Conv2D(4, 3, activation="relu")(inp)  # n - 2
    c = keras.layers.Conv2D(8, 3, activation="relu")(keras.layers.MaxPooling2D(2)(a))  # (n - 2)/2 - 2
    m = keras.layers.Concatenate()([keras.layers.Cropping2D(2)(a), keras.layers.UpSampling2D(2)(c)])
    return keras.Model(inp, keras.layers.Conv2D(1, 1, activation="sigmoid")(m))  # n - 6


def test_a_valid_convolution_unet_shows_both_sizes_and_predicts_the_whole_image():
    at = upload_model(open_page(), valid_unet())
    assert not at.error
    assert "64x64 input window gives a 58x58 output" in text(at)
    assert "3 pixels in from the top" in text(at)
    cols = ints(at, "inspector_prob")
    assert len(cols) == 64 and cols[-1] == 63  # the prediction covers the whole 64x64 image
    at.selectbox(key="inspector_layer").set_value(at.selectbox(key="inspector_layer").options and
                                                  valid_unet().layers[-1].name).run()
    assert "window of the input" in text(at) and not at.exception


def test_a_model_that_rescales_its_input_gets_0_to_255():
    inp = keras.Input((None, None, 1))
    scaled = keras.layers.Rescaling(1 / 255)(inp)
    out = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")(scaled)
    at = upload_model(open_page(), keras.Model(inp, out))
    assert range_radio(at).value == "0 to 255"
    range_radio(at).set_value("0 to 1").run()
    assert range_radio(at).value == "0 to 1" and not at.exception


def test_tta_is_off_by_default_and_says_what_it_did():
    at = open_page("Pretrained: inversion")
    assert at.toggle(key="inspector_tta").value is False
    at.toggle(key="inspector_tta").set_value(True).run()
    assert "8 rotations and flips" in text(at) and not at.exception


def test_which_pixels_drove_a_region():
    at = open_page("Pretrained: inversion")
    assert all(el.key != "inspector_region_grad" for el in at.get("plotly_chart"))  # only on demand
    for side, value in (("top", 2), ("left", 2), ("bottom", 4), ("right", 5)):
        at.number_input(key=f"inspector_region_{side}").set_value(value)
    at.button(key="inspector_region_go").click().run()
    assert not at.exception and not at.error
    cam = chart(at, "inspector_region_cam")
    heat = np.frombuffer(base64.b64decode(cam["data"][1]["z"]["bdata"]), np.float32)
    assert heat.min() >= 0 and heat.max() <= 1
    grad = chart(at, "inspector_region_grad")
    assert grad["layout"]["shapes"][0]["x0"] == 1.5  # the region outlined: columns 2..4
    at.radio(key="inspector_region_how").set_value("One class's predicted pixels").run()
    at.button(key="inspector_region_go").click().run()
    assert not at.exception


def test_a_separable_convolution_shows_both_its_kernels():
    keras.utils.set_random_seed(0)
    inp = keras.Input((None, None, 1))
    sep = keras.layers.SeparableConv2D(6, 3, padding="same", activation="relu", name="sep")(inp)
    out = keras.layers.Conv2D(1, 1, activation="sigmoid")(sep)
    at = upload_model(open_page(), keras.Model(inp, out))
    at.selectbox(key="inspector_layer").set_value("sep").run()
    depthwise = chart(at, "inspector_filters")["data"][0]
    pointwise = chart(at, "inspector_filters_pointwise_kernel")["data"][0]
    assert depthwise["z"]["shape"] == "3, 3"  # one 3x3 filter for the one input channel
    assert pointwise["z"]["shape"] == "1, 11"  # six 1x1 filters in a row, gaps between them
    assert "Depthwise weights" in text(at) and "Pointwise weights" in text(at)


def strided_bilinear_unet():
    """Stride-2 convolutions instead of pooling, a dilated conv, bilinear up-sampling."""
    keras.utils.set_random_seed(1)
    inp = keras.Input((None, None, 1))
    a = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inp)
    b = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(a)
    c = keras.layers.Conv2D(6, 3, strides=2, padding="same", dilation_rate=1, activation="relu")(b)
    d = keras.layers.Conv2D(6, 3, padding="same", dilation_rate=2, activation="relu")(c)
    u = keras.layers.UpSampling2D(2, interpolation="bilinear")(d)
    u = keras.layers.UpSampling2D(2, interpolation="bilinear")(keras.layers.Concatenate()([u, b]))
    return keras.Model(inp, keras.layers.Conv2D(1, 1)(keras.layers.Concatenate()([u, a])))


@pytest.mark.parametrize("build", [valid_unet, strided_bilinear_unet])
def test_the_pixel_gradient_on_a_crop_equals_the_whole_windows(build):
    from pages._inspect_grad import local_gradient
    from unetviz.inspection import Inspector

    ins = Inspector(build())
    x = np.random.default_rng(0).random((96, 96)).astype(np.float32)
    sizes = []
    gradient = ins.input_gradient
    ins.input_gradient = lambda image, *a, **k: sizes.append(image.shape) or gradient(image, *a, **k)
    for view in ins.layers[1:]:
        h, w = ins.shapes(x.shape)[view.name][:2]
        for r, c in [(0, 0), (h // 2, w // 3), (h - 1, w - 1), (h // 4, w - 2)]:
            field = ins.receptive_field(view.name, r, c, size=x.shape)
            local = local_gradient(ins, x, view.name, r, c, channel=0, field=field)
            whole = gradient(x, view.name, r, c, channel=0)
            np.testing.assert_allclose(local, whole, atol=1e-6, err_msg=f"{view.name} ({r}, {c})")
    crops = [s for s in sizes if s != x.shape]
    assert len(crops) > len(sizes) // 3, sizes  # most fields were cut out, not the whole window


# ---------------------------------------------------------------- the zoo of third-party U-Nets


@pytest.mark.parametrize("name", sorted(ZOO))
def test_every_zoo_model_is_predicted_and_inspected_without_an_error(name):
    model = ZOO[name][0]()
    at = upload_model(open_page(), model, f"{name}.keras")
    assert not at.error, [e.value for e in at.error]
    assert chart(at, "inspector_prob") and chart(at, "inspector_acts")
    assert range_radio(at).value == ("0 to 255" if name == "preprocessing" else "0 to 1")
    names = _layer_names(at)
    for layer in (names[len(names) // 2], names[-1]):
        at.selectbox(key="inspector_layer").set_value(layer).run()
        assert not at.exception, [e.value for e in at.exception]
        assert "window of the input" in text(at) or "No receptive field" in text(at)
    at.button(key="inspector_region_go").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert chart(at, "inspector_region_cam")


def _layer_names(at: AppTest) -> list[str]:
    """The layer names behind the layer picker's labels, in its order."""
    labels = at.selectbox(key="inspector_layer").options
    return [label.split(" · ", 1)[-1].split(" (", 1)[0] for label in labels]


def test_a_fixed_size_model_tiles_a_large_image_and_looks_through_a_window_you_move():
    at = upload_model(open_page(), ZOO["strided"][0](), "strided.keras")  # takes 16x16 only
    image = (np.random.default_rng(4).random((100, 80)) * 255).astype(np.uint8)
    upload_image(at, image)
    assert not at.error
    assert "Overlap-tile prediction" in text(at)
    cols, rows = ints(at, "inspector_prob", "x"), ints(at, "inspector_prob", "y")
    assert (cols[-1], rows[-1]) == (79, 99)  # the whole image, not one tile
    assert "16x16 window of the 80x100 image" in text(at)
    before = chart(at, "inspector_rf_in")["data"][0]["z"]["bdata"]
    at.slider(key="inspector_win_top").set_value(40).run()
    at.slider(key="inspector_win_left").set_value(8).run()
    assert not at.exception
    after = chart(at, "inspector_rf_in")["data"][0]["z"]
    shown = np.frombuffer(base64.b64decode(after["bdata"]), np.float32).reshape(16, 16)
    np.testing.assert_allclose(shown, image[40:56, 8:24] / 255, atol=1e-6)
    assert after["bdata"] != before


def test_membrane_bn_is_listed_when_its_file_is_there_and_gets_membrane_screens(tmp_path, monkeypatch):
    at = open_page()
    import pages._inspect_source as source  # imported by the page's run (the canvas needs a runtime)

    monkeypatch.setattr(source, "PRETRAINED", tmp_path / "empty")
    at.run()
    assert "Pretrained: membrane-bn" not in at.radio(key="inspector_model").options

    model = build_unet(PRESETS["seed-simple"].replace(input_size=None))
    model.save(tmp_path / "membrane-bn.keras")
    (tmp_path / "membrane-bn.json").write_text(json.dumps({"name": "membrane-bn"}))
    (tmp_path / "membrane-bn.md").write_text("# Model card: membrane-bn")
    monkeypatch.setattr(source, "PRETRAINED", tmp_path)
    at.run()
    at.radio(key="inspector_model").set_value("Pretrained: membrane-bn").run()
    assert not at.exception and not at.error
    assert "membrane" in at.slider(key="inspector_threshold").label  # known by its card
    assert [m.label for m in at.metric] == ["Pixel error", "Membrane Dice", "Membrane IoU", "V_rand"]
