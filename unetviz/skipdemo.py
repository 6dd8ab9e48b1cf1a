"""Why skip connections: detail lost by pooling then up-sampling, brought back by the skip.

:func:`skip_demo` runs a one-level U on a single image: an encoder feature
map, pooled 2x2, up-sampled back (the decoder's map), then concatenated with
the encoder's map. To measure what each path can still express, it fits the
best 3x3 convolution (least squares, as training would approach) that
rebuilds the input from the decoder map alone and from the concatenation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from unetviz import ops

# The encoder's filters: channel 0 passes the image through, the others find edges.
ENCODER_FILTERS = {
    "the image itself": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], dtype=np.float64),
    "vertical edges": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64) / 4,
    "horizontal edges": np.array([[-1, -2, -1], [0, 0, 0], [1, 2, 1]], dtype=np.float64) / 4,
    "blur": np.full((3, 3), 1 / 9),
}


@dataclass(frozen=True)
class SkipDemo:
    image: np.ndarray  # the input, cropped to an even size, (H, W)
    encoder: np.ndarray  # encoder feature map, (H, W, C)
    pooled: np.ndarray  # after 2x2 pooling, (H/2, W/2, C)
    decoder: np.ndarray  # up-sampled back, (H, W, C)
    merged: np.ndarray  # encoder then decoder channels, as the U-Net builder orders them, (H, W, 2C)
    rebuilt_without: np.ndarray  # best 3x3 conv of the decoder map alone, (H, W)
    rebuilt_with: np.ndarray  # best 3x3 conv of the concatenation, (H, W)
    error_without: float  # mean absolute error against the input
    error_with: float
    cropped: bool  # an odd input lost its last row and column

    @property
    def value_range(self) -> tuple[float, float]:
        """The input's (min, max): one grey scale for the input and its rebuilds."""
        return float(self.image.min()), float(self.image.max())

    def shape_text(self, a: np.ndarray) -> str:
        """``"8x8x3"`` for an (8, 8, 3) array."""
        return "x".join(str(n) for n in a.shape)


def _best_conv(features: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares 3x3 convolution (with bias) from (H, W, C) features to an (H, W) target."""
    win = sliding_window_view(ops.pad(features, 1), (3, 3), axis=(0, 1))  # (H, W, C, 3, 3)
    h, w = target.shape
    x = win.reshape(h * w, -1)
    x = np.hstack([x, np.ones((h * w, 1))])
    # Normal equations with a whisker of ridge: far cheaper than lstsq's SVD, same fit here.
    gram = x.T @ x + 1e-9 * np.eye(x.shape[1])
    coef = np.linalg.solve(gram, x.T @ target.ravel())
    return (x @ coef).reshape(h, w)


def skip_demo(image, *, channels: int = 3, pool: str = "max") -> SkipDemo:
    """Pool, up-sample and concatenate one image's feature map; see what each path keeps.

    Parameters
    ----------
    image : (H, W) array, at least 4x4; an odd side loses its last row/column
    channels : encoder channels, 1 to 4 (channel 0 is the image itself)
    pool : ``"max"`` or ``"average"``

    Examples
    --------
    >>> d = skip_demo(np.eye(8), channels=3)
    >>> d.shape_text(d.decoder), d.shape_text(d.merged)
    ('8x8x3', '8x8x6')
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim != 2 or min(a.shape) < 4:
        raise ValueError(f"Give an (H, W) image at least 4x4; got shape {a.shape}.")
    if not 1 <= int(channels) <= len(ENCODER_FILTERS):
        raise ValueError(f"Channels must be 1 to {len(ENCODER_FILTERS)} (got {channels}).")
    if pool not in ("max", "average"):
        raise ValueError(f"Pooling must be 'max' or 'average' (got {pool!r}).")
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    cropped = (h, w) != a.shape
    a = a[:h, :w]
    kernel = np.stack(list(ENCODER_FILTERS.values())[:channels], axis=-1)[:, :, None, :]
    encoder = ops.conv2d(a, kernel, padding="same")  # (H, W, C)
    pooled = (ops.max_pool if pool == "max" else ops.avg_pool)(encoder, 2)  # (H/2, W/2, C)
    decoder = ops.upsample(pooled, 2)  # (H, W, C)
    merged = ops.concat(encoder, decoder)  # (H, W, 2C), the skip first like build_unet
    without = _best_conv(decoder, a)
    with_skip = _best_conv(merged, a)
    return SkipDemo(a, encoder, pooled, decoder, merged, without, with_skip,
                    float(np.abs(without - a).mean()), float(np.abs(with_skip - a).mean()),
                    cropped)
