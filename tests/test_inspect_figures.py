"""unetviz.inspect_figures: class maps, overlays, RGB images and the bounds on clickable maps.

The older builders (tiled channels, filters, images with a box, errors) are tested in
tests/test_inspection.py.
"""

import base64
import json

import numpy as np
import pytest

from unetviz.inspect_figures import (
    CLASS_COLOURS,
    HARD_LIMIT,
    MAX_MARKERS,
    class_figure,
    errors_figure,
    figure_bytes,
    image_figure,
    overlay_figure,
)
from unetviz.inspection import ReceptiveField


def z_of(fig, trace: int = 0) -> np.ndarray:
    return np.asarray(fig.data[trace].z)


def test_class_map_colours_each_class_and_keeps_true_coordinates():
    classes = np.array([[0, 1, 2], [2, 2, 0]])
    fig = class_figure(classes, 3, names=["bg", "cell", "edge"])
    heat = fig.data[0]
    np.testing.assert_array_equal(z_of(fig), classes)
    assert (heat.zmin, heat.zmax) == (-0.5, 2.5)
    assert list(heat.colorbar.tickvals) == [0, 1, 2]
    assert list(heat.colorbar.ticktext) == ["bg", "cell", "edge"]
    # One flat band per class: class k's value k sits in the middle of band k, in colour k.
    bands = [c for _, c in heat.colorscale]
    assert bands == [CLASS_COLOURS[0]] * 2 + [CLASS_COLOURS[1]] * 2 + [CLASS_COLOURS[2]] * 2
    assert "class %{z}" in heat.hovertemplate
    with pytest.raises(ValueError, match="0 .. 1"):
        class_figure(classes, 2)
    with pytest.raises(ValueError, match="class indices"):
        class_figure(np.zeros((2, 2, 2)), 2)


def test_a_large_clickable_class_map_is_bounded_and_says_so():
    classes = np.random.default_rng(0).integers(0, 4, (2048, 2048))
    fig = class_figure(classes, 4, clickable=True, max_bytes=200_000)
    markers = fig.data[1]
    assert markers.type == "scatter" and len(markers.x) <= MAX_MARKERS
    step = int(fig.data[0].x[1] - fig.data[0].x[0])
    assert f"1 pixel in {step} shown" in fig.layout.title.text
    assert int(fig.data[0].x[-1]) + step >= 2048  # true columns, up to the last
    assert z_of(fig)[3, 5] == classes[3 * step, 5 * step]
    assert figure_bytes(fig) < 400_000


@pytest.mark.parametrize("side", [64, 512, 2048])
def test_clickable_maps_carry_at_most_max_markers(side):
    a = np.random.default_rng(1).random((side, side)).astype(np.float32)
    fig = image_figure(a, clickable=True, max_bytes=200_000)
    assert len(fig.data[1].x) == z_of(fig).size <= MAX_MARKERS
    assert figure_bytes(fig) < HARD_LIMIT
    colours = np.asarray(fig.data[1].marker.color)
    np.testing.assert_array_equal(colours, z_of(fig).ravel())  # hover shows the exact values


def test_an_rgb_image_is_shown_in_colour_at_true_coordinates():
    rgb = np.zeros((600, 400, 3), np.float32)
    rgb[..., 0] = 1.0  # red
    rgb[300:, :, 2] = 0.5
    fig = image_figure(rgb, title="Input", max_bytes=100_000)
    im = fig.data[0]
    assert im.type == "image"
    step = int(im.dx)
    assert step > 1 and im.dy == step and f"1 pixel in {step} shown" in fig.layout.title.text
    z = np.asarray(im.z)
    assert z.dtype == np.uint8 and tuple(z[0, 0]) == (255, 0, 0)
    assert tuple(z[-1, 0]) == (255, 0, 128)  # round(0.5 * 255)
    assert figure_bytes(fig) < 150_000
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        image_figure(np.zeros((4, 4, 2)))


def test_overlay_lays_the_heat_over_a_grey_input():
    image = np.linspace(0, 1, 12, dtype=np.float32).reshape(3, 4)
    heat = np.zeros((3, 4), np.float32)
    heat[1, 2] = 0.5
    fig = overlay_figure(image, heat, title="Seg-Grad-CAM", box=ReceptiveField(1, 2, 1, 2, 1, 1))
    base, top = fig.data
    np.testing.assert_array_equal(z_of(fig, 0), image)
    np.testing.assert_array_equal(z_of(fig, 1), heat)
    assert base.hoverinfo == "skip" and 0 < top.opacity < 1
    assert (top.zmin, top.zmax) == (0.0, 0.5)
    assert fig.layout.shapes[0].x0 == 1.5 and fig.layout.shapes[0].y1 == 1.5
    rgb = np.stack([image] * 3, -1)
    np.testing.assert_allclose(z_of(overlay_figure(rgb, heat), 0), image, atol=1e-6)
    with pytest.raises(ValueError, match="same"):
        overlay_figure(image, heat[:2])


def test_a_large_overlay_is_shown_coarser_with_true_coordinates():
    image = np.random.default_rng(2).random((1024, 1024)).astype(np.float32)
    fig = overlay_figure(image, image, max_bytes=150_000)
    step = int(fig.data[1].x[1])
    assert step > 1 and f"1 pixel in {step} shown" in fig.layout.title.text
    assert z_of(fig, 1)[2, 3] == image[2 * step, 3 * step]
    assert figure_bytes(fig) < 400_000


def test_errors_figure_keeps_to_its_budget_and_says_when_it_shrinks():
    e = np.random.default_rng(3).integers(0, 4, (1024, 1024)).astype(np.int8)
    fig = errors_figure(e, max_bytes=100_000)
    assert "1 pixel in" in fig.layout.title.text
    assert figure_bytes(fig) < 300_000
    assert errors_figure(e[:16, :16]).layout.title.text == "Prediction vs label"


def test_figure_bytes_is_what_plotly_sends():
    fig = image_figure(np.zeros((8, 8), np.float32))
    assert figure_bytes(fig) == len(fig.to_json())
    data = json.loads(fig.to_json())["data"][0]["z"]
    assert np.frombuffer(base64.b64decode(data["bdata"]), np.float32).size == 64
