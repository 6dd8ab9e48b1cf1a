"""Channels: many filters stack into channels, and a multi-channel filter sums them.

The worked example is our own 9x9 image and five made-up 3x3 filters, in the
spirit of the tutorial's; numbers are cross-correlations (what Keras computes)
with "same" zero padding, so every map keeps the input's size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from unetviz import ops

# A 9x9 image with a bright lower-right corner, like the tutorial's.
EXAMPLE_IMAGE = np.array([
    [0, 1, 1, 2, 4, 4, 3, 2, 2],
    [4, 3, 2, 4, 5, 5, 4, 3, 1],
    [0, 1, 1, 4, 5, 4, 3, 2, 2],
    [2, 2, 1, 3, 5, 3, 0, 1, 2],
    [3, 2, 1, 1, 2, 3, 4, 2, 2],
    [4, 3, 2, 1, 0, 1, 3, 3, 2],
    [3, 2, 1, 2, 1, 1, 4, 4, 5],
    [2, 1, 1, 2, 1, 3, 5, 6, 7],
    [1, 0, 0, 2, 1, 4, 6, 8, 8],
], dtype=np.float64)

# Five made-up 3x3 filters: the first layer's filters, one output channel each.
EXAMPLE_FILTERS = {
    "diagonal": np.array([[-1, -1, 0], [-1, 0, 1], [0, 1, 1]], dtype=np.float64),
    "blur": np.array([[1, 2, 1], [2, 3, 2], [1, 2, 1]], dtype=np.float64),
    "top - bottom": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], dtype=np.float64),
    "middle row": np.array([[0, 1, 0], [2, 3, 2], [-1, -2, -1]], dtype=np.float64),
    "bottom - top": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64),
}

# One filter of the second layer: five 3x3 channels, one per input channel, (3, 3, 5).
EXAMPLE_MULTI_FILTER = np.stack([
    np.array([[0, -1, 1], [-1, -1, 1], [1, 1, 0]]),
    np.array([[2, -1, 2], [2, 1, 2], [2, 0, 2]]),
    np.array([[-1, 1, -1], [1, -1, 1], [-2, -1, 2]]),
    np.array([[-1, -2, -1], [-1, -1, 0], [2, -1, -2]]),
    np.array([[-1, -1, 1], [-2, -1, 0], [2, -1, -2]]),
], axis=-1).astype(np.float64)


def stack_filters(filters) -> np.ndarray:
    """Stack K single-channel (f, f) filters into one Keras kernel, (f, f, 1, K).

    >>> stack_filters([np.ones((3, 3)), np.zeros((3, 3))]).shape
    (3, 3, 1, 2)
    """
    fs = [np.asarray(f, dtype=np.float64) for f in filters]
    if not fs:
        raise ValueError("Choose at least one filter.")
    if any(f.ndim != 2 for f in fs) or len({f.shape for f in fs}) != 1:
        raise ValueError("All filters must be 2D and the same size.")
    return np.stack(fs, axis=-1)[:, :, None, :]


def feature_maps(image, filters, *, padding="same") -> np.ndarray:
    """Convolve an (H, W) image with each filter and stack the results: (H', W', K).

    One filter gives one channel; K filters give K channels.

    >>> feature_maps(np.ones((4, 4)), [np.ones((3, 3))] * 5).shape
    (4, 4, 5)
    """
    img = np.asarray(image, dtype=np.float64)
    if img.ndim != 2:
        raise ValueError(f"Give one (H, W) image; got shape {img.shape}.")
    return ops.conv2d(img, stack_filters(filters), padding=padding)


@dataclass(frozen=True)
class ChannelParts:
    """A multi-channel filter on a multi-channel image, one channel at a time."""

    parts: np.ndarray  # channel c of the image convolved with channel c of the filter, (H', W', C)
    total: np.ndarray  # their sum plus the bias: the filter's one output map, (H', W')


def channel_parts(image, kernel, *, padding="same", bias: float = 0.0) -> ChannelParts:
    """Split one multi-channel convolution into its per-channel pieces.

    ``image`` is (H, W, C) and ``kernel`` (f, f, C). ``total`` equals
    ``conv2d(image, kernel, padding=padding, bias=bias)``.

    >>> p = channel_parts(np.ones((3, 3, 2)), np.ones((3, 3, 2)), padding=0)
    >>> p.parts[0, 0].tolist(), p.total.tolist()
    ([9.0, 9.0], [[18.0]])
    """
    img = np.asarray(image, dtype=np.float64)
    ker = np.asarray(kernel, dtype=np.float64)
    if img.ndim != 3 or ker.ndim != 3:
        raise ValueError(f"Give an (H, W, C) image and an (f, f, C) filter; got {img.shape} and "
                         f"{ker.shape}.")
    if img.shape[2] != ker.shape[2]:
        raise ValueError(f"The filter has {ker.shape[2]} channels but the image has {img.shape[2]}: "
                         "a filter needs one channel per image channel.")
    parts = np.stack([ops.conv2d(img[:, :, c], ker[:, :, c], padding=padding)
                      for c in range(img.shape[2])], axis=-1)  # (H', W', C)
    return ChannelParts(parts, parts.sum(axis=-1) + bias)


def conv_params(f: int, channels: int, filters: int, *, bias: bool = True) -> int:
    """Learnable numbers in a conv layer: ``f * f * C * K`` weights plus ``K`` biases.

    >>> conv_params(3, 5, 3)
    138
    """
    f, channels, filters = int(f), int(channels), int(filters)
    if min(f, channels, filters) < 1:
        raise ValueError("Filter size, channels and filters must all be at least 1.")
    return f * f * channels * filters + (filters if bias else 0)


def conv3d_output_depth(depth: int, filter_depth: int) -> int:
    """Output slices of a 3D convolution along depth, without padding: ``D - d + 1``.

    A 2D multi-channel filter is the case ``filter_depth == depth``: one slice.

    >>> conv3d_output_depth(5, 3), conv3d_output_depth(5, 5)
    (3, 1)
    """
    if filter_depth > depth:
        raise ValueError(f"A filter {filter_depth} deep does not fit a volume {depth} deep.")
    return ops.output_size(depth, filter_depth)
