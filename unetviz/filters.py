"""Named filters and small teaching examples for the Convolution and Filters pages.

Filters are (f, f) float64 arrays used the way Keras uses them: the convolution
pages compute cross-correlation (:func:`unetviz.ops.conv2d`), so a filter is laid
over the image exactly as it is written, without flipping.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage as ndi

from unetviz import ops

# The tutorial's worked example (section 1): filter A, window B (A.B = 17) and the 5x5 image.
TUTORIAL_A = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]], dtype=np.float64)
TUTORIAL_B = np.array([[3, 2, 3], [4, 2, 4], [3, 3, 3]], dtype=np.float64)
TUTORIAL_IMAGE = np.array([[0, 3, 6, 2, 3],
                           [2, 5, 6, 3, 1],
                           [1, 2, 0, 0, 3],
                           [0, 5, 6, 4, 4],
                           [4, 3, 3, 4, 3]], dtype=np.float64)
TUTORIAL_BIAS = -10.0

_SOBEL_H = np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64)


@dataclass(frozen=True)
class Preset:
    """A named filter with one line on what it does."""

    name: str
    kernel: np.ndarray  # (f, f)
    blurb: str


def _box(f: int) -> np.ndarray:
    return np.full((f, f), 1.0 / (f * f))


PRESETS: dict[str, Preset] = {p.name: p for p in [
    Preset("tutorial A (rows of ones)", TUTORIAL_A,
           "The tutorial's first filter: adds up the top and bottom rows of each window."),
    Preset("identity", np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
           "Copies the centre pixel: the output is the input."),
    Preset("box blur", _box(3), "The mean of the window: smooths the image."),
    Preset("sharpen", np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float64),
           "Boosts the centre against its neighbours: edges get crisper."),
    Preset("horizontal edges (Sobel)", _SOBEL_H,
           "The tutorial's horizontal edge detector: positive where the top is brighter than "
           "the bottom, negative the other way round."),
    Preset("vertical edges (Sobel)", _SOBEL_H.T.copy(),
           "The same detector turned on its side: positive where the left is brighter than "
           "the right."),
    Preset("made-up #1", np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], dtype=np.float64),
           "A filter the tutorial made up (section 3.2): responds to diagonal edges."),
    Preset("made-up #2", np.array([[1, 2, 1], [2, 3, 2], [1, 2, 1]], dtype=np.float64),
           "A made-up filter from section 3.2: a weighted blur (not normalised)."),
    Preset("made-up #4", np.array([[0, 1, 0], [2, 3, 2], [-1, -2, -1]], dtype=np.float64),
           "A made-up filter from section 3.2 that does nothing in particular."),
    Preset("made-up #5", -_SOBEL_H,
           "A made-up filter from section 3.2: the horizontal edge detector upside down."),
]}

# 3x3 patches from the tutorial's section 2.1, and what the horizontal detector gives on each.
EDGE_PATCHES: dict[str, np.ndarray] = {
    "horizontal edge": np.array([[1, 1, 1], [0, 0, 0], [-1, -1, -1]], dtype=np.float64),
    "vertical edge": np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64),
    "one-pixel line through the centre": np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]],
                                                  dtype=np.float64),
    "flat region": np.full((3, 3), 0.5),
}


def preset_kernel(name: str, size: int = 3) -> np.ndarray:
    """The preset ``name`` as a ``size x size`` filter.

    A box blur is rebuilt at every size; other presets are centred in a larger
    filter (zeros around) or cropped to their centre in a smaller one.

    >>> preset_kernel("identity", 1).tolist()
    [[1.0]]
    >>> float(preset_kernel("box blur", 2).sum())
    1.0
    """
    if name not in PRESETS:
        raise ValueError(f"Unknown filter {name!r}; choose from {', '.join(PRESETS)}.")
    if not 1 <= int(size) <= 9:
        raise ValueError(f"Filter sizes run from 1 to 9 (got {size}).")
    size = int(size)
    if name == "box blur":
        return _box(size)
    return fit_kernel(PRESETS[name].kernel, size)


def fit_kernel(kernel, size: int) -> np.ndarray:
    """Centre ``kernel`` (f, f) in a ``size x size`` array of zeros, or crop its centre.

    >>> fit_kernel(np.ones((1, 1)), 3).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"A filter must be square (f, f); got shape {k.shape}.")
    f = k.shape[0]
    out = np.zeros((size, size))
    if size >= f:
        o = (size - f + 1) // 2
        out[o:o + f, o:o + f] = k
    else:
        o = (f - size + 1) // 2
        out[:] = k[o:o + size, o:o + size]
    return out


def check_kernel(values) -> np.ndarray:
    """A filter typed in by a person, as a finite (f, f) float64 array.

    Raises ``ValueError`` saying which cell is empty or not a number.

    >>> check_kernel([[1, 0], [0, 1]]).shape
    (2, 2)
    """
    try:
        k = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("Every cell of the filter must be a number.") from None
    if k.ndim != 2 or k.shape[0] != k.shape[1] or k.size == 0:
        raise ValueError(f"The filter must be a square table of numbers; got shape {k.shape}.")
    bad = np.argwhere(~np.isfinite(k))
    if bad.size:
        r, c = bad[0]
        raise ValueError(f"The filter cell in row {r + 1}, column {c + 1} is empty or not a number: "
                         "type a number there.")
    return k


@dataclass(frozen=True)
class FlipComparison:
    """Cross-correlation (what CNNs call convolution) next to true convolution."""

    correlation: np.ndarray  # conv2d with zero 'same' padding, (H, W)
    convolution: np.ndarray  # scipy.ndimage.convolve, mode='constant', (H, W)
    flipped: np.ndarray  # the kernel turned 180 degrees, (f, f)
    same: bool  # the two results agree (the kernel is symmetric under the turn, or luck)


def flip_comparison(image, kernel) -> FlipComparison:
    """Compare :func:`unetviz.ops.conv2d` with ``scipy.ndimage.convolve`` on one image.

    Both use zero padding that keeps the size. Only odd filter sizes have a centre
    pixel, so even sizes raise ``ValueError``.

    >>> r = flip_comparison(np.eye(3), [[0, 0, 0], [1, 0, 0], [0, 0, 0]])
    >>> r.same
    False
    """
    k = check_kernel(kernel)
    if k.shape[0] % 2 == 0:
        raise ValueError("The comparison needs an odd filter size (1, 3, 5, ...), which has a "
                         "centre pixel for both methods to agree on.")
    a = np.asarray(image, dtype=np.float64)
    corr = ops.conv2d(a, k, padding="same")
    conv = ndi.convolve(a, k, mode="constant", cval=0.0)
    return FlipComparison(corr, conv, k[::-1, ::-1].copy(), bool(np.allclose(corr, conv)))


def single_pixel_line(size: int = 9, row: int | None = None) -> np.ndarray:
    """A dark ``size x size`` image with one bright horizontal line, one pixel thick.

    >>> single_pixel_line(5)[2].tolist()
    [1.0, 1.0, 1.0, 1.0, 1.0]
    """
    if size < 3:
        raise ValueError("The line image needs at least 3x3 pixels.")
    a = np.zeros((size, size))
    a[size // 2 if row is None else row] = 1.0
    return a


def nice_limit(values) -> float:
    """A round number at least as large as every ``|value|`` (1, 2, 3, 5, 10, 20, 30, 50, ...).

    Used for slider ranges, so that they do not jump with every small change.

    >>> nice_limit([-3.2, 29]), nice_limit([0.4])
    (30.0, 1.0)
    """
    a = np.asarray(values, dtype=np.float64)
    m = float(np.abs(a[np.isfinite(a)]).max()) if a.size and np.isfinite(a).any() else 0.0
    step = 1.0
    while True:
        for mult in (1, 2, 3, 5):
            if mult * step >= m:
                return float(mult * step)
        step *= 10


def slider_range(values) -> tuple[float, float]:
    """``(limit, step)`` for a slider from ``-limit`` to ``limit`` that covers ``values``.

    >>> slider_range([-3.2, 29]), slider_range([0.4])
    ((30.0, 1.0), (1.0, 0.05))
    """
    limit = nice_limit(values)
    base = 10.0 ** np.floor(np.log10(limit))
    return limit, float(base / (20 if limit < 10 else 10))


@dataclass(frozen=True)
class MapSummary:
    """What a caption says about a feature map."""

    low: float  # smallest value
    high: float  # largest value
    zeros: int  # how many pixels are exactly 0
    size: int  # how many pixels in all


def summarize(a) -> MapSummary:
    """Smallest and largest value and the count of exact zeros of a map.

    >>> summarize([[0.0, -2.0], [3.0, 0.0]])
    MapSummary(low=-2.0, high=3.0, zeros=2, size=4)
    """
    x = np.asarray(a, dtype=np.float64)
    if x.size == 0:
        raise ValueError("The map is empty.")
    return MapSummary(float(x.min()), float(x.max()), int(np.count_nonzero(x == 0)), int(x.size))
