"""unetviz.filters, unetviz.animation and the small helpers the operation pages added to
unetviz.ops and unetviz.figures: hand-worked arrays and scipy cross-checks."""

from pathlib import Path

import numpy as np
import pytest
import scipy.ndimage as ndi

from unetviz import filters as flt
from unetviz import ops
from unetviz.animation import conv_animation, frame_ends
from unetviz.figures import edge_map, partial_heatmap

SOBEL_H = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]])


def test_presets_hold_the_tutorials_filters():
    assert set(flt.PRESETS) >= {"identity", "box blur", "sharpen", "horizontal edges (Sobel)",
                                "vertical edges (Sobel)", "tutorial A (rows of ones)"}
    np.testing.assert_array_equal(flt.PRESETS["horizontal edges (Sobel)"].kernel, SOBEL_H)
    np.testing.assert_array_equal(flt.PRESETS["vertical edges (Sobel)"].kernel, SOBEL_H.T)
    np.testing.assert_array_equal(flt.PRESETS["made-up #1"].kernel, [[-1, -1, 0], [-1, 0, 1], [0, 1, 1]])
    assert ops.conv2d(flt.TUTORIAL_B, flt.TUTORIAL_A).item() == 17


def test_preset_kernel_sizes():
    np.testing.assert_array_equal(flt.preset_kernel("identity", 1), [[1.0]])
    np.testing.assert_allclose(flt.preset_kernel("box blur", 4), np.full((4, 4), 1 / 16))
    five = flt.preset_kernel("horizontal edges (Sobel)", 5)
    np.testing.assert_array_equal(five[1:4, 1:4], SOBEL_H)
    assert five.sum() == 0 and np.count_nonzero(five) == 6
    with pytest.raises(ValueError, match="Unknown filter"):
        flt.preset_kernel("emboss")
    with pytest.raises(ValueError, match="1 to 9"):
        flt.preset_kernel("identity", 0)


def test_presets_do_what_they_say_on_an_image():
    im = np.arange(25.0).reshape(5, 5)
    np.testing.assert_array_equal(ops.conv2d(im, flt.preset_kernel("identity"), padding=1), im)
    assert ops.conv2d(im, flt.preset_kernel("box blur"))[1, 1] == pytest.approx(im[1:4, 1:4].mean())
    # Each row is 5 brighter than the one above, so the top-minus-bottom detector gives -4 x 10.
    np.testing.assert_array_equal(ops.conv2d(im, SOBEL_H), np.full((3, 3), -40.0))


def test_check_kernel_names_the_bad_cell():
    np.testing.assert_array_equal(flt.check_kernel([[1, "2"], [3, 4]]), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="row 2, column 1"):
        flt.check_kernel([[1, 2], [None, 4]])
    with pytest.raises(ValueError, match="square"):
        flt.check_kernel([[1, 2, 3]])
    with pytest.raises(ValueError, match="must be a number"):
        flt.check_kernel([["a", 2], [3, 4]])


def test_flip_comparison_matches_scipy_and_explains_the_turn():
    rng = np.random.default_rng(0)
    im = rng.random((7, 6))
    r = flt.flip_comparison(im, SOBEL_H)
    np.testing.assert_allclose(r.correlation, ndi.correlate(im, SOBEL_H.astype(float), mode="constant"))
    np.testing.assert_allclose(r.convolution, ndi.convolve(im, SOBEL_H.astype(float), mode="constant"))
    np.testing.assert_allclose(r.convolution, -r.correlation)  # this kernel turned is its negative
    np.testing.assert_array_equal(r.flipped, -SOBEL_H)
    assert not r.same
    assert flt.flip_comparison(im, flt.TUTORIAL_A).same
    with pytest.raises(ValueError, match="odd filter size"):
        flt.flip_comparison(im, np.ones((2, 2)))


def test_edge_patches_give_8_and_0():
    got = {name: ops.conv2d(p, SOBEL_H).item() for name, p in flt.EDGE_PATCHES.items()}
    assert got == {"horizontal edge": 8, "vertical edge": 0,
                   "one-pixel line through the centre": 0, "flat region": 0}


def test_single_pixel_line_gives_two_signed_rows():
    line = flt.single_pixel_line(7)
    out = ops.conv2d(line, SOBEL_H, padding=1)
    expected = np.zeros((7, 7))
    expected[2], expected[4] = -4, 4
    expected[2, [0, -1]], expected[4, [0, -1]] = -3, 3  # the zero padding cuts the end windows
    np.testing.assert_array_equal(out, expected)


def test_nice_limit_and_slider_range():
    assert flt.nice_limit([-3.2, 29]) == 30
    assert flt.nice_limit([0.4]) == 1 and flt.nice_limit([]) == 1 and flt.nice_limit([4.5]) == 5
    assert flt.nice_limit([np.nan, 120]) == 200
    assert flt.slider_range([29]) == (30.0, 1.0)
    assert flt.slider_range([0.3]) == (1.0, 0.05)


def test_output_size_parts():
    p = ops.output_size_parts(8, 3, s=2)
    assert (p.f_eff, p.room, p.out, p.leftover) == (3, 5, 3, 1)
    p = ops.output_size_parts(5, 3, p=1, d=2)
    assert (p.f_eff, p.room, p.out, p.leftover) == (5, 2, 3, 0)
    with pytest.raises(ValueError, match="does not fit"):
        ops.output_size_parts(5, 3, d=3)


def test_partial_output_and_step_at_agree_with_the_steps():
    im = np.arange(30.0).reshape(5, 6)
    k = np.array([[1.0, -1.0], [2.0, 0.5]])
    kw = {"stride": 2, "padding": 1, "bias": -3.0, "activation": "relu"}
    steps = list(ops.conv2d_steps(im, k, **kw))
    for i, s in enumerate(steps):
        one = ops.conv2d_step_at(im, k, i, **kw)
        assert (one.row, one.col, one.top, one.left) == (s.row, s.col, s.top, s.left)
        np.testing.assert_array_equal(one.product, s.product)
        np.testing.assert_array_equal(one.output, s.output)
    with pytest.raises(ValueError, match="does not exist"):
        ops.conv2d_step_at(im, k, len(steps), **kw)
    out = ops.conv2d(im, k, **kw)
    part = ops.partial_output(out, 4)
    assert np.isnan(part.reshape(-1)[4:]).all()
    np.testing.assert_array_equal(part.reshape(-1)[:4], out.reshape(-1)[:4])
    assert not np.isnan(out).any()  # the input was not touched


def test_frame_ends():
    assert frame_ends(4) == [1, 2, 3, 4]
    assert frame_ends(10, max_frames=3) == [4, 7, 10]
    assert frame_ends(900)[-1] == 900 and len(frame_ends(900)) == 60
    with pytest.raises(ValueError):
        frame_ends(0)


def test_conv_animation_frames_fill_the_output_in_order():
    im = flt.TUTORIAL_IMAGE
    fig = conv_animation(im, flt.TUTORIAL_A)
    assert len(fig.frames) == 9
    last = np.asarray(fig.frames[-1].data[0].z, dtype=float)
    np.testing.assert_array_equal(last, ops.conv2d(im, flt.TUTORIAL_A))
    first = np.asarray(fig.frames[0].data[0].z, dtype=float)
    assert first[0, 0] == 12 and np.isnan(first.reshape(-1)[1:]).all()
    x0 = fig.frames[4].layout.shapes[0].x0  # step 5, output (1, 1): window from column 1
    assert x0 == 0.5
    assert fig.frames[0].data[0].z.dtype == np.float32
    big = conv_animation(np.zeros((32, 32)), np.ones((3, 3)), padding=1)
    assert len(big.frames) == 40  # 1024 output pixels, 26 per frame


def test_edge_map_and_partial_heatmap():
    fig = edge_map(np.array([[-1.0, 0.0], [0.0, 2.0]]), positive="up", negative="down")
    hm = fig.data[0]
    assert (hm.zmin, hm.zmax) == (-2, 2) and "down" in hm.colorbar.title.text
    assert hm.z.dtype == np.float32
    fig = partial_heatmap(np.array([[1.0, np.nan, np.nan]]))
    assert list(fig.layout.xaxis.range) == [-0.5, 2.5] and list(fig.layout.yaxis.range) == [0.5, -0.5]


def test_unetviz_filters_and_animation_do_not_import_streamlit():
    import subprocess
    import sys
    code = "import unetviz.filters, unetviz.animation, sys; print('streamlit' in sys.modules)"
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=root)
    assert out.stdout.strip() == "False"


def test_summarize():
    s = flt.summarize(np.array([[0.0, -2.0], [3.0, 0.0]]))
    assert (s.low, s.high, s.zeros, s.size) == (-2.0, 3.0, 2, 4)
    with pytest.raises(ValueError, match="empty"):
        flt.summarize(np.zeros((0, 3)))
