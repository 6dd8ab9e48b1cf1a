"""The operations inside a U-Net, computed exactly in NumPy.

Every function here gives the same numbers as the matching Keras layer
(``Conv2D``, ``MaxPooling2D``, ``AveragePooling2D``, ``UpSampling2D``,
``Concatenate``), so the teaching pages can show real values without loading
TensorFlow. Shapes are ``(H, W)`` or ``(H, W, C)``; kernels use Keras' layout
``(f, f, C, K)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ACTIVATIONS = (None, "relu", "sigmoid", "tanh")


def _pair(v, name: str) -> tuple[int, int]:
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValueError(f"{name} must be one number or a (rows, cols) pair.")
        a, b = int(v[0]), int(v[1])
    else:
        a = b = int(v)
    if a < 1 or b < 1:
        raise ValueError(f"{name} must be at least 1 (got {v}).")
    return a, b


def output_size(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> int:
    """Output length of a convolution or pooling along one axis.

    ``floor((n - f_eff + 2p) / s) + 1`` with the dilated filter size
    ``f_eff = d (f - 1) + 1``.

    >>> output_size(5, 3), output_size(5, 3, p=1), output_size(7, 3, s=2)
    (3, 5, 3)
    """
    if n < 1 or f < 1 or s < 1 or d < 1 or p < 0:
        raise ValueError("Sizes and stride must be positive and padding not negative.")
    f_eff = d * (f - 1) + 1
    if f_eff > n + 2 * p:
        raise ValueError(
            f"A {f_eff}-wide filter does not fit in {n} pixels"
            + (f" plus {p} padding on each side" if p else "")
            + ". Use a smaller filter or more padding."
        )
    return (n - f_eff + 2 * p) // s + 1


def same_padding(n: int, f: int, s: int = 1, d: int = 1) -> tuple[int, int]:
    """(before, after) padding of TensorFlow's ``"same"`` rule along one axis.

    The output is ``ceil(n / s)``; when the total padding is odd the extra
    pixel goes after, which is how Keras treats even kernels.

    >>> same_padding(5, 3), same_padding(4, 2)
    ((1, 1), (0, 1))
    """
    out = math.ceil(n / s)
    total = max((out - 1) * s + d * (f - 1) + 1 - n, 0)
    return total // 2, total - total // 2


def resolve_padding(padding, shape: tuple[int, int], kshape: tuple[int, int],
                    stride=(1, 1), dilation=(1, 1)) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) padding for ``padding`` = int, ``"valid"`` or ``"same"``."""
    if isinstance(padding, str):
        if padding == "valid":
            return 0, 0, 0, 0
        if padding == "same":
            t, b = same_padding(shape[0], kshape[0], stride[0], dilation[0])
            left, r = same_padding(shape[1], kshape[1], stride[1], dilation[1])
            return t, b, left, r
        raise ValueError(f"Padding must be a number, 'valid' or 'same' (got {padding!r}).")
    p = int(padding)
    if p < 0:
        raise ValueError("Padding cannot be negative.")
    return p, p, p, p


def pad(image, p, value: float = 0.0) -> np.ndarray:
    """Pad the two spatial axes of an (H, W) or (H, W, C) image.

    ``p`` is one width for every side, or ``(top, bottom, left, right)``.

    >>> pad(np.ones((1, 1)), 1).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    """
    a = np.asarray(image, dtype=np.float64)
    t, b, left, r = (p, p, p, p) if np.isscalar(p) else tuple(p)
    if min(t, b, left, r) < 0:
        raise ValueError("Padding cannot be negative.")
    widths = [(t, b), (left, r)] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, widths, mode="constant", constant_values=value)


def activate(x, activation: str | None) -> np.ndarray:
    """Apply ``None``/``"linear"``, ``"relu"``, ``"sigmoid"`` or ``"tanh"`` elementwise."""
    x = np.asarray(x, dtype=np.float64)
    if activation in (None, "linear", "none"):
        return x
    if activation == "relu":
        return np.maximum(x, 0.0)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    if activation == "tanh":
        return np.tanh(x)
    raise ValueError(f"Unknown activation {activation!r}; use None, 'relu', 'sigmoid' or 'tanh'.")


@dataclass(frozen=True)
class _ConvPlan:
    image: np.ndarray  # padded input, (Hp, Wp, C)
    kernel: np.ndarray  # (fh, fw, C, K)
    bias: np.ndarray  # (K,)
    stride: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int, int, int]
    out_shape: tuple[int, int]
    squeeze_channels: bool  # the caller gave a kernel without the K axis


def _plan(image, kernel, stride, padding, bias, dilation) -> _ConvPlan:
    img = np.asarray(image, dtype=np.float64)
    ker = np.asarray(kernel, dtype=np.float64)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.ndim != 3:
        raise ValueError(f"The image must be (H, W) or (H, W, C); got shape {img.shape}.")
    if not np.all(np.isfinite(img)) or not np.all(np.isfinite(ker)):
        raise ValueError("The image and filter must hold finite numbers.")
    C = img.shape[2]
    squeeze = ker.ndim < 4
    if ker.ndim == 2:
        ker = ker[:, :, None, None]
        if C != 1:
            ker = np.repeat(ker, C, axis=2)
    elif ker.ndim == 3:
        ker = ker[:, :, :, None]
    elif ker.ndim != 4:
        raise ValueError(f"The filter must be (f, f), (f, f, C) or (f, f, C, K); got {ker.shape}.")
    if ker.shape[2] != C:
        raise ValueError(
            f"The filter has {ker.shape[2]} channels but the image has {C}: a filter needs one "
            "channel per image channel."
        )
    s, d = _pair(stride, "Stride"), _pair(dilation, "Dilation")
    pads = resolve_padding(padding, img.shape[:2], ker.shape[:2], s, d)
    K = ker.shape[3]
    b = np.broadcast_to(np.asarray(bias, dtype=np.float64), (K,)).copy() if np.ndim(bias) == 0 \
        else np.asarray(bias, dtype=np.float64)
    if b.shape != (K,):
        raise ValueError(f"Give one bias per filter: {K} filters, {b.size} biases.")
    Hp = img.shape[0] + pads[0] + pads[1]
    Wp = img.shape[1] + pads[2] + pads[3]
    oh = _out_len(Hp, ker.shape[0], s[0], d[0])
    ow = _out_len(Wp, ker.shape[1], s[1], d[1])
    return _ConvPlan(pad(img, pads), ker, b, s, d, pads, (oh, ow), squeeze)


def _out_len(n_padded: int, f: int, s: int, d: int) -> int:
    f_eff = d * (f - 1) + 1
    if f_eff > n_padded:
        raise ValueError(
            f"The {f_eff}-pixel filter window does not fit in the {n_padded}-pixel padded "
            "image. Use a smaller filter or more padding."
        )
    return (n_padded - f_eff) // s + 1


def _windows(plan: _ConvPlan) -> np.ndarray:
    """Every filter window: (oh, ow, fh, fw, C)."""
    fh, fw = plan.kernel.shape[:2]
    (sh, sw), (dh, dw) = plan.stride, plan.dilation
    span_h, span_w = dh * (fh - 1) + 1, dw * (fw - 1) + 1
    win = sliding_window_view(plan.image, (span_h, span_w), axis=(0, 1))  # (H', W', C, sh, sw)
    win = win[::sh, ::sw, :, ::dh, ::dw]
    oh, ow = plan.out_shape
    return np.moveaxis(win[:oh, :ow], 2, -1)  # (oh, ow, fh, fw, C)


def conv2d(image, kernel, *, stride=1, padding=0, bias=0.0, activation=None,
           dilation=1) -> np.ndarray:
    """Slide ``kernel`` over ``image`` exactly as Keras ``Conv2D`` does.

    This is cross-correlation: the filter is not flipped.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
    kernel : (f, f), (f, f, C) or (f, f, C, K) array in Keras layout
    stride, dilation : int or (rows, cols)
    padding : int, ``"valid"`` or ``"same"`` (TensorFlow's rule, even kernels too)
    bias : number or (K,) array
    activation : None, ``"relu"``, ``"sigmoid"`` or ``"tanh"``

    Returns
    -------
    (H', W') when ``kernel`` has no K axis, else (H', W', K); float64.

    Examples
    --------
    >>> a = np.array([[1, 1, 1], [0, 0, 0], [1, 1, 1]])
    >>> b = np.array([[3, 2, 3], [4, 2, 4], [3, 3, 3]])
    >>> conv2d(b, a).item()
    17.0
    """
    plan = _plan(image, kernel, stride, padding, bias, dilation)
    z = np.einsum("ijhwc,hwck->ijk", _windows(plan), plan.kernel) + plan.bias  # (oh, ow, K)
    out = activate(z, activation)
    return out[:, :, 0] if plan.squeeze_channels else out


@dataclass(frozen=True)
class ConvStep:
    """One output pixel of a convolution, as the teaching pages show it."""

    row: int  # output row
    col: int  # output column
    top: int  # first row of the window in the padded image
    left: int  # first column of the window in the padded image
    region: np.ndarray  # the window, (fh, fw, C) (every dilation-th pixel)
    product: np.ndarray  # window x filter, (fh, fw, C, K)
    value: np.ndarray  # sum of the product plus bias, (K,)
    output: np.ndarray  # value after the activation, (K,)


def conv2d_steps(image, kernel, *, stride=1, padding=0, bias=0.0, activation=None,
                 dilation=1) -> Iterator[ConvStep]:
    """Yield one :class:`ConvStep` per output pixel, in raster order.

    The steps' ``output`` values, laid out by ``(row, col)``, equal
    :func:`conv2d` with the same arguments.
    """
    plan = _plan(image, kernel, stride, padding, bias, dilation)
    windows = _windows(plan)
    oh, ow = plan.out_shape
    for r in range(oh):
        for c in range(ow):
            region = windows[r, c]
            product = region[..., None] * plan.kernel
            value = product.sum(axis=(0, 1, 2)) + plan.bias
            yield ConvStep(r, c, r * plan.stride[0], c * plan.stride[1], region, product,
                           value, activate(value, activation))


def conv2d_padded_input(image, kernel, *, stride=1, padding=0, dilation=1) -> np.ndarray:
    """The padded image a convolution with these settings slides over, (Hp, Wp[, C])."""
    plan = _plan(image, kernel, stride, padding, 0.0, dilation)
    a = plan.image
    return a[:, :, 0] if np.asarray(image).ndim == 2 else a


# ---------------------------------------------------------------- pooling


def _pool(image, size, stride, reduce) -> np.ndarray:
    a = np.asarray(image, dtype=np.float64)
    flat = a.ndim == 2
    if flat:
        a = a[:, :, None]
    if a.ndim != 3:
        raise ValueError(f"The image must be (H, W) or (H, W, C); got shape {a.shape}.")
    kh, kw = _pair(size, "Pool size")
    sh, sw = _pair(stride if stride is not None else (kh, kw), "Stride")
    if kh > a.shape[0] or kw > a.shape[1]:
        raise ValueError(f"A {kh}x{kw} pool does not fit a {a.shape[0]}x{a.shape[1]} image.")
    oh = (a.shape[0] - kh) // sh + 1
    ow = (a.shape[1] - kw) // sw + 1
    win = sliding_window_view(a, (kh, kw), axis=(0, 1))[::sh, ::sw][:oh, :ow]  # (oh, ow, C, kh, kw)
    out = reduce(win, axis=(3, 4))
    return out[:, :, 0] if flat else out


def max_pool(image, size=2, stride=None) -> np.ndarray:
    """Max pooling per channel with Keras' ``"valid"`` rule (leftover edge pixels are dropped).

    >>> max_pool(np.array([[5, 2], [8, 3]])).item()
    8.0
    """
    return _pool(image, size, stride, np.max)


def avg_pool(image, size=2, stride=None) -> np.ndarray:
    """Average pooling per channel with Keras' ``"valid"`` rule."""
    return _pool(image, size, stride, np.mean)


# ---------------------------------------------------------------- up-sampling


def _bilinear_axis(n: int, factor: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights for half-pixel-centred resizing of one axis."""
    dst = (np.arange(n * factor) + 0.5) / factor - 0.5
    dst = np.clip(dst, 0, None)
    lo = np.floor(dst).astype(int)
    lo = np.minimum(lo, n - 1)
    hi = np.minimum(lo + 1, n - 1)
    return lo, hi, dst - lo


def upsample(image, factor: int = 2, method: str = "nearest") -> np.ndarray:
    """Enlarge the spatial axes by ``factor``, as Keras ``UpSampling2D`` does.

    ``"nearest"`` copies each pixel into a ``factor x factor`` block;
    ``"bilinear"`` blends neighbours (half-pixel centres, like Keras).

    >>> upsample(np.array([[1, 2]])).tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    """
    a = np.asarray(image, dtype=np.float64)
    if a.ndim not in (2, 3):
        raise ValueError(f"The image must be (H, W) or (H, W, C); got shape {a.shape}.")
    factor = int(factor)
    if factor < 1:
        raise ValueError("The up-sampling factor must be at least 1.")
    if method == "nearest":
        return np.repeat(np.repeat(a, factor, axis=0), factor, axis=1)
    if method != "bilinear":
        raise ValueError(f"Method must be 'nearest' or 'bilinear' (got {method!r}).")
    r0, r1, wr = _bilinear_axis(a.shape[0], factor)
    c0, c1, wc = _bilinear_axis(a.shape[1], factor)
    extra = (None,) * (a.ndim - 2)
    wr = wr[(slice(None), None) + extra]
    wc = wc[(None, slice(None)) + extra]
    top = a[r0][:, c0] * (1 - wc) + a[r0][:, c1] * wc
    bottom = a[r1][:, c0] * (1 - wc) + a[r1][:, c1] * wc
    return top * (1 - wr) + bottom * wr


def concat(*images) -> np.ndarray:
    """Stack images along the channel axis; (H, W) counts as one channel.

    >>> concat(np.zeros((2, 2)), np.ones((2, 2, 3))).shape
    (2, 2, 4)
    """
    if not images:
        raise ValueError("Give at least one image to concatenate.")
    arrays = [np.asarray(im, dtype=np.float64) for im in images]
    arrays = [a[:, :, None] if a.ndim == 2 else a for a in arrays]
    sizes = {a.shape[:2] for a in arrays}
    if any(a.ndim != 3 for a in arrays):
        raise ValueError("Each image must be (H, W) or (H, W, C).")
    if len(sizes) != 1:
        raise ValueError(
            f"Only feature maps of the same height and width can be stacked; got {sorted(sizes)}."
        )
    return np.concatenate(arrays, axis=-1)


def conv_transpose2d(image, kernel, *, stride=2, padding="valid", bias=0.0,
                     activation=None) -> np.ndarray:
    """Transposed convolution, as Keras ``Conv2DTranspose`` computes it.

    Each input pixel scatters ``pixel x filter`` into the output at
    ``stride`` spacing; overlaps add up.

    Parameters
    ----------
    image : (H, W) or (H, W, C) array
    kernel : (f, f), or (f, f, K, C) in Keras' Conv2DTranspose layout
    padding : ``"valid"`` (output ``(H - 1) s + f``) or ``"same"`` (output ``H s``)

    >>> conv_transpose2d(np.array([[1, 2]]), np.ones((2, 2))).tolist()
    [[1.0, 1.0, 2.0, 2.0], [1.0, 1.0, 2.0, 2.0]]
    """
    a = np.asarray(image, dtype=np.float64)
    ker = np.asarray(kernel, dtype=np.float64)
    flat_in, flat_k = a.ndim == 2, ker.ndim == 2
    if flat_in:
        a = a[:, :, None]
    if flat_k:
        ker = ker[:, :, None, None]
    if a.ndim != 3 or ker.ndim != 4:
        raise ValueError("Give an (H, W[, C]) image and an (f, f[, K, C]) kernel.")
    if ker.shape[3] != a.shape[2]:
        raise ValueError(f"The kernel expects {ker.shape[3]} input channels; the image has {a.shape[2]}.")
    sh, sw = _pair(stride, "Stride")
    fh, fw, K, _ = ker.shape
    H, W, _ = a.shape
    full_h, full_w = (H - 1) * sh + fh, (W - 1) * sw + fw
    out = np.zeros((full_h, full_w, K))
    for i in range(H):
        for j in range(W):
            # (fh, fw, K): the filter weighted by this pixel's channels.
            out[i * sh:i * sh + fh, j * sw:j * sw + fw] += np.einsum("hwkc,c->hwk", ker, a[i, j])
    if padding == "same":
        th, tw = H * sh, W * sw
        ph, pw = max(full_h - th, 0), max(full_w - tw, 0)
        out = out[ph // 2: ph // 2 + th, pw // 2: pw // 2 + tw]
    elif padding != "valid":
        raise ValueError("Padding must be 'valid' or 'same'.")
    out = activate(out + np.broadcast_to(np.asarray(bias, dtype=np.float64), (K,)), activation)
    return out[:, :, 0] if flat_k else out


# ---------------------------------------------------------------- teaching helpers


@dataclass(frozen=True)
class OutputSizeParts:
    """The pieces of the output-size formula, for showing it worked out."""

    n: int  # input size
    f: int  # filter size
    p: int  # padding on each side
    s: int  # stride
    d: int  # dilation
    f_eff: int  # the filter's span, d (f - 1) + 1
    room: int  # n + 2p - f_eff: how far the window can move
    out: int  # floor(room / s) + 1
    leftover: int  # room mod s: pixels at the far edge that no window reaches


def output_size_parts(n: int, f: int, p: int = 0, s: int = 1, d: int = 1) -> OutputSizeParts:
    """:func:`output_size` with its intermediate numbers.

    ``leftover`` is non-zero when the stride does not divide the room evenly; the
    last ``leftover`` rows (and columns) are then never the start of a window.

    >>> output_size_parts(8, 3, s=2).leftover
    1
    """
    out = output_size(n, f, p, s, d)
    f_eff = d * (f - 1) + 1
    room = n + 2 * p - f_eff
    return OutputSizeParts(n, f, p, s, d, f_eff, room, out, room % s)


def partial_output(output, k: int) -> np.ndarray:
    """The first ``k`` pixels of an (H', W') output in raster order; the rest are NaN.

    >>> partial_output(np.arange(4).reshape(2, 2), 3).tolist()
    [[0.0, 1.0], [2.0, nan]]
    """
    a = np.array(output, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"Expected an (H, W) output; got shape {a.shape}.")
    flat = a.reshape(-1)  # a is a fresh copy, so this writes only to it
    flat[max(int(k), 0):] = np.nan
    return a


def conv2d_step_at(image, kernel, index: int, *, stride=1, padding=0, bias=0.0, activation=None,
                   dilation=1) -> ConvStep:
    """The ``index``-th (0-based, raster order) step of :func:`conv2d_steps`, computed alone.

    Costs one window, so a page can jump to any step of a large image.

    >>> conv2d_step_at(np.arange(9).reshape(3, 3), np.ones((2, 2)), 3).value.tolist()
    [24.0]
    """
    plan = _plan(image, kernel, stride, padding, bias, dilation)
    oh, ow = plan.out_shape
    if not 0 <= int(index) < oh * ow:
        raise ValueError(f"Step {index} does not exist: this convolution has {oh * ow} steps.")
    r, c = divmod(int(index), ow)
    region = _windows(plan)[r, c]  # (fh, fw, C)
    product = region[..., None] * plan.kernel  # (fh, fw, C, K)
    value = product.sum(axis=(0, 1, 2)) + plan.bias
    return ConvStep(r, c, r * plan.stride[0], c * plan.stride[1], region, product, value,
                    activate(value, activation))
