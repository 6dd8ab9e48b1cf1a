"""Teaching step generators for pooling and up-sampling.

Each generator is pure: it yields small frozen dataclasses, one per window or
input pixel, and the page decides how to show them. The steps add up to the
direct result from :mod:`unetviz.ops` (the tests check this). The
``*_progress`` helpers replay the first ``k`` steps into the "output so far"
that a page draws, with NaN where nothing has been written yet.

Images here are single-channel ``(H, W)``: these are pictures for a learner,
one feature map at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from unetviz import ops

POOL_MODES = ("max", "average")

# Worked examples: a 6x6 map to pool and a 3x3 map to up-sample.
POOL_EXAMPLE = np.array([[0, 3, 6, 2, 1, 2],
                         [2, 5, 6, 3, 1, 1],
                         [1, 2, 0, 0, 3, 1],
                         [2, 5, 6, 4, 4, 4],
                         [2, 3, 3, 4, 3, 0],
                         [0, 2, 4, 5, 1, 0]], dtype=np.float64)
UPSAMPLE_EXAMPLE = np.array([[1, 3, 6], [2, 5, 6], [2, 4, 3]], dtype=np.float64)

# Filters for the transposed convolution (stride 2); a network would learn its own.
TRANSPOSE_FILTERS = {
    "2x2 of ones (copies, like nearest)": np.ones((2, 2)),
    "3x3 tent (overlaps blend)": np.array([[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]),
    "2x2 uneven [[1, 2], [3, 4]]": np.array([[1.0, 2.0], [3.0, 4.0]]),
}


def _grid(image) -> np.ndarray:
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"Step-by-step views take one (H, W) feature map; got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise ValueError("The image must hold finite numbers.")
    return a


class _Box:
    """``bottom`` and ``right`` of a step's rectangle, from ``top``, ``left`` and ``_extent``."""

    @property
    def bottom(self) -> int:
        """Last row of the rectangle."""
        return self.top + self._extent[0] - 1

    @property
    def right(self) -> int:
        """Last column of the rectangle."""
        return self.left + self._extent[1] - 1


# ---------------------------------------------------------------- pooling


@dataclass(frozen=True)
class PoolStep(_Box):
    """One pooling window and the number it becomes."""

    row: int  # output row
    col: int  # output column
    top: int  # first input row of the window
    left: int  # first input column of the window
    region: np.ndarray  # the window, (size, size)
    value: float  # its max or mean

    @property
    def _extent(self) -> tuple[int, int]:
        return self.region.shape[:2]


def pool_steps(image, *, size: int = 2, stride: int | None = None,
               mode: str = "max") -> Iterator[PoolStep]:
    """Yield one :class:`PoolStep` per output pixel, in raster order.

    Laid out by ``(row, col)``, the values equal :func:`unetviz.ops.max_pool`
    (``mode="max"``) or :func:`unetviz.ops.avg_pool` (``mode="average"``).

    >>> [s.value for s in pool_steps(np.array([[5, 2], [8, 3]]))]
    [8.0]
    """
    a = _grid(image)
    if mode not in POOL_MODES:
        raise ValueError(f"Pooling mode must be 'max' or 'average' (got {mode!r}).")
    size = int(size)
    stride = size if stride is None else int(stride)
    if size < 1 or stride < 1:
        raise ValueError("Pool size and stride must be at least 1.")
    if size > min(a.shape):
        raise ValueError(f"A {size}x{size} pool does not fit a {a.shape[0]}x{a.shape[1]} image. "
                         "Choose a smaller pool or a bigger image.")
    oh, ow = (a.shape[0] - size) // stride + 1, (a.shape[1] - size) // stride + 1
    reduce = np.max if mode == "max" else np.mean
    for r in range(oh):
        for c in range(ow):
            top, left = r * stride, c * stride
            region = a[top:top + size, left:left + size].copy()
            yield PoolStep(r, c, top, left, region, float(reduce(region)))


def pool_step_count(image, *, size: int = 2, stride: int | None = None) -> int:
    """How many windows :func:`pool_steps` yields, without making them.

    >>> pool_step_count(np.zeros((6, 6))), pool_step_count(np.zeros((6, 6)), size=3, stride=1)
    (9, 16)
    """
    a = _grid(image)
    size = int(size)
    stride = size if stride is None else int(stride)
    if size < 1 or stride < 1:
        raise ValueError("Pool size and stride must be at least 1.")
    if size > min(a.shape):
        raise ValueError(f"A {size}x{size} pool does not fit a {a.shape[0]}x{a.shape[1]} image. "
                         "Choose a smaller pool or a bigger image.")
    return ops.output_size(a.shape[0], size, s=stride) * ops.output_size(a.shape[1], size, s=stride)


@dataclass(frozen=True)
class PoolFrame:
    """One frame of a pooling animation: several windows done at once when there are many."""

    done: int  # windows finished so far
    step: PoolStep  # the last of them (its window is outlined)
    max_so_far: np.ndarray  # max pooling after ``done`` windows; NaN where not yet written
    avg_so_far: np.ndarray  # average pooling likewise


def _first(result: np.ndarray, k: int) -> np.ndarray:
    """The first ``k`` pixels of ``result`` in raster order; the rest NaN."""
    out = np.array(result, dtype=np.float64)
    out.reshape(-1)[k:] = np.nan  # out is a fresh copy, so this writes only to it
    return out


def pool_frames(image, *, size: int = 2, stride: int | None = None,
                max_frames: int = 30) -> list[PoolFrame]:
    """Max and average pooling side by side as at most ``max_frames`` frames.

    One window per frame when there are few; otherwise evenly spaced chunks.
    The last frame holds the full results.

    >>> [f.done for f in pool_frames(np.zeros((6, 6)))]
    [1, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> [f.done for f in pool_frames(np.zeros((6, 6)), max_frames=2)]
    [5, 9]
    """
    if max_frames < 1:
        raise ValueError("An animation needs at least one frame.")
    a = _grid(image)
    ss = list(pool_steps(a, size=size, stride=stride, mode="max"))
    big, mean = ops.max_pool(a, size, stride), ops.avg_pool(a, size, stride)
    n = min(len(ss), max_frames)
    ends = [int(np.ceil(len(ss) * (i + 1) / n)) for i in range(n)]
    return [PoolFrame(e, ss[e - 1], _first(big, e), _first(mean, e)) for e in ends]


# ---------------------------------------------------------------- nearest up-sampling


@dataclass(frozen=True)
class UpsampleStep(_Box):
    """One input pixel copied into a ``factor x factor`` block of the output."""

    row: int  # input row
    col: int  # input column
    top: int  # first output row of the block
    left: int  # first output column of the block
    factor: int  # block side
    value: float  # the copied number

    @property
    def _extent(self) -> tuple[int, int]:
        return self.factor, self.factor


def upsample_steps(image, *, factor: int = 2) -> Iterator[UpsampleStep]:
    """Yield one :class:`UpsampleStep` per input pixel (nearest up-sampling), raster order.

    Filling each block with its value gives :func:`unetviz.ops.upsample`.

    >>> s = next(upsample_steps(np.array([[7.0]]), factor=2))
    >>> (s.top, s.left, s.factor, s.value)
    (0, 0, 2, 7.0)
    """
    a = _grid(image)
    factor = int(factor)
    if factor < 1:
        raise ValueError("The up-sampling factor must be at least 1.")
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            yield UpsampleStep(r, c, r * factor, c * factor, factor, float(a[r, c]))


# ---------------------------------------------------------------- transposed convolution


@dataclass(frozen=True)
class TransposeStep(_Box):
    """One input pixel scattering ``pixel x filter`` into the output."""

    row: int  # input row
    col: int  # input column
    top: int  # first output row the filter lands on
    left: int  # first output column
    value: float  # the input pixel
    contribution: np.ndarray  # value x filter, (f, f); added to the output

    @property
    def _extent(self) -> tuple[int, int]:
        return self.contribution.shape[:2]


def conv_transpose_steps(image, kernel, *, stride: int = 2) -> Iterator[TransposeStep]:
    """Yield one :class:`TransposeStep` per input pixel, raster order ("valid" padding).

    Adding every contribution at ``(top, left)`` gives
    :func:`unetviz.ops.conv_transpose2d` with the same kernel and stride; where
    filters overlap (filter bigger than the stride) the numbers add up.

    >>> s = list(conv_transpose_steps(np.array([[1.0, 2.0]]), np.ones((2, 2))))
    >>> s[1].left, s[1].contribution.tolist()
    (2, [[2.0, 2.0], [2.0, 2.0]])
    """
    a = _grid(image)
    k = np.asarray(kernel, dtype=np.float64)
    if k.ndim != 2 or k.size == 0 or not np.all(np.isfinite(k)):
        raise ValueError(f"The filter must be a 2D array of finite numbers; got shape {k.shape}.")
    stride = int(stride)
    if stride < 1:
        raise ValueError("Stride must be at least 1.")
    for r in range(a.shape[0]):
        for c in range(a.shape[1]):
            v = float(a[r, c])
            yield TransposeStep(r, c, r * stride, c * stride, v, v * k)


def transpose_output_shape(shape: tuple[int, int], kernel_shape: tuple[int, int],
                           stride: int = 2) -> tuple[int, int]:
    """Output ``(H, W)`` of a "valid" transposed convolution: ``(n - 1) s + f`` per axis.

    >>> transpose_output_shape((3, 3), (3, 3), 2)
    (7, 7)
    """
    return tuple((n - 1) * stride + f for n, f in zip(shape, kernel_shape))  # type: ignore[return-value]


# ---------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """The step a page is on, the output written so far, and how many steps there are."""

    step: PoolStep | UpsampleStep | TransposeStep
    so_far: np.ndarray  # the output after ``k`` steps; NaN where nothing is written yet
    total: int  # number of steps in the whole operation
    result: np.ndarray  # the finished output (what :mod:`unetviz.ops` computes)


def _pick(steps: list, k: int):
    if not steps:
        raise ValueError("This operation has no steps.")
    if not 1 <= k <= len(steps):
        raise ValueError(f"Step must be between 1 and {len(steps)} (got {k}).")
    return steps[k - 1]


def pool_progress(image, k: int, *, size: int = 2, stride: int | None = None,
                  mode: str = "max") -> Progress:
    """Pooling after ``k`` windows (1-based): the current window and the output so far.

    >>> p = pool_progress(np.arange(16).reshape(4, 4), 1)
    >>> p.step.value, p.total, p.so_far.tolist()
    (5.0, 4, [[5.0, nan], [nan, nan]])
    """
    a = _grid(image)
    steps = list(pool_steps(a, size=size, stride=stride, mode=mode))
    step = _pick(steps, k)
    result = (ops.max_pool if mode == "max" else ops.avg_pool)(a, size, stride)
    so_far = np.full_like(result, np.nan)
    for s in steps[:k]:
        so_far[s.row, s.col] = s.value
    return Progress(step, so_far, len(steps), result)


def upsample_progress(image, k: int, *, factor: int = 2) -> Progress:
    """Nearest up-sampling after ``k`` input pixels have been copied (1-based).

    >>> upsample_progress(np.array([[1, 3]]), 1).so_far.tolist()
    [[1.0, 1.0, nan, nan], [1.0, 1.0, nan, nan]]
    """
    a = _grid(image)
    steps = list(upsample_steps(a, factor=factor))
    step = _pick(steps, k)
    so_far = np.full((a.shape[0] * factor, a.shape[1] * factor), np.nan)
    for s in steps[:k]:
        so_far[s.top:s.top + s.factor, s.left:s.left + s.factor] = s.value
    return Progress(step, so_far, len(steps), ops.upsample(a, factor))


def conv_transpose_progress(image, kernel, k: int, *, stride: int = 2) -> Progress:
    """Transposed convolution after ``k`` input pixels have scattered their filter (1-based).

    Cells no filter has reached yet are NaN; the rest hold the running sum.

    >>> p = conv_transpose_progress(np.array([[1, 2]]), np.ones((2, 2)), 1)
    >>> p.so_far.tolist()
    [[1.0, 1.0, nan, nan], [1.0, 1.0, nan, nan]]
    """
    a = _grid(image)
    kern = np.asarray(kernel, dtype=np.float64)
    steps = list(conv_transpose_steps(a, kern, stride=stride))
    step = _pick(steps, k)
    total = np.zeros(transpose_output_shape(a.shape, kern.shape, stride))
    touched = np.zeros(total.shape, dtype=bool)
    fh, fw = kern.shape
    for s in steps[:k]:
        total[s.top:s.top + fh, s.left:s.left + fw] += s.contribution
        touched[s.top:s.top + fh, s.left:s.left + fw] = True
    so_far = np.where(touched, total, np.nan)
    return Progress(step, so_far, len(steps), ops.conv_transpose2d(a, kern, stride=stride))
