"""unetviz.ops: hand-worked arrays, the tutorial's examples, and Keras cross-checks."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

from unetviz import ops

A = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
B = np.array([[3, 2, 3], [4, 2, 4], [3, 3, 3]])
IM5 = np.array([[0, 3, 6, 2, 3],
                [2, 5, 6, 3, 1],
                [1, 2, 0, 0, 3],
                [0, 5, 6, 4, 4],
                [4, 3, 3, 4, 3]])
SOBEL_H = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])


def test_ops_does_not_import_tensorflow():
    code = "import unetviz.ops, sys; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.split() == ["False", "False"]


def test_dot_product_of_a_and_b_is_17():
    assert ops.conv2d(B, A).item() == 17.0


def test_5x5_image_without_padding():
    out = ops.conv2d(IM5, A)
    # Each output pixel is the top row plus the bottom row of its window.
    expected = np.array([[9 + 3, 11 + 2, 11 + 3],
                         [13 + 11, 14 + 15, 10 + 14],
                         [3 + 10, 2 + 10, 3 + 10]])
    assert out.shape == (3, 3)
    np.testing.assert_array_equal(out, expected)
    assert out.max() == 29  # the tutorial's colour-scale maximum


def test_5x5_image_with_padding_keeps_size_and_centre():
    out = ops.conv2d(IM5, A, padding=1)
    assert out.shape == (5, 5)
    np.testing.assert_array_equal(out[1:4, 1:4], ops.conv2d(IM5, A))
    # Top-left: only the bottom row of the filter meets the image (row 1, cols 0-1).
    assert out[0, 0] == 2 + 5
    np.testing.assert_array_equal(out, ops.conv2d(IM5, A, padding="same"))


def test_bias_and_relu_as_in_the_tutorial():
    conved = ops.conv2d(IM5, A, padding=1)
    out = ops.conv2d(IM5, A, padding=1, bias=-10, activation="relu")
    np.testing.assert_array_equal(out, np.maximum(conved - 10, 0))
    assert (conved - 10 < 0).any() and (out == 0).any()


def test_horizontal_edge_detector_gives_8_and_0():
    horizontal_edge = np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]])
    vertical_edge = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]])
    line = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    assert ops.conv2d(horizontal_edge, SOBEL_H).item() == 8
    assert ops.conv2d(vertical_edge, SOBEL_H).item() == 0
    assert ops.conv2d(line, SOBEL_H).item() == 0  # symmetric about the middle row


def test_single_pixel_edge_shows_as_two_signed_rows():
    im = np.zeros((7, 7))
    im[3, :] = 1
    out = ops.conv2d(im, SOBEL_H, padding=1)
    assert out[3].tolist() == [0] * 7  # the centre row of the filter is zero
    assert (out[2, 1:-1] == -4).all() and (out[4, 1:-1] == 4).all()


@pytest.mark.parametrize("n,f,p,s,expected", [(5, 3, 0, 1, 3), (5, 3, 1, 1, 5), (8, 3, 1, 1, 8),
                                              (7, 3, 0, 2, 3), (6, 3, 0, 2, 2), (64, 5, 2, 1, 64)])
def test_output_size(n, f, p, s, expected):
    assert ops.output_size(n, f, p, s) == expected
    if s == 1:
        assert ops.conv2d(np.zeros((n, n)), np.zeros((f, f)), padding=p, stride=s).shape == (expected,) * 2


def test_output_size_refuses_a_filter_that_does_not_fit():
    with pytest.raises(ValueError, match="does not fit"):
        ops.output_size(2, 3)
    with pytest.raises(ValueError, match="does not fit"):
        ops.conv2d(np.zeros((2, 2)), np.zeros((3, 3)))


def test_stride_and_output_size_agree():
    im = np.arange(49.0).reshape(7, 7)
    out = ops.conv2d(im, np.ones((3, 3)), stride=2)
    assert out.shape == (3, 3)
    assert out[0, 0] == im[0:3, 0:3].sum() and out[1, 2] == im[2:5, 4:7].sum()


def test_dilation_spreads_the_filter():
    im = np.arange(25.0).reshape(5, 5)
    k = np.zeros((3, 3))
    k[0, 0] = k[2, 2] = 1
    out = ops.conv2d(im, k, dilation=2)
    assert out.shape == (1, 1) and out.item() == im[0, 0] + im[4, 4]


def test_cross_correlation_not_convolution():
    rng = np.random.default_rng(0)
    im, k = rng.normal(size=(6, 6)), rng.normal(size=(3, 3))
    ours = ops.conv2d(im, k, padding=1)
    np.testing.assert_allclose(ours, ndi.correlate(im, k, mode="constant"))
    np.testing.assert_allclose(ours, ndi.convolve(im, k[::-1, ::-1], mode="constant"))
    assert not np.allclose(ours, ndi.convolve(im, k, mode="constant"))


def test_multichannel_filter_sums_its_channels():
    rng = np.random.default_rng(1)
    im, k = rng.normal(size=(8, 8, 5)), rng.normal(size=(3, 3, 5))
    per_channel = sum(ops.conv2d(im[:, :, c], k[:, :, c], padding=1) for c in range(5))
    np.testing.assert_allclose(ops.conv2d(im, k, padding=1), per_channel)


def test_many_filters_stack_into_channels():
    rng = np.random.default_rng(2)
    im, k = rng.normal(size=(8, 8, 2)), rng.normal(size=(3, 3, 2, 3))
    out = ops.conv2d(im, k, padding="same", bias=np.array([1.0, 2.0, 3.0]))
    assert out.shape == (8, 8, 3)
    for j in range(3):
        np.testing.assert_allclose(out[:, :, j], ops.conv2d(im, k[:, :, :, j], padding=1) + j + 1)


def test_bad_shapes_give_clear_errors():
    with pytest.raises(ValueError, match="channels"):
        ops.conv2d(np.zeros((4, 4, 2)), np.zeros((3, 3, 3)))
    with pytest.raises(ValueError, match="one bias per filter"):
        ops.conv2d(np.zeros((4, 4)), np.zeros((3, 3, 1, 2)), bias=[1, 2, 3])
    with pytest.raises(ValueError, match="Padding"):
        ops.conv2d(np.zeros((4, 4)), np.zeros((3, 3)), padding="full")
    with pytest.raises(ValueError, match="finite"):
        ops.conv2d(np.full((4, 4), np.nan), np.zeros((3, 3)))


def test_inputs_are_not_mutated():
    im, k = np.arange(16.0).reshape(4, 4), np.ones((3, 3))
    before = im.copy(), k.copy()
    ops.conv2d(im, k, padding=1, bias=2, activation="relu")
    np.testing.assert_array_equal(im, before[0])
    np.testing.assert_array_equal(k, before[1])


@pytest.mark.parametrize("kw", [dict(), dict(padding=1), dict(stride=2, padding="same"),
                                dict(dilation=2), dict(bias=-3.0, activation="relu")])
def test_steps_reproduce_conv2d(kw):
    rng = np.random.default_rng(3)
    im, k = rng.integers(0, 5, size=(6, 7, 2)), rng.integers(-2, 3, size=(3, 3, 2, 2))
    direct = ops.conv2d(im, k, **kw)
    steps = list(ops.conv2d_steps(im, k, **kw))
    assert len(steps) == direct.shape[0] * direct.shape[1]
    assert [(s.row, s.col) for s in steps] == [(r, c) for r in range(direct.shape[0])
                                               for c in range(direct.shape[1])]
    rebuilt = np.zeros_like(direct)
    for s in steps:
        rebuilt[s.row, s.col] = s.output
        np.testing.assert_allclose(s.value, s.product.sum(axis=(0, 1, 2)) + kw.get("bias", 0))
    np.testing.assert_allclose(rebuilt, direct)


def test_first_step_of_the_tutorial():
    first = next(ops.conv2d_steps(IM5, A))
    np.testing.assert_array_equal(first.region[:, :, 0], IM5[:3, :3])
    np.testing.assert_array_equal(first.product[:, :, 0, 0], IM5[:3, :3] * A)
    assert first.value.item() == 12


def test_6x6_max_pool():
    im = np.array([[0, 3, 6, 2, 1, 2],
                   [2, 5, 6, 3, 1, 1],
                   [1, 2, 0, 0, 3, 1],
                   [2, 5, 6, 4, 4, 4],
                   [2, 3, 3, 4, 3, 0],
                   [0, 2, 4, 5, 1, 0]])
    np.testing.assert_array_equal(ops.max_pool(im), [[5, 6, 2], [5, 6, 4], [3, 5, 3]])
    np.testing.assert_allclose(ops.avg_pool(im), [[2.5, 4.25, 1.25], [2.5, 2.5, 3], [1.75, 4, 1]])
    assert ops.max_pool(np.array([[5, 2], [8, 3]])).item() == 8


def test_pool_drops_leftover_edge_like_keras_valid():
    assert ops.max_pool(np.zeros((5, 7))).shape == (2, 3)
    assert ops.max_pool(np.zeros((6, 6)), size=3, stride=1).shape == (4, 4)
    assert ops.max_pool(np.zeros((4, 4, 3))).shape == (2, 2, 3)


def test_3x3_upsample_copies_each_pixel():
    im = np.array([[1, 3, 6], [2, 5, 6], [2, 4, 3]])
    up = ops.upsample(im)
    assert up.shape == (6, 6)
    for i in range(3):
        for j in range(3):
            assert (up[2 * i:2 * i + 2, 2 * j:2 * j + 2] == im[i, j]).all()


def test_concat_stacks_channels():
    enc, dec = np.zeros((8, 8, 3)), np.ones((8, 8, 3))
    out = ops.concat(enc, dec)
    assert out.shape == (8, 8, 6)
    assert (out[..., :3] == 0).all() and (out[..., 3:] == 1).all()
    with pytest.raises(ValueError, match="same height and width"):
        ops.concat(np.zeros((8, 8)), np.zeros((4, 4)))


def test_pad_values_and_sides():
    out = ops.pad(np.ones((2, 2)), (1, 0, 0, 2), value=-1)
    assert out.shape == (3, 4)
    assert out[0].tolist() == [-1] * 4 and out[1].tolist() == [1, 1, -1, -1]


def test_transposed_conv_scatters_and_adds_overlaps():
    out = ops.conv_transpose2d(np.array([[1.0, 2.0]]), np.ones((3, 3)), stride=2)
    assert out.shape == (3, 5)
    assert out[0].tolist() == [1, 1, 3, 2, 2]
