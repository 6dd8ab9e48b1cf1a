"""The skip-connection demo: pool, up-sample, concatenate, and what each path keeps."""

import numpy as np
import pytest

from unetviz.skipdemo import skip_demo


def test_a_single_bright_pixel_becomes_a_block_and_the_skip_keeps_it():
    a = np.zeros((4, 4))
    a[0, 0] = 1.0
    d = skip_demo(a, channels=1, pool="max")
    assert d.pooled[:, :, 0].tolist() == [[1, 0], [0, 0]]
    assert d.decoder[:, :, 0].tolist() == [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert d.merged.shape == (4, 4, 2)
    assert np.array_equal(d.merged[:, :, 0], a)  # the encoder's channel, copied across
    assert d.error_with < 1e-6
    assert d.value_range == (0.0, 1.0)


def test_channel_counts_add():
    d = skip_demo(np.random.default_rng(0).random((8, 8)), channels=3)
    assert (d.shape_text(d.encoder), d.shape_text(d.decoder), d.shape_text(d.merged)) == \
        ("8x8x3", "8x8x3", "8x8x6")


def test_without_the_skip_a_checkerboard_is_lost():
    a = (np.indices((16, 16)).sum(axis=0) % 2).astype(float)  # one-pixel checkerboard
    d = skip_demo(a, channels=1, pool="average")
    assert np.allclose(d.decoder, 0.5)  # every 2x2 block averages to one half
    assert d.error_without > 0.45 and d.error_with < 1e-6


def test_odd_sizes_are_cropped():
    d = skip_demo(np.ones((9, 9)))
    assert d.cropped and d.image.shape == (8, 8)


@pytest.mark.parametrize("kwargs, msg", [({"channels": 0}, "Channels"), ({"pool": "min"}, "Pooling")])
def test_bad_settings(kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        skip_demo(np.ones((8, 8)), **kwargs)


def test_too_small_image():
    with pytest.raises(ValueError, match="at least 4x4"):
        skip_demo(np.ones((3, 3)))
