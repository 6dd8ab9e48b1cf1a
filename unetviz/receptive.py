"""Receptive fields by TensorFlow's exact rules, walked through a flat graph (:mod:`unetviz.graph`).

For one pixel of one layer, :func:`receptive_field` walks every layer above it,
back to the input, and keeps for each axis the interval of positions read:

- convolutions and poolings (any kernel, stride, dilation) read
  ``o*s - before .. o*s - before + k_eff - 1`` with ``k_eff = (k - 1)*d + 1``;
  "same" padding adds ``pad = max((ceil(n/s) - 1)*s + k_eff - n, 0)`` zeros,
  the smaller half (``pad // 2``) before the input, as TensorFlow does;
- a transposed convolution is the gradient of a convolution from its output size
  back to its input, with the same rule;
- nearest up-sampling reads ``o // u``; bilinear up-sampling and ``Resizing`` use
  TensorFlow's half-pixel rule ``src = (o + 0.5)*n/N - 0.5`` and read
  ``floor(src)`` and ``ceil(src)``; other interpolations get a safe window;
- ``ZeroPadding2D`` and ``Cropping2D`` shift positions; pointwise layers and
  merges keep them (a merge takes the union of its inputs);
- layers that mix all pixels (group normalisation, global pooling) read all of
  their input.

Two walks are made: one as if the image were endless (the theoretical size,
``rows`` and ``cols``, which can reach past the border where padding is read), and
one that follows, per axis, exactly which positions of every layer are reached
(the bounds, exact for this image: holes of dilated kernels and padding included).

Imports no Keras: the nodes carry their layers, and shapes come from the caller.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

_CONVS = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D")
_POOLS = ("MaxPooling2D", "AveragePooling2D")
_POINTWISE = {  # layers that read only the same pixel of each input
    "Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "BatchNormalization",
    "Dropout", "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "ActivityRegularization", "Identity", "Rescaling", "Normalization", "Dense", "EinsumDense",
    "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Masking",
}
_LAST_AXIS = {"Softmax", "LayerNormalization", "UnitNormalization", "Concatenate"}  # pointwise on axis -1
_MIXING = {  # every output pixel reads every input pixel
    "GroupNormalization", "Reshape", "Flatten", "Permute", "GlobalAveragePooling2D",
    "GlobalMaxPooling2D", "MultiHeadAttention", "Attention", "AdditiveAttention",
}
_OPS_ELEMENTWISE = {  # keras.ops operations recorded in a functional graph
    "Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum", "Minimum", "Power", "Negative",
    "Abs", "Absolute", "Sqrt", "Square", "Exp", "Log", "Tanh", "Sigmoid", "Relu", "Relu6", "Gelu",
    "Silu", "Swish", "LeakyRelu", "Elu", "Softplus", "HardSigmoid", "Clip", "Cast", "Where",
    "Sign", "Round", "Floor", "Ceil", "Mean", "Sum", "Max", "Min",
}
_RADIUS = {"bicubic": 2, "mitchellcubic": 2, "lanczos3": 3, "lanczos5": 5, "gaussian": 3, "area": 1}
_EPS = 1e-5  # float32 rounding in TensorFlow's resize kernels: widen when this close to a tap


@dataclass(frozen=True)
class ReceptiveField:
    """The input pixels a layer's pixel can see: rows ``top..bottom``, cols ``left..right``.

    ``rows`` and ``cols`` are the full extent (it can reach past the image's border,
    where padding zeros are read); the bounds are clipped to the image, exactly:
    every pixel outside them has no path to the chosen pixel.
    """

    top: int
    left: int
    bottom: int
    right: int
    rows: int
    cols: int

    @property
    def window(self) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the clipped box, for a figure's outline."""
        return self.top, self.left, max(self.bottom - self.top + 1, 0), max(self.right - self.left + 1, 0)


def gradient_summary(grad, field: ReceptiveField) -> dict:
    """How much of the theoretical window a pixel really uses for one input.

    Returns ``window`` (pixels in the clipped window), ``used`` (pixels with a
    non-zero gradient) and ``inside`` (share of the total |gradient| inside the window).

    >>> g = np.zeros((4, 4)); g[1, 1] = 2.0
    >>> gradient_summary(g, ReceptiveField(0, 0, 1, 1, 2, 2))
    {'window': 4, 'used': 1, 'inside': 1.0}
    """
    g = np.abs(np.asarray(grad, dtype=np.float64))
    t, le, h, w = field.window
    total = g.sum()
    inside = g[t:t + h, le:le + w].sum()
    return {"window": int(h * w), "used": int(np.count_nonzero(g)),
            "inside": float(inside / total) if total else 1.0}


def same_before(n: int, k_eff: int, s: int) -> int:
    """Zeros TensorFlow pads before an input of length ``n`` for "same" padding.

    >>> same_before(8, 3, 2), same_before(7, 3, 2), same_before(8, 3, 1)
    (0, 1, 1)
    """
    return max((math.ceil(n / s) - 1) * s + k_eff - n, 0) // 2


def _pair(v, axis):
    return v[axis] if isinstance(v, (tuple, list)) else v


def rules(node, axis: int, shapes: dict) -> list:
    """How each input of ``node`` is read along ``axis``: ``[(input name, rule), ...]``.

    A rule is one of ``("taps", k, s, d, before)`` (output o reads o*s - before + j*d,
    j < k), ``("spread", k, s, d, before)`` (a transposed convolution: input i writes
    there), ``("nearest", u)``, ``("resize", method, n, N)``, ``("shift", delta)``
    (o reads o + delta), ``("same",)`` (o reads o; a 1-pixel input is broadcast) and
    ``("all",)``. Raises ValueError for a layer whose reach is not known.
    """
    kind, op, ins = node.kind, node.op, node.inputs
    out = shapes[node.name]
    in_shapes = [shapes[i] for i in ins]
    if len(out) != 3:
        return [(i, ("all",)) for i in ins]
    n = in_shapes[0][axis] if in_shapes and len(in_shapes[0]) == 3 else None
    n_out = out[axis]
    if kind in _CONVS or kind in _POOLS:
        is_pool = kind in _POOLS
        k = _pair(op.pool_size if is_pool else op.kernel_size, axis)
        d = 1 if is_pool else _pair(op.dilation_rate, axis)
        st = _pair(op.strides, axis)
        before = same_before(n, (k - 1) * d + 1, st) if op.padding == "same" else 0
        return [(ins[0], ("taps", k, st, d, before))]
    if kind == "Conv2DTranspose":
        # The gradient of a convolution from length n_out down to n, with TensorFlow's padding.
        k, st, d = _pair(op.kernel_size, axis), _pair(op.strides, axis), _pair(op.dilation_rate, axis)
        k_eff = (k - 1) * d + 1
        before = max((n - 1) * st + k_eff - n_out, 0) // 2 if op.padding == "same" else 0
        return [(ins[0], ("spread", k, st, d, before))]
    if kind == "UpSampling2D":
        if op.interpolation == "nearest":
            return [(ins[0], ("nearest", _pair(op.size, axis)))]
        return [(ins[0], ("resize", op.interpolation, n, n_out))]
    if kind == "Resizing":
        if op.crop_to_aspect_ratio or op.pad_to_aspect_ratio:
            return [(ins[0], ("all",))]
        return [(ins[0], ("resize", op.interpolation, n, n_out))]
    if kind == "ZeroPadding2D":
        return [(ins[0], ("shift", -op.padding[axis][0]))]
    if kind == "Cropping2D":
        return [(ins[0], ("shift", op.cropping[axis][0]))]
    if kind == "CenterCrop" and n >= n_out:
        return [(ins[0], ("shift", (n - n_out) // 2))]
    last = kind in _LAST_AXIS and getattr(op, "axis", -1) in (-1, 3, [-1], [3], (-1,), (3,))
    elementwise = type(op).__module__.startswith("keras.src.ops") and kind in _OPS_ELEMENTWISE
    if kind in _POINTWISE or last or elementwise:
        if elementwise and getattr(op, "axis", None) not in (None, -1, 3):
            return [(i, ("all",)) for i in ins]  # a reduction over the image axes
        return [(i, ("same",) if len(sh) == 3 and sh[axis] in (n_out, 1) else ("all",))
                for i, sh in zip(ins, in_shapes)]
    if kind in _MIXING or kind.startswith("Global") or kind.endswith("Normalization"):
        return [(i, ("all",)) for i in ins]
    raise ValueError(f"The receptive field cannot be followed through {node.name} (a {kind} layer): "
                     "it is not one of the layers whose reach is known.")


def _resized(lo, hi, *, n, n_out, method):
    """Input positions that TensorFlow's ``resize`` (half-pixel centres) reads for ``lo..hi``."""
    scale = n / n_out
    a, b = (lo + 0.5) * scale, (hi + 0.5) * scale
    if method == "nearest":
        return math.floor(a - _EPS), math.floor(b + _EPS)
    if method == "bilinear":
        return math.floor(a - 0.5 - _EPS), math.ceil(b - 0.5 + _EPS)
    r = _RADIUS.get(method, 5) * max(scale, 1.0) + 1
    return math.floor(a - 0.5 - r), math.ceil(b - 0.5 + r)


def _interval(rule, lo, hi, length):
    """The input interval a rule reads for output ``lo..hi`` (the image taken as endless)."""
    name = rule[0]
    if name == "taps":
        _, k, s, d, before = rule
        return lo * s - before, hi * s - before + (k - 1) * d
    if name == "spread":  # output o gets input i when i*s - before <= o <= i*s - before + k_eff - 1
        _, k, s, d, before = rule
        return -((-(lo + before - (k - 1) * d)) // s), (hi + before) // s
    if name == "nearest":
        return lo // rule[1], hi // rule[1]
    if name == "resize":
        return _resized(lo, hi, n=rule[2], n_out=rule[3], method=rule[1])
    if name == "shift":
        return lo + rule[1], hi + rule[1]
    if name == "same" and length != 1:
        return lo, hi
    return 0, max(length - 1, 0)  # all of it (or a broadcast 1-pixel input)


def _mask(rule, mask: np.ndarray, n: int) -> np.ndarray:
    """Which of the input's ``n`` positions a rule reads for the output positions in ``mask``."""
    name, out = rule[0], np.flatnonzero(mask)
    read = np.zeros(n, bool)

    def mark(idx):
        idx = np.asarray(idx).ravel()
        read[idx[(idx >= 0) & (idx < n)]] = True

    if name == "taps":
        _, k, s, d, before = rule
        mark(out[:, None] * s - before + np.arange(k) * d)
    elif name == "spread":
        _, k, s, d, before = rule
        written = np.arange(n)[:, None] * s - before + np.arange(k) * d  # (n, k) outputs of each input
        ok = (written >= 0) & (written < mask.size)
        hit = np.zeros_like(ok)
        hit[ok] = mask[written[ok]]
        read = hit.any(axis=1)
    elif name == "nearest":
        mark(out // rule[1])
    elif name == "resize":
        for o in out:
            a, b = _resized(int(o), int(o), n=rule[2], n_out=rule[3], method=rule[1])
            mark(np.arange(a, b + 1))
    elif name == "shift":
        mark(out + rule[1])
    elif name == "same" and n == mask.size:
        read = mask.copy()
    else:
        read[:] = out.size > 0
    return read


def _length(shape, axis) -> int:
    return shape[axis] if len(shape) == 3 else 1


def _walk_endless(graph, shapes: dict, name: str, row: int, col: int):
    """The box ``(top, bottom, left, right)`` read when the image is taken as endless: the
    theoretical window, which can reach past the border."""
    wanted = {name: (row, row, col, col)}
    for node in reversed(graph.nodes):
        box = wanted.get(node.name)
        if box is None or not node.inputs:
            continue
        by_axis = [rules(node, a, shapes) for a in (0, 1)]
        for (src, r_rule), (_, c_rule) in zip(*by_axis):
            sh = shapes[src]
            (t, b), (le, r) = (_interval(r_rule, box[0], box[1], _length(sh, 0)),
                               _interval(c_rule, box[2], box[3], _length(sh, 1)))
            prev = wanted.get(src)
            wanted[src] = (t, b, le, r) if prev is None else (
                min(prev[0], t), max(prev[1], b), min(prev[2], le), max(prev[3], r))
    return wanted.get(graph.input.name)


def _walk_real(graph, shapes: dict, name: str, row: int, col: int):
    """Per axis, which positions of the input (row, col) of ``name`` really reaches; None if none.

    Positions are tracked exactly per axis (holes of dilated kernels and of transposed
    convolutions with ``k < s`` included), so the window's ends are exact.
    """
    h, w = _length(shapes[name], 0), _length(shapes[name], 1)
    rows, cols = np.zeros(h, bool), np.zeros(w, bool)
    rows[row], cols[col] = True, True
    wanted = {name: (rows, cols)}
    for node in reversed(graph.nodes):
        masks = wanted.get(node.name)
        if masks is None or not node.inputs or not masks[0].any() or not masks[1].any():
            continue
        by_axis = [rules(node, a, shapes) for a in (0, 1)]
        for (src, r_rule), (_, c_rule) in zip(*by_axis):
            sh = shapes[src]
            r_in = _mask(r_rule, masks[0], _length(sh, 0))
            c_in = _mask(c_rule, masks[1], _length(sh, 1))
            if not r_in.any() or not c_in.any():
                continue  # only padding along one axis: nothing of this input
            prev = wanted.get(src)
            wanted[src] = (r_in, c_in) if prev is None else (prev[0] | r_in, prev[1] | c_in)
    found = wanted.get(graph.input.name)
    if found is None or not found[0].any() or not found[1].any():
        return None
    r, c = np.flatnonzero(found[0]), np.flatnonzero(found[1])
    return int(r[0]), int(r[-1]), int(c[0]), int(c[-1])


def receptive_field(graph, shapes: dict, name: str, row: int, col: int) -> ReceptiveField:
    """The input pixels that pixel ``(row, col)`` of node ``name`` depends on.

    ``shapes`` maps every node of ``graph`` to its concrete ``(H, W, C)`` at one
    input size. A pixel that reads nothing of the input (inside a zero padding)
    gets an empty window (``bottom < top``).
    """
    free = _walk_endless(graph, shapes, name, row, col)
    real = _walk_real(graph, shapes, name, row, col)
    rows, cols = (0, 0) if free is None else (free[1] - free[0] + 1, free[3] - free[2] + 1)
    top, bottom, left, right = (0, -1, 0, -1) if real is None else real
    return ReceptiveField(top, left, bottom, right, rows, cols)
