"""unetviz.attribution: region gradients and Seg-Grad-CAM on tiny models whose weights the tests set."""

import doctest
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from scipy import ndimage, signal

from unetviz import attribution
from unetviz.attribution import (
    region_gradient,
    region_mask_box,
    region_mask_class,
    seg_grad_cam,
    seg_grad_cam_details,
)
from unetviz.ops import upsample

ROOT = Path(__file__).resolve().parent.parent
# An irregular 6x6 region: an L and a lone pixel.
L_REGION = np.zeros((6, 6), dtype=bool)
L_REGION[1:4, 1] = L_REGION[3, 1:4] = L_REGION[5, 5] = True


def _conv_model(shape, kernel, *, padding="same", bias=None):
    """Input ``shape`` -> one Conv2D with the given (f, f, C, K) kernel (and bias)."""
    kernel = np.asarray(kernel, np.float32)
    inp = keras.Input(shape)
    layer = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[0], padding=padding, use_bias=bias is not None)
    model = keras.Model(inp, layer(inp))
    layer.set_weights([kernel] if bias is None else [kernel, np.asarray(bias, np.float32)])
    return model


def test_doctests():
    assert doctest.testmod(attribution).failed == 0


# --- region masks ------------------------------------------------------------------------------

def test_box_mask():
    mask = region_mask_box((4, 5, 3), 1, 2, 3, 5)
    assert mask.shape == (4, 5) and mask.dtype == bool
    assert np.argwhere(mask).tolist() == [[1, 2], [1, 3], [1, 4], [2, 2], [2, 3], [2, 4]]


@pytest.mark.parametrize("box", [(2, 0, 2, 3), (0, 0, 5, 3), (-1, 0, 2, 3), (0, 3, 2, 1)])
def test_box_mask_refuses_empty_or_outside_boxes(box):
    with pytest.raises(ValueError, match="inside the 4x5 output"):
        region_mask_box((4, 5), *box)


def test_class_mask_sigmoid():
    prob = np.array([[0.1, 0.5], [0.7, 0.49]])
    assert region_mask_class(prob, 1).tolist() == [[False, True], [True, False]]
    assert region_mask_class(prob[..., None], 0).tolist() == [[True, False], [False, True]]
    assert region_mask_class(prob, 1, threshold=0.6).tolist() == [[False, False], [True, False]]
    with pytest.raises(ValueError, match="classes 0 and 1"):
        region_mask_class(prob, 2)


def test_class_mask_softmax():
    prob = np.array([[[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], [[0.2, 0.5, 0.3], [0.1, 0.8, 0.1]]])
    assert region_mask_class(prob, 1).tolist() == [[False, False], [True, True]]
    assert region_mask_class(prob, 2).tolist() == [[False, True], [False, False]]
    with pytest.raises(ValueError, match="classes 0 to 2"):
        region_mask_class(prob, 3)


# --- region gradient ---------------------------------------------------------------------------

def test_linear_1x1_gradient_is_weight_over_region_size():
    # Two input channels, two outputs; output 1 = 0.5 * x0 - 2 * x1 + bias.
    kernel = np.array([[[[3.0, 0.5], [1.0, -2.0]]]])  # (1, 1, C=2, K=2)
    model = _conv_model((5, 6, 2), kernel, bias=[0.3, -0.1])
    x = np.random.default_rng(0).random((5, 6, 2), np.float32)
    mask = region_mask_box((5, 6), 1, 2, 3, 5)  # 6 pixels
    for channel, weight in ((0, 3.0 + 1.0), (1, 0.5 - 2.0)):
        grad = region_gradient(model, x, mask, channel=channel)
        assert grad.shape == (5, 6) and grad.dtype == np.float32
        np.testing.assert_allclose(grad, np.where(mask, weight / 6, 0.0), atol=1e-7)


def test_3x3_gradient_support_is_region_dilated_by_one():
    kernel = np.random.default_rng(1).uniform(0.1, 1.0, (3, 3, 1, 1))  # positive: no cancelling
    model = _conv_model((6, 6, 1), kernel)
    grad = region_gradient(model, np.zeros((6, 6, 1), np.float32), L_REGION)
    np.testing.assert_array_equal(grad != 0, ndimage.binary_dilation(L_REGION, np.ones((3, 3))))
    # The exact values: the region convolved with the kernel, over |R| (a "same" conv clips at the border).
    want = signal.convolve2d(L_REGION.astype(float), kernel[:, :, 0, 0], mode="same") / L_REGION.sum()
    np.testing.assert_allclose(grad, want, rtol=1e-5)


def test_valid_conv_output_smaller_than_input():
    kernel = np.random.default_rng(2).normal(size=(3, 3, 1, 1))
    model = _conv_model((8, 8, 1), kernel, padding="valid")  # (8, 8) -> (6, 6)
    x = np.random.default_rng(3).random((8, 8), np.float32)  # (H, W) is one channel
    grad = region_gradient(model, x, L_REGION)
    assert grad.shape == (8, 8)
    want = signal.convolve2d(L_REGION.astype(float), kernel[:, :, 0, 0], mode="full") / L_REGION.sum()
    np.testing.assert_allclose(grad, want, rtol=1e-5, atol=1e-7)


def test_region_must_fit_the_output():
    model = _conv_model((8, 8, 1), np.ones((3, 3, 1, 1)), padding="valid")
    with pytest.raises(ValueError, match="region is 8x8 but the output is 6x6"):
        region_gradient(model, np.zeros((8, 8, 1)), np.ones((8, 8), bool))
    with pytest.raises(ValueError, match="region is empty"):
        region_gradient(model, np.zeros((8, 8, 1)), np.zeros((6, 6), bool))
    with pytest.raises(ValueError, match="channels 0 to 0; got 1"):
        region_gradient(model, np.zeros((8, 8, 1)), L_REGION, channel=1)
    with pytest.raises(ValueError, match=r"one \(H, W, C\) image"):
        region_gradient(model, np.zeros((1, 8, 8, 1)), L_REGION)


# --- Seg-Grad-CAM ------------------------------------------------------------------------------

def _cam_model(shape, *, pool: bool):
    """x -> A = [x, -x] (1x1 conv, weights [1, -1]) -> Y = 2 A0 + 0.5 A1 (1x1 conv): Y = 1.5 x.

    With ``pool``, A is computed from the 2x2 average of x and Y is up-sampled back.
    """
    inp = keras.Input(shape)
    h = keras.layers.AveragePooling2D(2)(inp) if pool else inp
    a_layer = keras.layers.Conv2D(2, 1, use_bias=False, name="a")
    out_layer = keras.layers.Conv2D(1, 1, use_bias=False, name="out")
    acts = a_layer(h)
    out = out_layer(keras.layers.UpSampling2D(2)(acts) if pool else acts)
    a_layer.set_weights([np.array([[[[1.0, -1.0]]]], np.float32)])
    out_layer.set_weights([np.array([[[[2.0], [0.5]]]], np.float32)])
    return keras.Model(inp, [acts, out])


def test_seg_grad_cam_closed_form():
    # y = sum over R of (2 A0 + 0.5 A1), so dy/dA0 = 2 and dy/dA1 = 0.5 on R: alpha = (2, 0.5) |R| / (h w),
    # and the map is ReLU(alpha0 x - alpha1 x) = 1.5 |R| / (h w) ReLU(x).
    x = np.random.default_rng(4).uniform(-0.5, 1.0, (6, 6, 1)).astype(np.float32)
    tap = _cam_model((6, 6, 1), pool=False)
    cam = seg_grad_cam_details(tap, x, L_REGION)
    r = L_REGION.sum()
    np.testing.assert_allclose(cam.weights, [2 * r / 36, 0.5 * r / 36], rtol=1e-6)
    relu_x = np.maximum(x[..., 0], 0)
    np.testing.assert_allclose(cam.low_res, 1.5 * r / 36 * relu_x, rtol=1e-5, atol=1e-7)
    heat = seg_grad_cam(tap, x, L_REGION)
    assert heat.shape == (6, 6) and heat.dtype == np.float32
    np.testing.assert_allclose(heat, relu_x / relu_x.max(), rtol=1e-5, atol=1e-6)


def test_seg_grad_cam_upsamples_a_low_resolution_layer():
    # A is 4x4 from 8x8; each A pixel feeds a 2x2 block of Y, so dy/dA = (2, 0.5) x (region pixels in
    # the block), alpha = (2, 0.5) |R| / 16, and the map is 1.5 |R| / 16 ReLU(pool(x)).
    rng = np.random.default_rng(5)
    x = rng.uniform(-0.2, 1.0, (8, 8, 1)).astype(np.float32)
    mask = rng.random((8, 8)) < 0.3
    cam = seg_grad_cam_details(_cam_model((8, 8, 1), pool=True), x, mask)
    pooled = x[..., 0].reshape(4, 2, 4, 2).mean(axis=(1, 3))  # (4, 4)
    low = 1.5 * mask.sum() / 16 * np.maximum(pooled, 0)
    np.testing.assert_allclose(cam.weights, [2 * mask.sum() / 16, 0.5 * mask.sum() / 16], rtol=1e-6)
    np.testing.assert_allclose(cam.low_res, low, rtol=1e-5, atol=1e-7)
    big = upsample(low, 2, "bilinear")  # NumPy bilinear, half-pixel centres like Keras
    np.testing.assert_allclose(cam.heat, big / big.max(), rtol=1e-5, atol=1e-6)
    assert cam.heat.max() == pytest.approx(1.0)


def test_seg_grad_cam_all_negative_stays_zero():
    x = -np.ones((6, 6, 1), np.float32)  # ReLU(1.5 c x) = 0 everywhere
    heat = seg_grad_cam(_cam_model((6, 6, 1), pool=False), x, L_REGION)
    assert heat.shape == (6, 6) and not heat.any()


def test_seg_grad_cam_on_a_valid_conv_net_with_a_skip():
    inp = keras.Input((10, 10, 1))
    enc = keras.layers.Conv2D(3, 3, activation="relu", name="enc")(inp)  # (8, 8, 3)
    down = keras.layers.MaxPooling2D(2)(enc)  # (4, 4, 3)
    mid = keras.layers.Conv2D(3, 3, padding="same", activation="relu", name="mid")(down)
    up = keras.layers.UpSampling2D(2)(mid)  # (8, 8, 3)
    cat = keras.layers.Concatenate()([enc, up])
    out = keras.layers.Conv2D(1, 3, name="out")(cat)  # (6, 6, 1)
    model = keras.Model(inp, out)
    model.set_weights([np.abs(w) + 0.1 for w in model.get_weights()])  # positive: a non-zero map
    tap = keras.Model(model.inputs[0], [model.get_layer("mid").output, model.output])
    x = np.random.default_rng(6).random((10, 10, 1), np.float32)
    cam = seg_grad_cam_details(tap, x, L_REGION)
    assert cam.heat.shape == (10, 10) and cam.low_res.shape == (4, 4) and cam.weights.shape == (3,)
    assert cam.heat.max() == pytest.approx(1.0) and cam.heat.min() >= 0
    assert region_gradient(model, x, L_REGION).shape == (10, 10)


def test_seg_grad_cam_needs_a_two_output_tap_model():
    model = _conv_model((6, 6, 1), np.ones((1, 1, 1, 1)))
    with pytest.raises(ValueError, match="layer activations, output"):
        seg_grad_cam(model, np.zeros((6, 6, 1)), L_REGION)


# --- the JAX backend ---------------------------------------------------------------------------

def build_tiny_unet(seed: int = 0):
    """A small U-Net (conv, pool, conv, bilinear up, skip, 1x1 head) with weights drawn from ``seed``."""
    inp = keras.Input((12, 12, 2))
    enc = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="enc")(inp)
    mid = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="mid")(
        keras.layers.MaxPooling2D(2)(enc))
    up = keras.layers.UpSampling2D(2, interpolation="bilinear")(mid)
    out = keras.layers.Conv2D(2, 1, activation="sigmoid", name="out")(keras.layers.Concatenate()([enc, up]))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.2, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def tiny_attributions(path: str | None = None) -> dict:
    """Region gradient and Seg-Grad-CAM of :func:`build_tiny_unet`, saved to ``path`` when given."""
    model = build_tiny_unet()
    tap = keras.Model(model.inputs[0], [model.get_layer("mid").output, model.output])
    x = np.random.default_rng(1).random((12, 12, 2), np.float32)
    mask = region_mask_box((12, 12), 3, 4, 8, 9)
    cam = seg_grad_cam_details(tap, x, mask, channel=1)
    result = {"grad": region_gradient(model, x, mask, channel=1), "heat": cam.heat,
              "low": cam.low_res, "alpha": cam.weights}
    if path:
        np.savez(path, **result)
    return result


def test_jax_backend_agrees(tmp_path):
    out = tmp_path / "jax.npz"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[1] + '/tests']; "
            "import keras; assert keras.backend.backend() == 'jax'; "
            "from test_attribution import tiny_attributions; tiny_attributions(sys.argv[2])")
    run = subprocess.run([sys.executable, "-c", code, str(ROOT), str(out)], env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    theirs = np.load(out)
    ours = tiny_attributions()
    assert np.abs(ours["grad"]).max() > 0 and ours["heat"].max() == pytest.approx(1.0)
    for key, value in ours.items():
        np.testing.assert_allclose(theirs[key], value, rtol=1e-4, atol=1e-6, err_msg=key)
