"""unetviz.receptive: TensorFlow's padding rules by hand, and random architectures against gradients."""

import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from unetviz.inspection import Inspector
from unetviz.receptive import ReceptiveField, same_before

L = keras.layers
POSITIVE = keras.initializers.RandomUniform(0.1, 1.0, seed=0)


def _chain(size, *layers, channels=1):
    inp = keras.Input((*size, channels), name="x")
    y = inp
    for layer in layers:
        y = layer(y)
    return Inspector(keras.Model(inp, y))


def _rows(ins, name, row, col=0, *, size):
    """Rows of the input whose gradient is non-zero for pixel (row, col) of ``name``."""
    x = np.random.default_rng(0).random((*size, ins.in_channels)).astype(np.float32) + 0.5
    rows = np.nonzero(ins.input_gradient(x, name, row, col).any(axis=1))[0]
    return int(rows.min()), int(rows.max())


@pytest.mark.parametrize("n, k, s, before", [
    (8, 3, 2, 0),  # pad 1 in all: TensorFlow puts it after, not before
    (7, 3, 2, 1),  # pad 2: one each side
    (8, 3, 1, 1), (8, 4, 1, 1), (8, 5, 3, 1), (9, 2, 2, 0), (6, 1, 1, 0),
])
def test_same_padding_by_hand(n, k, s, before):
    assert same_before(n, k, s) == before


@pytest.mark.parametrize("n, row, expected", [(8, 0, (0, 2)), (8, 3, (6, 8)), (7, 0, (0, 1)),
                                              (7, 3, (5, 7))])
def test_stride_two_same_convolution_is_not_shifted(n, row, expected):
    # The window of output row o is o*2 - before .. o*2 - before + 2, clipped to the image.
    ins = _chain((n, n), L.Conv2D(1, 3, strides=2, padding="same", kernel_initializer=POSITIVE,
                                  name="c"))
    rf = ins.receptive_field("c", row, 0, size=(n, n))
    lo, hi = expected[0], min(expected[1], n - 1)
    assert (rf.top, rf.bottom, rf.rows) == (lo, hi, 3)
    assert _rows(ins, "c", row, size=(n, n)) == (lo, hi)


@pytest.mark.parametrize("row, expected", [(0, (0, 0)), (1, (0, 1)), (3, (1, 2)), (6, (2, 3)),
                                           (7, (3, 3))])
def test_bilinear_upsampling_reads_two_neighbours_by_the_half_pixel_rule(row, expected):
    # src = (o + 0.5) / 2 - 0.5: o = 3 -> 1.25 reads rows 1 and 2; o = 7 -> 3.25 reads 3 (and 4, clamped)
    ins = _chain((4, 4), L.UpSampling2D(2, interpolation="bilinear", name="u"))
    rf = ins.receptive_field("u", row, 0, size=(4, 4))
    assert (rf.top, rf.bottom) == expected == _rows(ins, "u", row, size=(4, 4))


@pytest.mark.parametrize("padding, row, expected", [
    ("same", 0, (0, 0)), ("same", 2, (0, 1)), ("same", 3, (1, 1)), ("same", 7, (3, 3)),
    ("valid", 0, (0, 0)), ("valid", 2, (0, 1)), ("valid", 8, (3, 3)),
])
def test_transposed_convolution_by_hand(padding, row, expected):
    # k = 3, s = 2 on 4 rows: output o gets input i when o - 2i (+ before) is a tap 0..2
    ins = _chain((4, 4), L.Conv2DTranspose(1, 3, strides=2, padding=padding,
                                           kernel_initializer=POSITIVE, name="t"))
    rf = ins.receptive_field("t", row, 0, size=(4, 4))
    assert (rf.top, rf.bottom) == expected == _rows(ins, "t", row, size=(4, 4))


def test_padding_cropping_and_resizing_shift_and_scale_the_window():
    ins = _chain((8, 8), L.ZeroPadding2D(((2, 0), (1, 1)), name="pad"),
                 L.Cropping2D(((0, 1), (3, 0)), name="crop"),
                 L.Resizing(4, 4, interpolation="nearest", name="small"))
    rf = ins.receptive_field("pad", 1, 1, size=(8, 8))
    assert rf.window == (0, 0, 0, 0) and rf.bottom < rf.top  # row 1 of the padding: no input
    rf = ins.receptive_field("crop", 5, 0, size=(8, 8))  # padded row 5 - 2, padded col 0 + 3 - 1
    assert (rf.top, rf.bottom, rf.left, rf.right) == (3, 3, 2, 2)
    assert _rows(ins, "crop", 5, size=(8, 8)) == (3, 3)
    # 9x7 -> 4x4 nearest: row 1 reads cropped row floor(1.5 * 9 / 4) = 3, input row 3 - 2 = 1
    rf = ins.receptive_field("small", 1, 1, size=(8, 8))
    assert rf.top <= 1 <= rf.bottom and rf.bottom - rf.top <= 2
    assert _rows(ins, "small", 1, 1, size=(8, 8)) == (1, 1)


def test_layers_that_mix_every_pixel_read_the_whole_image_and_unknown_ones_say_so():
    ins = _chain((6, 6), L.Conv2D(2, 1, name="c"), L.GroupNormalization(2, name="g"),
                 L.Conv2D(1, 1, name="o"))
    assert ins.receptive_field("o", 0, 0, size=(6, 6)) == ReceptiveField(0, 0, 5, 5, 6, 6)

    class Odd(keras.layers.Layer):
        def call(self, x):
            return x

    ins = _chain((6, 6), Odd(name="odd"), L.Conv2D(1, 1, name="o"))
    with pytest.raises(ValueError, match="cannot be followed through odd"):
        ins.receptive_field("o", 0, 0, size=(6, 6))
    with pytest.raises(ValueError, match="outside"):
        ins.receptive_field("o", 6, 0, size=(6, 6))


# ---------------------------------------------------------------- random architectures

EXACT = {"conv", "avg", "nearest", "bilinear2", "transpose", "pad", "crop"}  # windows are tight


@st.composite
def architectures(draw):
    """(input size, [(step, settings)]): linear layers with positive weights."""
    size = (draw(st.integers(5, 18)), draw(st.integers(5, 18)))
    steps = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["conv", "conv", "avg", "max", "nearest", "bilinear2",
                                     "bilinear3", "transpose", "pad", "crop", "resize", "skip"]))
        s = draw(st.integers(1, 3))
        steps.append((kind, dict(k=draw(st.integers(1, 5)), s=s,
                                 d=draw(st.integers(1, 3)) if s == 1 else 1,
                                 padding=draw(st.sampled_from(["same", "valid"])),
                                 p=tuple(draw(st.integers(0, 2)) for _ in range(4)),
                                 to=(draw(st.integers(3, 20)), draw(st.integers(3, 20))),
                                 method=draw(st.sampled_from(["bilinear", "nearest", "bicubic",
                                                              "lanczos3"])))))
    return size, steps


def _layer(kind, a, i):
    name, init = f"{kind}{i}", POSITIVE
    (t, b, le, r) = a["p"]
    return {
        "conv": lambda: L.Conv2D(1, a["k"], strides=a["s"], dilation_rate=a["d"], padding=a["padding"],
                                 kernel_initializer=init, use_bias=False, name=name),
        "avg": lambda: L.AveragePooling2D(min(a["k"], 3), strides=a["s"], padding=a["padding"],
                                          name=name),
        "max": lambda: L.MaxPooling2D(min(a["k"], 3), strides=a["s"], padding=a["padding"], name=name),
        "nearest": lambda: L.UpSampling2D(a["s"] + 1, name=name),
        "bilinear2": lambda: L.UpSampling2D(2, interpolation="bilinear", name=name),
        "bilinear3": lambda: L.UpSampling2D(3, interpolation="bilinear", name=name),
        "transpose": lambda: L.Conv2DTranspose(1, a["k"], strides=a["s"],  # TF's CPU: no dilation
                                               padding=a["padding"], kernel_initializer=init,
                                               use_bias=False, name=name),
        "pad": lambda: L.ZeroPadding2D(((t, b), (le, r)), name=name),
        "crop": lambda: L.Cropping2D(((t, b), (le, r)), name=name),
        "resize": lambda: L.Resizing(*a["to"], interpolation=a["method"], name=name),
    }[kind]()


def _build(size, steps):
    inp = keras.Input((*size, 1), name="x")
    y, earlier, kinds = inp, [inp], set()
    for i, (kind, a) in enumerate(steps):
        if kind == "skip":
            same = [e for e in earlier[:-1] if tuple(e.shape[1:3]) == tuple(y.shape[1:3])]
            if same:
                y = L.Concatenate(name=f"cat{i}")([same[0], y])
                kinds.add("skip")
            continue
        try:
            y = _layer(kind, a, i)(y)
        except ValueError:
            return None, kinds
        if None in y.shape[1:3] or min(y.shape[1:3]) < 1 or max(y.shape[1:3]) > 80:
            return None, kinds
        earlier.append(y)
        kinds.add(kind)
    return keras.Model(inp, y), kinds


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), where=st.tuples(st.floats(0, 1), st.floats(0, 1)))
def test_the_gradient_never_leaves_the_theoretical_window(arch, where):
    size, steps = arch
    model, kinds = _build(size, steps)
    assume(model is not None and len(model.layers) > 1)
    ins = Inspector(model)
    name = ins.output_name
    h, w = ins.activations(np.zeros((*size, 1), np.float32))[name].shape[:2]
    row, col = min(int(where[0] * h), h - 1), min(int(where[1] * w), w - 1)
    rf = ins.receptive_field(name, row, col, size=size)
    x = np.random.default_rng(1).random((*size, 1)).astype(np.float32) + 0.5
    grad = ins.input_gradient(x, name, row, col)
    rows, cols = np.nonzero(grad)
    if rows.size:
        assert rf.top <= rows.min() and rows.max() <= rf.bottom, (steps, rf)
        assert rf.left <= cols.min() and cols.max() <= rf.right, (steps, rf)
    event("tight" if kinds <= EXACT | {"skip"} else "contained")
    if kinds <= EXACT | {"skip"}:  # linear, positive weights, exact rules: the window is tight
        if rf.bottom < rf.top or rf.right < rf.left:
            assert rows.size == 0
        else:
            assert (rows.min(), rows.max(), cols.min(), cols.max()) == \
                (rf.top, rf.bottom, rf.left, rf.right), (steps, rf)
