"""unetviz.predict: whole-image and overlap-tile prediction, sizes, offsets, test-time augmentation."""

import io
import time

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

keras = pytest.importorskip("keras")
L = keras.layers

from unetviz.data import dihedral, undihedral  # noqa: E402
from unetviz.images import load_image  # noqa: E402
from unetviz.predict import (  # noqa: E402
    accepted_size,
    output_offset,
    output_size,
    predict_image,
    to_model_range,
)

RNG = np.random.default_rng(0)


def same_unet(size=None, filters=2, seed=0):
    """A one-pooling same-padding U-Net: (N, H, W, 1) -> (N, H, W, 1), H and W even."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((size, size, 1))
    a = L.Conv2D(filters, 3, padding="same", activation="relu")(x)
    b = L.Conv2D(filters, 3, padding="same", activation="relu")(L.MaxPooling2D(2)(a))
    c = L.Concatenate()([a, L.UpSampling2D(2)(b)])
    return keras.Model(x, L.Conv2D(1, 1, activation="sigmoid")(c))


def centre_net(size=None):
    """A valid-convolution U-Net (cropped skip) whose output is exactly its input's centre.

    Input n (even, >= 14) -> output n - 12, offset 6: two valid 3x3 delta
    convolutions (the skip, cropped by 4) and a pooled path the head weighs by 0.
    """
    delta = np.zeros((3, 3, 1, 1), np.float32)
    delta[1, 1] = 1.0
    x = keras.Input((size, size, 1))
    conv = [L.Conv2D(1, 3, padding="valid") for _ in range(4)]
    a = conv[1](conv[0](x))  # n - 4
    b = conv[3](conv[2](L.MaxPooling2D(2)(a)))  # (n - 4) / 2 - 4
    c = L.Concatenate()([L.Cropping2D(4)(a), L.UpSampling2D(2)(b)])  # n - 12
    head = L.Conv2D(1, 1)
    model = keras.Model(x, head(c))
    for layer in conv[:2]:
        layer.set_weights([delta, np.zeros(1, np.float32)])
    for layer in conv[2:]:
        layer.set_weights([RNG.normal(size=(3, 3, 1, 1)).astype("float32"), np.ones(1, "float32")])
    head.set_weights([np.array([1.0, 0.0], np.float32).reshape(1, 1, 2, 1), np.zeros(1, np.float32)])
    return model


def pointwise(size=None):
    """1x1 convolutions with dyadic weights, so every result is exact in float32."""
    x = keras.Input((size, size, 1))
    c1, c2 = L.Conv2D(3, 1, activation="relu"), L.Conv2D(1, 1)
    model = keras.Model(x, c2(c1(x)))
    c1.set_weights([np.array([[[[0.5, -1.0, 2.0]]]], np.float32), np.array([0.25, 0.5, -0.5], np.float32)])
    c2.set_weights([np.array([1.0, -2.0, 0.5], np.float32).reshape(1, 1, 3, 1),
                    np.array([0.125], np.float32)])
    return model


def pointwise_numpy(img):  # (H, W, 1) -> (H, W, 1)
    h = np.maximum(img * np.array([0.5, -1.0, 2.0]) + np.array([0.25, 0.5, -0.5]), 0)
    return (h @ np.array([1.0, -2.0, 0.5]) + 0.125)[..., None]


def dyadic(h, w, c=1):
    """An (h, w, c) image of multiples of 1/256, exact in float32."""
    return (RNG.integers(0, 257, (h, w, c)) / 256).astype(np.float32)


# ------------------------------------------------------------ sizes


def test_output_size_accepted_size_offset_hand_worked():
    same, valid, fixed = same_unet(), centre_net(), pointwise(16)
    assert output_size(same, 32, 48) == (32, 48)
    assert output_size(same, 33, 48) is None  # pooling floors 33 to 16: the concat cannot join
    assert output_size(valid, 44, 44) == (32, 32)
    assert output_size(valid, 45, 44) is None
    assert output_size(valid, 12, 12) is None  # nothing left after the valid convolutions
    assert output_size(fixed, 16, 16) == (16, 16)
    assert output_size(fixed, 17, 16) is None
    assert accepted_size(same, 33, 47) == (34, 48)
    assert accepted_size(same, 33, 47, at_least=False) == (32, 46)
    assert accepted_size(valid, 13, 45) == (14, 46)
    assert accepted_size(fixed, 5, 500) == (16, 16)
    assert output_offset(valid, 44, 44) == (6, 6)
    assert output_offset(valid, 44, 60) == (6, 6)
    assert output_offset(same, 32, 48) == (0, 0)
    with pytest.raises(ValueError, match="does not take"):
        output_offset(valid, 45, 45)


def test_concat_size_check_reaches_into_a_nested_model():
    inner = same_unet()
    x = keras.Input((None, None, 1))
    outer = keras.Model(x, L.Conv2D(1, 1)(inner(L.Conv2D(1, 1)(x))))
    assert output_size(outer, 32, 32) == (32, 32)
    assert output_size(outer, 33, 32) is None
    seq = keras.Sequential([keras.Input((None, None, 1)), L.Conv2D(1, 3, padding="same"), inner])
    assert output_size(seq, 32, 34) == (32, 34)
    assert output_size(seq, 32, 35) is None
    assert accepted_size(seq, 31, 35) == (32, 36)


# ------------------------------------------------------------ one pass and tiles


def test_whole_image_equals_a_direct_call():
    model = same_unet()
    img = RNG.random((32, 48, 1)).astype(np.float32)
    p = predict_image(model, img)
    assert p.method == "whole" and p.tiles == 1 and p.tile == (32, 48) and not p.tta
    assert p.note == "Predicted in one pass at 32x48."
    np.testing.assert_array_equal(p.prob, np.asarray(model(img[None]))[0])


def test_odd_image_is_mirrored_to_an_accepted_size_and_cropped_back():
    model = same_unet()
    img = RNG.random((31, 45, 1)).astype(np.float32)
    p = predict_image(model, img)
    assert p.prob.shape == (31, 45, 1) and p.method == "whole" and p.tile == (32, 46)
    assert "mirrored" in p.note
    # The mirrored input, cropped back, is what a direct call on it gives.
    padded = np.pad(img, ((0, 1), (0, 1), (0, 0)), mode="reflect")
    np.testing.assert_array_equal(p.prob, np.asarray(model(padded[None]))[0, :31, :45])


def test_fixed_size_pointwise_model_tiles_exactly():
    img = dyadic(40, 56)
    p = predict_image(pointwise(16), img)
    assert p.method == "overlap-tile" and p.tile == (16, 16)
    assert p.prob.shape == (40, 56, 1)
    assert p.tiles == 3 * 5  # overlap 4, stride 12: ceil((40 - 16) / 12) + 1 down, ceil(40 / 12) + 1 across
    assert "raised-cosine" in p.note
    np.testing.assert_array_equal(p.prob, pointwise_numpy(img))


def test_same_size_tiles_are_blended_with_a_raised_cosine_ramp():
    model = same_unet()
    img = RNG.random((24, 16, 1)).astype(np.float32)
    p = predict_image(model, img, tile=16, overlap=4)
    assert p.tiles == 2 and p.tile == (16, 16)
    # Two tiles down (stride 12) cover 28 rows, centred: the image is mirrored by 2
    # rows each side; tile 0 sees image rows -2..13, tile 1 rows 10..25.
    padded = np.pad(img, ((2, 2), (0, 0), (0, 0)), mode="reflect")
    y0 = np.asarray(model(padded[None, 0:16]))[0].astype(np.float64)
    y1 = np.asarray(model(padded[None, 12:28]))[0].astype(np.float64)
    up = np.sin(np.pi * (np.arange(4) + 0.5) / 8) ** 2  # tile 1 ramps up, tile 0 down
    np.testing.assert_array_equal(p.prob[:10], y0[2:12].astype(np.float32))
    blend = (1 - up)[:, None, None] * y0[12:16] + up[:, None, None] * y1[0:4]
    np.testing.assert_allclose(p.prob[10:14], blend, atol=1e-6)
    np.testing.assert_array_equal(p.prob[14:], y1[4:14].astype(np.float32))


def test_valid_net_tiles_cover_the_image_aligned_pixel_for_pixel():
    img = RNG.random((40, 56, 1)).astype(np.float32)
    p = predict_image(centre_net(44), img)
    assert p.method == "overlap-tile" and p.tile == (44, 44) and p.tiles == 2 * 2
    assert p.note == ("Overlap-tile prediction: 4 tiles of 44x44 (32x32 out) with mirrored borders, "
                      "the output tiles laid side by side.")
    np.testing.assert_array_equal(p.prob, img)
    # Open size: one pass over the mirrored image.
    whole = predict_image(centre_net(), img)
    assert whole.method == "whole" and whole.tile == (52, 68)
    np.testing.assert_array_equal(whole.prob, img)
    # Small explicit tiles, with overlap blending, still line up.
    tiled = predict_image(centre_net(), img, tile=20, overlap=2)
    assert tiled.tile == (20, 20) and tiled.tiles > 20
    np.testing.assert_allclose(tiled.prob, img, atol=1e-6)


def test_large_image_through_a_small_open_model():
    model = same_unet(filters=2)
    img = RNG.random((2048, 2048, 1)).astype(np.float32)
    start = time.perf_counter()
    p = predict_image(model, img)
    seconds = time.perf_counter() - start
    print(f"2048x2048: {p.note} {seconds:.1f} s")
    assert p.prob.shape == (2048, 2048, 1) and p.method == "overlap-tile"
    assert p.prob.dtype == np.float32 and np.all(np.isfinite(p.prob))
    # Away from tile borders the tiles agree with a direct call on that region.
    centre = img[768:1280, 768:1280]
    np.testing.assert_allclose(p.prob[896:1152, 896:1152],
                               np.asarray(model(centre[None]))[0, 128:384, 128:384], atol=1e-5)


def test_rgb_model_gets_colour_and_refuses_grey():
    x = keras.Input((None, None, 3))
    conv = L.Conv2D(2, 1)
    model = keras.Model(x, L.Softmax()(conv(x)))
    img = RNG.random((10, 12, 3)).astype(np.float32)
    p = predict_image(model, img)
    assert p.prob.shape == (10, 12, 2)
    np.testing.assert_allclose(p.prob, np.asarray(model(img[None]))[0], atol=1e-6)
    with pytest.raises(ValueError, match="3 channel.*colour"):
        predict_image(model, img[:, :, 0])


def test_prediction_errors_are_sentences():
    x = keras.Input((8, 8, 1))
    dense = keras.Model(x, L.Dense(3)(L.Flatten()(x)))
    with pytest.raises(ValueError, match="no input size near|cannot be tiled"):
        predict_image(dense, np.zeros((8, 8, 1), np.float32))
    with pytest.raises(ValueError, match="not numbers"):
        predict_image(same_unet(), np.full((4, 4, 1), np.nan, np.float32))
    with pytest.raises(ValueError, match="overlap"):
        predict_image(pointwise(16), np.zeros((40, 40, 1), np.float32), overlap=16)


# ------------------------------------------------------------ test-time augmentation


@pytest.mark.parametrize("k", range(8))
def test_undihedral_inverts_dihedral(k):
    a = np.arange(24).reshape(2, 3, 4)
    np.testing.assert_array_equal(undihedral(dihedral(a, k), k), a)


def test_tta_of_an_equivariant_model_equals_plain_prediction():
    img = dyadic(12, 20)
    for model in (pointwise(), pointwise(16), centre_net(), centre_net(44)):
        plain, tta = predict_image(model, img), predict_image(model, img, tta=True)
        assert tta.tta and "8 rotations and flips" in tta.note
        np.testing.assert_allclose(tta.prob, plain.prob, atol=1e-6)


def test_tta_of_a_linear_conv_is_the_conv_with_the_symmetrised_kernel():
    kernel = RNG.normal(size=(3, 3)).astype(np.float32)
    x = keras.Input((None, None, 1))
    conv = L.Conv2D(1, 3, padding="same", use_bias=False)
    model = keras.Model(x, conv(x))
    conv.set_weights([kernel.reshape(3, 3, 1, 1)])
    img = RNG.random((12, 20, 1)).astype(np.float32)
    plain, tta = predict_image(model, img).prob, predict_image(model, img, tta=True).prob
    assert np.abs(tta - plain).max() > 1e-3  # the kernel is not symmetric
    # Averaging over the 8 transforms of the input is a conv with the average of
    # the kernel's 8 transforms (same zero padding on every side).
    sym = np.mean([dihedral(kernel, k) for k in range(8)], axis=0)
    expected = ndimage.correlate(img[:, :, 0].astype(np.float64), sym, mode="constant")
    np.testing.assert_allclose(tta[:, :, 0], expected, atol=1e-5)
    by_hand = np.mean([undihedral(np.asarray(model(np.ascontiguousarray(dihedral(img, k))[None]))[0], k)
                       for k in range(8)], axis=0)
    np.testing.assert_allclose(tta, by_hand, atol=1e-6)


# ------------------------------------------------------------ input range and colour


def test_model_with_rescaling_gets_0_255():
    x = keras.Input((None, None, 1))
    model = keras.Model(x, L.Rescaling(1 / 255)(x))
    img = dyadic(6, 8)
    p = predict_image(model, to_model_range(img, 255))
    np.testing.assert_allclose(p.prob, img, atol=1e-6)
    np.testing.assert_array_equal(to_model_range(img, 1), img)
    with pytest.raises(ValueError, match="positive"):
        to_model_range(img, 0)


def test_rgb_loading():
    rgb = np.zeros((3, 4, 3), np.uint8)
    rgb[..., 0], rgb[0, 0] = 255, (10, 20, 30)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG")
    out = load_image(buf.getvalue(), channels=3)
    assert out.shape == (3, 4, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, rgb / 255.0, atol=1e-7)
    grey = io.BytesIO()
    Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20).save(grey, "PNG")
    g3 = load_image(grey.getvalue(), channels=3)
    np.testing.assert_array_equal(g3, np.repeat(load_image(grey.getvalue())[:, :, None], 3, axis=2))
    rgba = io.BytesIO()
    Image.new("RGBA", (2, 2), (0, 0, 0, 0)).save(rgba, "PNG")  # transparent shows as white
    np.testing.assert_array_equal(load_image(rgba.getvalue(), channels=3), np.ones((2, 2, 3), np.float32))
    with pytest.raises(ValueError, match="channels"):
        load_image(buf.getvalue(), channels=2)
