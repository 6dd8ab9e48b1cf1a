"""unetviz.graph and the Inspector built on it: flattening, U places, skips, weights, inputs."""

import keras
import numpy as np
import pytest

from unetviz.graph import InspectionError, flatten
from unetviz.inspection import Inspector, u_layers

L = keras.layers


def _x(*shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


# ---------------------------------------------------------------- flattening


def test_a_sequential_model_shows_each_layers_own_output():
    model = keras.Sequential([keras.Input((6, 6, 1)), L.Conv2D(2, 3, padding="same", name="c1"),
                              L.ReLU(name="r"), L.MaxPooling2D(name="p")], name="seq")
    ins = Inspector(model)
    assert [v.name for v in ins.layers] == [ins.input_name, "c1", "r", "p"]
    assert ins.layer("c1").inputs == (ins.input_name,) and ins.layer("r").inputs == ("c1",)
    x = _x(6, 6)
    acts = ins.activations(x)
    conv = np.asarray(model.get_layer("c1")(x[None, :, :, None]))[0]
    np.testing.assert_allclose(acts["c1"], conv, atol=1e-6)  # not the input, not the ReLU
    np.testing.assert_allclose(acts["r"], np.maximum(conv, 0), atol=1e-6)
    rf = ins.receptive_field("p", 0, 0, size=(6, 6))  # the old KeyError: 'input_layer'
    assert (rf.top, rf.bottom, rf.rows) == (0, 2, 4)
    assert ins.input_gradient(x, "p", 0, 0).shape == (6, 6)


def test_nested_multi_output_encoder_is_opened_in_place():
    inp = keras.Input((8, 8, 1), name="e_in")
    a = L.Conv2D(2, 3, padding="same", name="enc_a")(inp)
    b = L.Conv2D(4, 3, strides=2, padding="same", name="enc_b")(a)
    encoder = keras.Model(inp, [a, b], name="encoder")
    x = keras.Input((8, 8, 1), name="img")
    skip, deep = encoder(x)
    up = L.UpSampling2D(name="up")(deep)
    cat = L.Concatenate(name="cat")([up, skip])
    model = keras.Model(x, L.Conv2D(1, 1, name="head")(cat))
    graph = flatten(model)
    assert [(n.name, n.inputs, n.path) for n in graph.nodes] == [
        ("img", (), ()), ("enc_a", ("img",), ("encoder",)), ("enc_b", ("enc_a",), ("encoder",)),
        ("up", ("enc_b",), ()), ("cat", ("up", "enc_a"), ()), ("head", ("cat",), ())]
    assert graph.outputs == ("head",)
    ins = Inspector(model)
    cat = ins.layer("cat")
    assert cat.roles == ("up", "skip") and cat.skip_from == "enc_a"
    assert ins.layer("enc_a").skip_to == "cat" and ins.layer("enc_b").skip_to is None
    # the skip comes second: the caption follows the real order of the channels
    assert cat.caption() == ("Concatenation: channels 0-3 come up from below through up; "
                             "4-5 are enc_a, copied across the U (the skip).")
    assert [ins.layer(n).part for n in ("img", "enc_a", "enc_b", "up", "cat", "head")] == [
        "input", "encoder", "encoder", "decoder", "decoder", "output"]  # a stride-2 conv leaves level 1


def test_shared_layers_and_clashing_names_get_unique_node_names():
    def block(name):
        i = keras.Input((None, None, 2))
        return keras.Model(i, L.Conv2D(2, 3, padding="same", name="conv")(i), name=name)

    x = keras.Input((8, 8, 2), name="x")
    shared = L.Conv2D(2, 1, name="mix")
    one, two = block("one"), block("two")
    y = shared(two(one(shared(x))))
    model = keras.Model(x, keras.ops.add(y, x))
    names = [(n.name, n.inputs) for n in flatten(model).nodes]
    assert names[:5] == [("x", ()), ("mix", ("x",)), ("one/conv", ("mix",)),
                         ("two/conv", ("one/conv",)), ("mix@2", ("two/conv",))]
    assert names[5][1] == ("mix@2", "x")
    ins = Inspector(model)
    acts = ins.activations(_x(8, 8, 2))
    np.testing.assert_allclose(acts[names[5][0]], np.asarray(model(_x(8, 8, 2)[None]))[0], atol=1e-5)
    assert "Keras operation" in ins.layer(names[5][0]).description
    np.testing.assert_array_equal(ins.kernels("mix@2")["kernel"], ins.kernels("mix")["kernel"])


class _Subclassed(keras.Model):
    def __init__(self):
        super().__init__(name="mine")
        self.conv = L.Conv2D(1, 3)

    def call(self, x):
        return self.conv(x)


@pytest.mark.parametrize("make, message", [
    (_Subclassed, "mine is a subclassed model"),
    (lambda: keras.Model([keras.Input((8, 8, 1)), keras.Input((8, 8, 1))],
                         L.Add()([keras.Input((8, 8, 1)), keras.Input((8, 8, 1))])), None),
    (lambda: L.Conv2D(1, 3), "not a Keras model"),
    (lambda: keras.Sequential([L.Conv2D(1, 3)]), "not been built"),
    (lambda: keras.Sequential([keras.Input((10,)), L.Dense(3)]), "image model takes"),
    (lambda: keras.Sequential([keras.Input((8, 8, 1)), L.Flatten(), L.Dense(3)]), "not an image"),
])
def test_models_that_cannot_be_inspected_say_why(make, message):
    if message is None:  # two image inputs
        a, b = keras.Input((8, 8, 1)), keras.Input((8, 8, 1))
        model, message = keras.Model([a, b], L.Add()([a, b])), "takes 2 inputs"
    else:
        model = make()
    with pytest.raises(InspectionError, match=message):
        Inspector(model)
    assert issubclass(InspectionError, ValueError)


# ---------------------------------------------------------------- merges and captions


def _tiny(merge, *, skip_first=True):
    x = keras.Input((8, 8, 1), name="x")
    e = L.Conv2D(2, 3, padding="same", name="e")(x)
    d = L.Conv2D(2, 3, padding="same", name="d")(L.MaxPooling2D(name="p")(e))
    u = L.UpSampling2D(name="u")(d)
    m = merge([e, u] if skip_first else [u, e])
    return Inspector(keras.Model(x, L.Conv2D(1, 1, name="o")(m)))


def test_an_add_skip_is_never_called_a_concatenation():
    ins = _tiny(L.Add(name="m"), skip_first=False)
    m = ins.layer("m")
    assert m.roles == ("up", "skip") and m.skip_from == "e"
    assert m.caption().startswith("Adds u (come up from below through u) and e (copied across the U")
    assert "Concatenation" not in m.caption() and "no channels are stacked" in m.caption()


def test_a_multiply_skip_is_an_attention_gate():
    ins = _tiny(L.Multiply(name="m"))
    assert ins.layer("m").roles == ("skip", "gate")
    assert ins.layer("m").caption() == (
        "Attention gate: the skip feature e, copied across the U, times the attention "
        "coefficients u (computed from below through u), element by element.")


def test_a_residual_add_is_an_ordinary_merge():
    x = keras.Input((8, 8, 2), name="x")
    y = L.Add(name="res")([x, L.Conv2D(2, 3, padding="same", name="c")(x)])
    v = u_layers(keras.Model(x, y))[-1]
    assert v.roles == ("same", "same") and v.skip_from is None
    assert "residual connection" in v.caption()


# ---------------------------------------------------------------- weights, inputs, outputs


def test_kernels_give_every_weight_with_its_role():
    x = keras.Input((8, 8, 3), name="x")
    s = L.SeparableConv2D(4, 3, padding="same", name="sep")(x)
    d = L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", name="dw")(s)
    b = L.BatchNormalization(name="bn")(d)
    t = L.Conv2DTranspose(2, 2, strides=2, use_bias=False, name="t")(b)
    ins = Inspector(keras.Model(x, L.MaxPooling2D(name="p")(t)))
    k = ins.kernels("sep")
    assert {n: a.shape for n, a in k.items()} == {
        "depthwise_kernel": (3, 3, 3, 1), "pointwise_kernel": (1, 1, 3, 4), "bias": (4,)}
    main, bias = ins.kernel("sep")
    assert main.shape == (3, 3, 3, 1) and bias.shape == (4,)  # never the pointwise kernel
    assert set(ins.kernels("dw")) == {"depthwise_kernel", "bias"}
    assert ins.kernel("dw")[0].shape == (3, 3, 4, 2)
    assert set(ins.kernels("bn")) == {"gamma", "beta", "moving_mean", "moving_variance"}
    assert ins.kernel("t")[1] is None and ins.kernels("p") == {}
    assert [ins.layer(n).has_filters for n in ("sep", "dw", "bn", "t", "p")] == [
        True, True, False, True, False]


@pytest.mark.parametrize("front, scale", [
    (lambda x: L.Rescaling(1 / 255, name="r")(x), 255.0),
    (lambda x: L.Rescaling(1 / 127.5, offset=-1, name="r")(x), 255.0),  # MobileNet's [-1, 1]
    (lambda x: L.Rescaling(1 / 255, name="r")(L.Conv2D(1, 1, name="c0")(x)), 1.0),  # too late
    (lambda x: x, 1.0),
    (lambda x: keras.Sequential([L.Rescaling(1 / 255, name="r")], name="pre")(x), 255.0),
])
def test_input_scale_finds_a_rescaling_at_the_input(front, scale):
    x = keras.Input((8, 8, 1), name="x")
    ins = Inspector(keras.Model(x, L.Conv2D(1, 3, padding="same", name="c")(front(x))))
    assert ins.input_scale == scale


@pytest.mark.parametrize("head, expected", [
    (lambda y: L.Conv2D(3, 1, activation="softmax")(y), "softmax"),
    (lambda y: L.Activation("sigmoid")(L.Conv2D(1, 1)(y)), "sigmoid"),
    (lambda y: L.Cropping2D(1)(L.Conv2D(1, 1, activation="sigmoid")(y)), "sigmoid"),
    (lambda y: L.Conv2D(2, 1)(y), "linear"),
    (lambda y: L.Softmax()(L.Conv2D(2, 1)(y)), "softmax"),
])
def test_output_channels_and_activation(head, expected):
    x = keras.Input((8, 8, 3))
    ins = Inspector(keras.Model(x, head(L.Conv2D(4, 3, padding="same")(x))))
    assert ins.out_activation == expected and ins.in_channels == 3
    assert ins.out_channels == ins.activations(_x(8, 8, 3))[ins.output_name].shape[-1]


def test_activations_take_the_models_channels_and_refuse_other_counts():
    x = keras.Input((None, None, 3), name="x")
    ins = Inspector(keras.Model(x, L.Conv2D(2, 3, padding="same", name="c")(x)))
    rgb = _x(10, 6, 3)
    assert ins.activations(rgb)["c"].shape == (10, 6, 2)  # any size, not resized, not square
    grey = ins.activations(rgb[..., 0])["x"]
    np.testing.assert_array_equal(grey, np.repeat(rgb[..., :1], 3, axis=-1))
    with pytest.raises(ValueError, match=r"takes \(H, W, 3\) images"):
        ins.activations(_x(10, 6, 2))


def test_tap_maps_the_input_to_chosen_nodes_and_is_cached():
    x = keras.Input((8, 8, 1), name="x")
    a = L.Conv2D(2, 3, padding="same", name="a")(x)
    ins = Inspector(keras.Model(x, L.Conv2D(1, 1, name="b")(a)))
    one, both = ins.tap("a"), ins.tap(["a", "b"])
    assert ins.tap("a") is one and ins.tap(("a", "b")) is both
    img = _x(8, 8)
    outs = both(img[None, :, :, None])
    np.testing.assert_allclose(np.asarray(outs[0])[0], ins.activations(img)["a"], atol=1e-6)
    np.testing.assert_allclose(np.asarray(one(img[None, :, :, None]))[0], ins.activations(img)["a"],
                               atol=1e-6)
    with pytest.raises(ValueError, match="no layer"):
        ins.tap("nope")


def test_every_layer_kind_gets_its_own_sentence():
    x = keras.Input((16, 16, 1), name="x")
    y = L.Rescaling(1 / 255, name="resc")(x)
    y = L.ZeroPadding2D(((1, 2), (0, 1)), name="pad")(y)
    y = L.Conv2D(4, 3, strides=2, dilation_rate=1, padding="valid", activation="relu", name="c")(y)
    y = L.Conv2D(4, 3, dilation_rate=2, padding="same", name="cd")(y)
    y = L.Dropout(0.3, name="drop")(y)
    y = L.LeakyReLU(0.2, name="leaky")(y)
    y = L.AveragePooling2D(2, name="avg")(y)
    y = L.UpSampling2D(2, interpolation="bilinear", name="bil")(y)
    y = L.Resizing(10, 10, name="rs")(y)
    y = L.Cropping2D(((1, 0), (0, 1)), name="crop")(y)
    y = L.Softmax(name="sm")(y)
    ins = Inspector(keras.Model(x, y))
    text = {v.name: v.description for v in ins.layers}
    assert text["resc"] == "Rescales every value: x * 0.003922 + 0."
    assert text["pad"] == "Pads with zeros: 1 row above, 2 below, 0 columns left, 1 right."
    assert text["c"] == "3x3 convolution with 4 filters, stride 2, 'valid' padding, then ReLU."
    assert text["cd"] == "3x3 convolution with 4 filters, dilation 2, 'same' padding."
    assert "at inspection it passes every value through" in text["drop"]
    assert text["leaky"] == "Leaky ReLU: values below zero are multiplied by 0.2."
    assert text["avg"].startswith("2x2 average pooling, stride 2")
    assert text["bil"] == "Up-sampling x2 by bilinear interpolation; no weights."
    assert text["rs"] == "Resizes the map to 10x10 by bilinear interpolation."
    assert text["crop"].startswith("Crops 1 row at the top, 0 at the bottom")
    assert text["sm"].startswith("Softmax over the 4 channels")
    assert ins.input_scale == 255.0


def test_doctests():
    import doctest

    from unetviz import graph, inspection, receptive

    for module in (graph, inspection, receptive):
        assert doctest.testmod(module).failed == 0, module.__name__


def test_only_a_change_of_scale_counts_as_going_down_or_up():
    # On a 4x4 map a valid 3x3 convolution shrinks to 2x2 and a valid stride-1 transposed one
    # grows to 6x6: neither is a pooling or an up-sampling, so nothing here is a skip.
    x = keras.Input((4, 4, 1), name="x")
    a = L.Conv2DTranspose(1, 3, name="grow")(x)  # 6x6
    b = L.Conv2D(1, 3, name="shrink")(a)  # 4x4
    c = L.Concatenate(name="cat")([x, b])
    ins = Inspector(keras.Model(x, L.ZeroPadding2D(2, name="pad")(c)))
    assert ins.layer("cat").roles == ("same", "same")
    assert {ins.layer(n).level for n in ("grow", "shrink", "cat")} == {1}
    assert ins.layer("pad").part == "output"
