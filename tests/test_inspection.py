"""unetviz.inspection and unetviz.inspect_figures: U order, activations, filters, receptive fields."""

import json

import keras
import numpy as np
import pytest

from unetviz import ops
from unetviz.inspect_figures import (
    MAX_BYTES,
    Tiling,
    channel_tiling,
    channels_figure,
    errors_figure,
    filters_figure,
    image_figure,
)
from unetviz.inspection import (
    Inspector,
    ReceptiveField,
    gradient_summary,
    membrane_errors,
    normalise_filters,
    sample_label,
    u_layers,
)
from unetviz.model import PRESETS, build_unet
from unetviz.samples import membrane_pair

LIMIT = 1_500_000  # the limit on one view's figure data


@pytest.fixture(scope="module")
def simple():
    keras.utils.set_random_seed(1)
    return Inspector(build_unet(PRESETS["seed-simple"]))


@pytest.fixture(scope="module")
def image():
    return np.random.default_rng(0).random((8, 8)).astype(np.float32)


# ---------------------------------------------------------------- U order


def test_layers_come_in_the_order_of_the_u_with_skips_marked(simple):
    views = simple.layers
    assert [v.name for v in views] == [
        "input", "enc1_conv1", "enc1_conv2", "enc1_pool", "bottleneck_conv1", "bottleneck_conv2",
        "dec1_up", "dec1_upconv", "dec1_concat", "dec1_conv1", "out"]
    assert [v.part for v in views] == ["input"] + ["encoder"] * 3 + ["bottleneck"] * 2 + \
        ["decoder"] * 4 + ["output"]
    assert simple.layer("bottleneck_conv1").level == 2
    assert simple.layer("enc1_conv2").skip_to == "dec1_concat"
    assert simple.layer("dec1_concat").skip_from == "enc1_conv2"
    assert simple.layer("dec1_concat").inputs == ("enc1_conv2", "dec1_upconv")
    assert "skip to dec1_concat" in simple.layer("enc1_conv2").label
    assert simple.layer("enc1_pool").has_filters is False


def test_models_with_other_names_are_placed_by_their_graph():
    inp = keras.Input((8, 8, 1))
    a = keras.layers.Conv2D(2, 3, padding="same")(inp)
    b = keras.layers.MaxPooling2D()(a)
    c = keras.layers.UpSampling2D()(b)
    d = keras.layers.Concatenate()([a, c])
    model = keras.Model(inp, keras.layers.Conv2D(1, 1)(d))
    views = u_layers(model)
    assert [v.part for v in views] == ["input", "encoder", "encoder", "decoder", "decoder", "output"]
    assert [v.level for v in views] == [0, 1, 1, 1, 1, 0]
    assert views[4].kind == "Concatenate" and views[4].skip_from == views[1].name
    assert views[4].roles == ("skip", "up")
    assert views[1].skip_to == views[4].name
    ins = Inspector(model)
    assert ins.specs() is None
    # conv 3x3 then pool: pixel 0 of the pool reads conv rows 0..1, input rows -1..2
    assert ins.receptive_field(views[2].name, 0, 0, size=(8, 8)) == ReceptiveField(0, 0, 2, 2, 4, 4)


# ---------------------------------------------------------------- activations


def test_activations_come_from_one_cached_model_and_match_the_numpy_ops(simple, image):
    acts = simple.activations(image)
    first = simple.activation_model
    simple.activations(image)
    assert simple.activation_model is first  # built once
    assert acts["input"].shape == (8, 8, 1) and acts["enc1_pool"].shape == (4, 4, 2)
    np.testing.assert_allclose(acts["out"], np.asarray(simple.model(image[None, ..., None]))[0],
                               atol=1e-6)
    np.testing.assert_allclose(acts["enc1_pool"], ops.max_pool(acts["enc1_conv2"], 2), atol=1e-7)
    np.testing.assert_allclose(acts["dec1_up"], ops.upsample(acts["bottleneck_conv2"], 2), atol=1e-7)
    np.testing.assert_array_equal(acts["dec1_concat"],
                                  np.concatenate([acts["enc1_conv2"], acts["dec1_upconv"]], -1))


def test_one_direct_call_gives_every_layer_and_is_remembered_until_the_weights_change(image):
    ins = Inspector(build_unet(PRESETS["seed-simple"]))
    real, calls = ins.activation_model, []

    class Counting:  # stands in for the cached multi-output model
        def __call__(self, x, training):
            calls.append((x.shape, training))
            return real(x, training=training)

    ins._activation_model = Counting()
    acts = ins.activations(image)
    assert calls == [((1, 8, 8, 1), False)] and len(acts) == 11
    assert ins.activations(image) is acts and len(calls) == 1  # same input: remembered
    ins.set_weights(ins.model.get_weights())  # the same weights: still remembered
    assert ins.activations(image) is acts
    ins.set_weights([w + 0.1 for w in ins.model.get_weights()])
    assert not np.allclose(ins.activations(image)["enc1_conv1"], acts["enc1_conv1"])
    assert len(calls) == 2


def test_prepare_fits_the_image_to_the_model(simple):
    membrane = Inspector(build_unet(PRESETS["seed-membrane"].replace(input_size=None)))
    assert membrane.input_size is None and membrane.multiple == 8
    assert membrane.prepare(np.ones((50, 50))).shape == (48, 48)
    assert membrane.prepare(np.ones((5, 5))).shape == (8, 8)
    assert simple.prepare(np.ones((64, 64))).shape == (8, 8)
    np.testing.assert_array_equal(simple.prepare(np.eye(8), invert=True), 1 - np.eye(8))
    with pytest.raises(ValueError, match="16x16 image .* expected shape=.None, 8, 8, 1"):
        simple.activations(np.ones((16, 16), np.float32))
    # 20 -> 10 -> 5 -> 2, up again to 4, which cannot meet the skip of 5: Keras says so
    with pytest.raises(ValueError, match="cannot take this 20x20 image"):
        membrane.activations(np.ones((20, 20), np.float32))
    assert membrane.activations(np.ones((24, 24), np.float32))["out"].shape == (24, 24, 1)


def test_kernel_and_set_weights(simple):
    kernel, bias = simple.kernel("enc1_conv1")
    assert kernel.shape == (3, 3, 1, 2) and bias.shape == (2,)
    with pytest.raises(ValueError, match="no filters"):
        simple.kernel("enc1_pool")
    with pytest.raises(ValueError, match="no layer"):
        simple.layer("nope")
    copy = Inspector(build_unet(PRESETS["seed-simple"]))
    copy.set_weights(simple.model.get_weights())
    np.testing.assert_array_equal(copy.kernel("out")[0], simple.kernel("out")[0])


def test_normalise_filters_by_hand():
    k = np.array([[-1.0, 0.0], [1.0, 3.0]])
    np.testing.assert_allclose(normalise_filters(k), [[0.0, 0.25], [0.5, 1.0]])
    np.testing.assert_allclose(normalise_filters(k, mode="zero"), [[-1 / 3, 0.0], [1 / 3, 1.0]])
    np.testing.assert_array_equal(normalise_filters(np.ones((2, 2))), np.full((2, 2), 0.5))
    np.testing.assert_array_equal(normalise_filters(np.zeros(3), mode="zero"), np.zeros(3))
    assert k[0, 0] == -1.0  # input untouched
    with pytest.raises(ValueError, match="layer"):
        normalise_filters(k, mode="max")


def test_membrane_errors_and_sample_label():
    prob = np.array([[0.9, 0.2], [0.7, 0.4]])
    label = np.array([[1, 0], [0, 1]])
    np.testing.assert_array_equal(membrane_errors(prob, label), [[0, 1], [2, 3]])
    np.testing.assert_array_equal(membrane_errors(prob, label, threshold=0.8), [[0, 1], [1, 3]])
    with pytest.raises(ValueError, match="differ"):
        membrane_errors(prob, label[:1])
    np.testing.assert_array_equal(sample_label("membrane", 64), membrane_pair(64)[1])
    assert sample_label("membrane", 16).shape == (16, 16)
    assert sample_label("letter", 16) is None


# ---------------------------------------------------------------- receptive fields


@pytest.mark.parametrize("name, pixel, box, size", [
    ("enc1_conv1", (2, 2), (1, 1, 3, 3), 3),  # one 3x3 conv: 1 pixel each side
    ("enc1_conv2", (2, 2), (0, 0, 4, 4), 5),  # two: 2 each side
    ("enc1_pool", (1, 1), (0, 0, 5, 5), 6),  # conv rows 2..3, each widened by 2
    ("bottleneck_conv1", (1, 1), (0, 0, 7, 7), 10),  # pool rows 1..3 -> conv 2..7 -> input 0..9
    ("out", (4, 4), (0, 0, 7, 7), 20),  # worked in the docstring of the test module's notes
])
def test_receptive_field_by_hand(simple, name, pixel, box, size):
    rf = simple.receptive_field(name, *pixel, size=(8, 8))
    assert (rf.top, rf.left, rf.bottom, rf.right) == box
    assert rf.rows == rf.cols == size


def test_gradient_of_a_linear_conv_is_its_kernel():
    inp = keras.Input((6, 6, 1))
    conv = keras.layers.Conv2D(1, 3, padding="same", use_bias=False, name="enc1_conv1")
    model = keras.Model(inp, conv(inp))
    w = np.arange(9, dtype=np.float32).reshape(3, 3, 1, 1)
    conv.set_weights([w])
    ins = Inspector(model)
    grad = ins.input_gradient(np.zeros((6, 6), np.float32), model.layers[1].name, 2, 3)
    expected = np.zeros((6, 6), np.float32)
    expected[1:4, 2:5] = w[:, :, 0, 0]  # correlation: out[2, 3] = sum w[i, j] x[1 + i, 2 + j]
    np.testing.assert_allclose(grad, expected)


@pytest.mark.parametrize("upsampling", ["upsample_conv", "transpose"])
def test_gradient_stays_inside_the_theoretical_field(upsampling):
    keras.utils.set_random_seed(2)
    cfg = PRESETS["seed-simple"].replace(input_size=16, upsampling=upsampling, activation="tanh")
    ins = Inspector(build_unet(cfg))
    x = np.random.default_rng(1).random((16, 16)).astype(np.float32)
    for name, r, c in [("enc1_conv2", 3, 12), ("enc1_pool", 2, 6), ("dec1_concat", 1, 14),
                       ("out", 8, 0)]:
        rf = ins.receptive_field(name, r, c, size=(16, 16))
        grad = ins.input_gradient(x, name, r, c)
        rows, cols = np.nonzero(grad)
        assert rows.size > 0
        assert rf.top <= rows.min() and rows.max() <= rf.bottom, name
        assert rf.left <= cols.min() and cols.max() <= rf.right, name
        assert gradient_summary(grad, rf)["inside"] == pytest.approx(1.0)


def test_gradient_of_one_channel_and_bad_channel(simple, image):
    both = simple.input_gradient(image, "enc1_conv1", 4, 4)
    parts = [simple.input_gradient(image, "enc1_conv1", 4, 4, channel=c) for c in (0, 1)]
    np.testing.assert_allclose(both, parts[0] + parts[1], atol=1e-6)
    with pytest.raises(ValueError, match="channels 0 to 1"):
        simple.input_gradient(image, "enc1_conv1", 4, 4, channel=2)


def test_gradient_summary_by_hand():
    g = np.zeros((4, 4))
    g[0, 0], g[3, 3] = 3.0, -1.0
    s = gradient_summary(g, ReceptiveField(0, 0, 1, 1, 2, 2))
    assert s == {"window": 4, "used": 2, "inside": 0.75}


# ---------------------------------------------------------------- figures


def test_tiling_pages_and_locate():
    t = channel_tiling((64, 64, 128), page=7)
    assert (t.per_page, t.pages, t.start, t.count, t.cols, t.rows) == (16, 8, 112, 16, 8, 2)
    assert channel_tiling((8, 8, 5)).count == 5
    with pytest.raises(ValueError, match="pages 0 to 7"):
        channel_tiling((64, 64, 128), page=8)
    t = Tiling(h=4, w=4, channels=3, start=0, count=3, per_page=3, cols=2)
    assert t.locate(0, 0) == (0, 0, 0)
    assert t.locate(5, 3) == (1, 3, 0)  # second tile starts at x = 4 + 1 gap
    assert t.locate(4, 0) is None  # the gap
    assert t.locate(6, 6) is None  # no fourth tile
    assert Tiling(8, 8, 1, 0, 1, 1, 1, step=2).locate(1, 3) == (0, 6, 2)
    assert Tiling(4, 4, 3, 0, 3, 3, 2, vgap=3).locate(1, 8) == (2, 1, 1)  # row 2 starts at 4 + 3


def test_channels_figure_puts_each_value_where_locate_says():
    act = np.random.default_rng(3).normal(size=(6, 5, 11)).astype(np.float32)
    t = channel_tiling(act.shape)
    fig = channels_figure(act, t, title="x")
    z = np.asarray(fig.data[0].z)
    custom = np.asarray(fig.data[0].customdata)
    assert (t.count, t.cols, t.rows) == (11, 8, 2)
    assert t.vgap == 2  # tiles of 6 rows: 2 rows between them, room for the labels
    for y, x in [(0, 0), (8, 13), (12, 16), (5, 46)]:
        ch, r, c = t.locate(x, y)
        assert z[y, x] == act[r, c, ch]
        assert tuple(custom[y, x]) == (ch, r, c)
    assert np.isnan(z[6, 0])  # the gap row
    assert fig.data[0].zmin == pytest.approx(-fig.data[0].zmax)  # signed: diverging around 0


@pytest.mark.parametrize("shape", [(64, 64, 128), (64, 64, 16), (512, 512, 16), (256, 256, 32),
                                   (8, 8, 1)])
def test_every_page_of_every_layer_stays_under_the_limit(shape):
    act = np.random.default_rng(0).random(shape).astype(np.float32)
    first = channel_tiling(shape)
    for page in {0, first.pages - 1}:
        size = len(channels_figure(act, channel_tiling(shape, page=page)).to_json())
        assert size < LIMIT, (shape, page, size)
    assert MAX_BYTES < LIMIT


def test_values_that_escape_badly_are_shown_coarser_to_stay_under_the_limit():
    # float32 values just below 1 (a confident sigmoid) encode to many "/" in base64, and
    # Plotly's JSON writes each "/" as six characters.
    prob = np.full((512, 512), 0.99998, np.float32)
    prob[::7, ::5] = np.nextafter(np.float32(1), np.float32(0))
    fig = image_figure(prob, clickable=True)
    assert len(fig.to_json()) < LIMIT
    act = np.repeat(prob[..., None], 2, axis=-1)
    fig = channels_figure(act, channel_tiling(act.shape), title="out")
    assert len(fig.to_json()) < LIMIT and "1 pixel in" in fig.layout.title.text


def test_filters_figure_blocks_are_channels_and_tiles_filters():
    k = np.arange(3 * 3 * 2 * 4, dtype=np.float32).reshape(3, 3, 2, 4) - 30
    fig = filters_figure(k, mode="zero")
    z = np.asarray(fig.data[0].z)
    assert z.shape == (2 * 4 - 1, 4 * 4 - 1)
    np.testing.assert_allclose(z[4:7, 12:15], k[:, :, 1, 3] / 41)  # channel 1, filter 3
    custom = np.asarray(fig.data[0].customdata)
    assert tuple(custom[4, 12]) == (3, 1, 0, 0, k[0, 0, 1, 3])
    wide = np.zeros((3, 3, 1, 16), np.float32)
    wide[1, 1, 0, 9] = 1.0  # filter 9: second row of eight, second tile
    z = np.asarray(filters_figure(wide).data[0].z)
    assert z.shape == (2 * 4 - 1, 8 * 4 - 1)
    assert np.nanargmax(z) == np.ravel_multi_index((4 + 1, 4 + 1), z.shape)
    assert (fig.data[0].zmin, fig.data[0].zmax) == (-1.0, 1.0)
    big = np.random.default_rng(0).normal(size=(5, 5, 128, 128)).astype(np.float32)
    assert len(filters_figure(big, channel_start=120).to_json()) < LIMIT
    with pytest.raises(ValueError, match="f, f, C, K"):
        filters_figure(k[..., 0])


def test_image_and_error_figures_keep_true_coordinates():
    big = np.random.default_rng(0).random((512, 512)).astype(np.float32)
    fig = image_figure(big, box=ReceptiveField(1, 2, 3, 4, 3, 3), marker=(5, 6))
    assert len(fig.to_json()) < LIMIT
    assert list(fig.data[0].x[:3]) == [0, 2, 4]  # every 2nd pixel, labelled with its true column
    assert np.asarray(fig.data[0].z)[1, 1] == big[2, 2]
    assert list(image_figure(big[:64, :64]).data[0].y[:3]) == [0, 1, 2]
    clickable = image_figure(big, clickable=True)  # plus an invisible marker on every pixel shown
    assert len(clickable.to_json()) < LIMIT
    assert clickable.data[1].type == "scatter" and len(clickable.data[1].x) == clickable.data[0].z.size
    assert fig.layout.shapes[0].x0 == 1.5 and fig.layout.shapes[0].y1 == 3.5
    errors = errors_figure(membrane_errors(big, big > 0.5))
    assert list(errors.data[0].colorbar.ticktext) == ["cell ✓", "membrane ✓", "missed", "false"]
    assert len(json.loads(errors.to_json())["data"]) == 1
