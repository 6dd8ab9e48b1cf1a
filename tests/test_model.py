"""unetviz.model: the tutorial's two models, the builder's rules, safe loading."""

import io
import json
import zipfile

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from unetviz.model import (  # noqa: E402
    PRESETS,
    ModelLoadError,
    UNetConfig,
    UNetConfigError,
    build_unet,
    load_model,
    model_to_bytes,
    rebuild,
    save_model,
)


def summary_rows(model):
    return [(layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
            for layer in model.layers]


def test_seed_simple_layer_for_layer():
    m = build_unet(PRESETS["seed-simple"])
    assert summary_rows(m) == [
        ("input", "InputLayer", (8, 8, 1), 0),
        ("enc1_conv1", "Conv2D", (8, 8, 2), 20),
        ("enc1_conv2", "Conv2D", (8, 8, 2), 38),
        ("enc1_pool", "MaxPooling2D", (4, 4, 2), 0),
        ("bottleneck_conv1", "Conv2D", (4, 4, 3), 57),
        ("bottleneck_conv2", "Conv2D", (4, 4, 3), 84),
        ("dec1_up", "UpSampling2D", (8, 8, 3), 0),
        ("dec1_upconv", "Conv2D", (8, 8, 2), 56),
        ("dec1_concat", "Concatenate", (8, 8, 4), 0),
        ("dec1_conv1", "Conv2D", (8, 8, 2), 74),
        ("out", "Conv2D", (8, 8, 1), 19),
    ]
    assert m.count_params() == 348
    assert m.get_layer("out").activation.__name__ == "sigmoid"
    # The encoder's map comes first in the concatenation, as in the tutorial.
    concat = m.get_layer("dec1_concat")
    assert [t._keras_history[0].name for t in concat.input] == ["enc1_conv2", "dec1_upconv"]


def test_seed_membrane_layer_for_layer():
    m = build_unet(PRESETS["seed-membrane"])
    params = [(layer.name, layer.count_params()) for layer in m.layers if layer.count_params()]
    assert [p for _, p in params] == [160, 2320, 4640, 9248, 51264, 102464, 204928, 409728,
                                      32832, 204864, 102464, 8224, 18464, 9248, 2064, 4624,
                                      2320, 290, 3]
    assert m.count_params() == 1_170_149
    shapes = {layer.name: tuple(layer.output.shape[1:]) for layer in m.layers}
    assert shapes["enc3_pool"] == (8, 8, 64)
    assert shapes["bottleneck_conv2"] == (8, 8, 128)
    assert shapes["dec3_upconv"] == (16, 16, 64) and shapes["dec3_concat"] == (16, 16, 128)
    assert shapes["dec1_concat"] == (64, 64, 32) and shapes["head_conv"] == (64, 64, 2)
    assert shapes["out"] == (64, 64, 1)
    assert m.get_layer("dec3_upconv").kernel_size == (2, 2)
    assert m.get_layer("out").kernel_size == (1, 1)
    assert m.get_layer("out").activation.__name__ == "sigmoid"


def test_config_round_trips_through_dict():
    cfg = PRESETS["seed-membrane"]
    assert UNetConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


@pytest.mark.parametrize("changes,match", [
    (dict(input_size=60), "not divisible by 2\\^3 = 8"),
    (dict(filters=(16, 32)), "one filter count per level"),
    (dict(kernel_sizes=(3, 3, 3)), "one kernel size per level"),
    (dict(activation="swishy"), "Unknown activation"),
    (dict(upsampling="magic"), "Unknown up-sampling"),
])
def test_impossible_configs_are_explained(changes, match):
    with pytest.raises(UNetConfigError, match=match):
        build_unet(PRESETS["seed-membrane"].replace(**changes))


def test_options_change_the_model():
    base = PRESETS["seed-membrane"]
    no_skip = build_unet(base.replace(skips=False))
    assert not any("concat" in layer.name for layer in no_skip.layers)
    tr = build_unet(base.replace(upsampling="transpose"))
    assert type(tr.get_layer("dec1_up")).__name__ == "Conv2DTranspose"
    bn = build_unet(base.replace(batch_norm=True))
    assert type(bn.get_layer("enc1_conv1_bn")).__name__ == "BatchNormalization"
    open_size = build_unet(base.replace(input_size=None))
    assert open_size(np.zeros((1, 32, 48, 1), "float32")).shape == (1, 32, 48, 1)


def test_save_and_load_round_trip(tmp_path):
    m = build_unet(PRESETS["seed-simple"])
    m.compile("adam", "mse")
    path = save_model(m, tmp_path / "m.keras")
    back = load_model(path)
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype("float32")
    np.testing.assert_allclose(back(x), m(x), atol=1e-6)
    assert load_model(model_to_bytes(m)).count_params() == 348
    with open(path, "rb") as fh:
        assert load_model(fh).count_params() == 348


def test_rebuild_changes_input_size_and_keeps_weights():
    m = build_unet(PRESETS["seed-simple"])
    big = rebuild(m, PRESETS["seed-simple"].replace(input_size=16))
    assert big.input_shape == (None, 16, 16, 1)
    for a, b in zip(m.get_weights(), big.get_weights()):
        np.testing.assert_array_equal(a, b)


def _lambda_model_bytes(tmp_path):
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Lambda(lambda t: t * 2)(inp)
    path = tmp_path / "lam.keras"
    keras.Model(inp, out).save(path)
    return path.read_bytes()


def test_lambda_layer_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="Lambda"):
        load_model(_lambda_model_bytes(tmp_path))


def test_not_image_to_image_is_refused(tmp_path):
    inp = keras.Input((8, 8, 1))
    out = keras.layers.Dense(3)(keras.layers.Flatten()(inp))
    path = tmp_path / "clf.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(ModelLoadError, match="image-to-image"):
        load_model(path)


def _valid_unet(size):
    """The 2015 paper's pattern at toy size: valid 3x3 convolutions and a cropped skip."""
    x = keras.Input((size, size, 1))
    a = keras.layers.Conv2D(2, 3, activation="relu")(keras.layers.Conv2D(2, 3, activation="relu")(x))
    b = keras.layers.MaxPooling2D(2)(a)
    b = keras.layers.Conv2D(4, 3, activation="relu")(keras.layers.Conv2D(4, 3, activation="relu")(b))
    up = keras.layers.Conv2DTranspose(2, 2, strides=2)(b)
    c = keras.layers.Concatenate()([keras.layers.Cropping2D(4)(a), up])
    return keras.Model(x, keras.layers.Conv2D(1, 1, activation="sigmoid")(c))


@pytest.mark.parametrize("size", [44, None])
def test_valid_convolution_unet_loads(tmp_path, size):
    m = _valid_unet(size)
    m.save(tmp_path / "valid.keras")
    back = load_model(tmp_path / "valid.keras")
    x = np.random.default_rng(0).random((1, 44, 44, 1)).astype("float32")
    assert back(x).shape == (1, 32, 32, 1)
    np.testing.assert_allclose(back(x), m(x), atol=1e-6)


def test_output_larger_than_input_is_refused(tmp_path):
    inp = keras.Input((8, 8, 1))
    out = keras.layers.UpSampling2D(2)(inp)
    keras.Model(inp, out).save(tmp_path / "up.keras")
    with pytest.raises(ModelLoadError, match=r"output size 16x16 is larger than its input size 8x8"):
        load_model(tmp_path / "up.keras")


def test_custom_module_is_refused():
    buf = io.BytesIO()
    config = {"module": "os", "class_name": "system", "config": {}}
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", json.dumps(config))
        zf.writestr("metadata.json", "{}")
    with pytest.raises(ModelLoadError, match="Only Keras' own layers"):
        load_model(buf.getvalue())


@pytest.mark.parametrize("data,match", [(b"", "empty"), (b"not a zip at all", "not a Keras model"),
                                        (b"PK\x03\x04garbage", "not a Keras model|damaged")])
def test_garbage_is_refused(data, match):
    with pytest.raises(ModelLoadError, match=match):
        load_model(data)


def test_missing_path_is_refused(tmp_path):
    with pytest.raises(ModelLoadError, match="No model file"):
        load_model(tmp_path / "nope.keras")
