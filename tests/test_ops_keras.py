"""unetviz.ops against Keras layers whose weights the test sets."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from unetviz import ops  # noqa: E402

RNG = np.random.default_rng(42)


def run_layer(layer, x):
    """Apply ``layer`` to one (H, W, C) image; returns (H', W', K) float64."""
    return np.asarray(layer(x[None].astype("float32")))[0].astype(np.float64)


@pytest.mark.parametrize("size,f,stride,padding,dilation", [
    (8, 3, 1, "same", 1), (8, 3, 1, "valid", 1), (9, 2, 1, "same", 1), (9, 4, 2, "same", 1),
    (10, 3, 2, "valid", 1), (11, 3, 3, "same", 1), (9, 3, 1, "same", 2), (12, 5, 1, "same", 1),
])
def test_conv2d_matches_keras(size, f, stride, padding, dilation):
    C, K = 3, 4
    x = RNG.normal(size=(size, size, C))
    w, b = RNG.normal(size=(f, f, C, K)), RNG.normal(size=K)
    layer = layers.Conv2D(K, f, strides=stride, padding=padding, dilation_rate=dilation,
                          activation="relu")
    layer.build((None, size, size, C))
    layer.set_weights([w.astype("float32"), b.astype("float32")])
    ours = ops.conv2d(x, w, stride=stride, padding=padding, dilation=dilation, bias=b,
                      activation="relu")
    np.testing.assert_allclose(ours, run_layer(layer, x), atol=1e-4)


@pytest.mark.parametrize("size,pool,stride", [(6, 2, None), (7, 2, None), (9, 3, 2), (8, 2, 1)])
def test_pooling_matches_keras(size, pool, stride):
    x = RNG.normal(size=(size, size, 2))
    np.testing.assert_allclose(ops.max_pool(x, pool, stride),
                               run_layer(layers.MaxPooling2D(pool, stride), x), atol=1e-6)
    np.testing.assert_allclose(ops.avg_pool(x, pool, stride),
                               run_layer(layers.AveragePooling2D(pool, stride), x), atol=1e-6)


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
@pytest.mark.parametrize("factor", [2, 3])
def test_upsample_matches_keras(method, factor):
    x = RNG.normal(size=(5, 4, 2))
    layer = layers.UpSampling2D(factor, interpolation=method)
    np.testing.assert_allclose(ops.upsample(x, factor, method), run_layer(layer, x), atol=1e-5)


@pytest.mark.parametrize("f,stride,padding", [(2, 2, "valid"), (3, 2, "valid"), (2, 2, "same"),
                                              (3, 2, "same"), (4, 2, "same")])
def test_conv_transpose_matches_keras(f, stride, padding):
    C, K = 2, 3
    x = RNG.normal(size=(4, 5, C))
    w, b = RNG.normal(size=(f, f, K, C)), RNG.normal(size=K)
    layer = layers.Conv2DTranspose(K, f, strides=stride, padding=padding)
    layer.build((None, 4, 5, C))
    layer.set_weights([w.astype("float32"), b.astype("float32")])
    ours = ops.conv_transpose2d(x, w, stride=stride, padding=padding, bias=b)
    np.testing.assert_allclose(ours, run_layer(layer, x), atol=1e-4)


def test_concat_matches_keras():
    a, b = RNG.normal(size=(4, 4, 2)), RNG.normal(size=(4, 4, 3))
    keras_out = np.asarray(layers.Concatenate(axis=-1)([a[None], b[None]]))[0]
    np.testing.assert_allclose(ops.concat(a, b), keras_out)
