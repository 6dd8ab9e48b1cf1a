"""Channels: stacking filters, multi-channel filters, parameter counts."""

import numpy as np
import pytest

from unetviz import channels as ch
from unetviz import ops


def test_five_filters_make_five_channels():
    maps = ch.feature_maps(ch.EXAMPLE_IMAGE, list(ch.EXAMPLE_FILTERS.values()))
    assert maps.shape == (9, 9, 5)
    blur = maps[:, :, 1]
    # Hand-worked with zero padding: the blur filter's corner of the 9x9 image.
    assert blur[:2, :2].tolist() == [[13, 17], [20, 27]]


def test_multi_channel_filter_is_the_sum_of_per_channel_convolutions():
    maps = ch.feature_maps(ch.EXAMPLE_IMAGE, list(ch.EXAMPLE_FILTERS.values()))
    p = ch.channel_parts(maps, ch.EXAMPLE_MULTI_FILTER)
    assert p.parts.shape == (9, 9, 5) and p.total.shape == (9, 9)
    np.testing.assert_allclose(p.total, ops.conv2d(maps, ch.EXAMPLE_MULTI_FILTER, padding="same"))
    # Channel 2 (blur map) with filter channel 2 at (0, 0): [[1, 2], [0, 2]] . [[13, 17], [20, 27]]
    assert p.parts[0, 0, 1] == 13 + 34 + 0 + 54


def test_channel_parts_small_example_and_bias():
    p = ch.channel_parts(np.ones((3, 3, 2)), np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))], -1),
                         padding=0, bias=1.0)
    assert p.parts[0, 0].tolist() == [9, 18]
    assert p.total.tolist() == [[28]]


def test_channel_parts_refuses_mismatched_channels():
    with pytest.raises(ValueError, match="one channel per image channel"):
        ch.channel_parts(np.ones((4, 4, 3)), np.ones((3, 3, 2)))


@pytest.mark.parametrize("f, c, k, n", [(3, 5, 3, 138), (3, 1, 5, 50), (3, 64, 128, 73856),
                                        (1, 6, 1, 7)])
def test_conv_params(f, c, k, n):
    assert ch.conv_params(f, c, k) == n


def test_conv_params_refuses_zero():
    with pytest.raises(ValueError):
        ch.conv_params(3, 0, 4)


def test_3d_output_depth():
    assert ch.conv3d_output_depth(5, 3) == 3
    assert ch.conv3d_output_depth(5, 5) == 1
    with pytest.raises(ValueError, match="does not fit"):
        ch.conv3d_output_depth(2, 3)


def test_stack_filters_refuses_mixed_sizes():
    with pytest.raises(ValueError, match="same size"):
        ch.stack_filters([np.ones((3, 3)), np.ones((2, 2))])
    with pytest.raises(ValueError, match="at least one"):
        ch.stack_filters([])


def test_2d_vs_3d_picture_labels_the_shapes():
    from unetviz.figures import conv_2d_vs_3d

    fig = conv_2d_vs_3d(5, 3, ch.conv3d_output_depth(5, 3))
    text = " ".join(a.text for a in fig.layout.annotations)
    assert "8x8x5 volume" in text and "8x8x3 volume" in text and "one 8x8 map" in text
    assert all(t.x.dtype == np.float32 for t in fig.data)
