"""Look inside a Keras U-Net: layers in the order of the U, activations, filters, receptive fields.

:class:`Inspector` wraps one model. It lists the layers in U order (encoder going
down, bottleneck, decoder coming up, skips marked), builds one multi-output
activation model the first time it is needed and keeps it, and answers what the
inspector page asks: every layer's activations from one forward pass, a conv
layer's filters, the theoretical receptive field of a pixel and the gradient of
that pixel with respect to the input (its effective receptive field).

Layers named by :mod:`unetviz.config` (``enc1_conv1``, ``enc1_pool``,
``bottleneck_conv1``, ``dec1_up``, ``dec1_concat``, ``head_conv``, ``out``) are
placed in the U by their names; any other model still works, in its own layer
order, with the part ``"other"``.

Importing this module imports Keras.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from unetviz.config import LayerSpec  # noqa: E402
from unetviz.images import to_grid  # noqa: E402

_PATTERNS = [  # (regex, part); group 1 is the level where there is one
    (re.compile(r"^input"), "input"),
    (re.compile(r"^enc(\d+)_"), "encoder"),
    (re.compile(r"^bottleneck_"), "bottleneck"),
    (re.compile(r"^dec(\d+)_"), "decoder"),
    (re.compile(r"^(head_conv|out)(_|$)"), "output"),
]
_POOLS = ("MaxPooling2D", "AveragePooling2D")
MEMO_BYTES = 200_000_000  # results each Inspector keeps (a 512x512 input's activations: ~150 MB)
_CONVS = ("Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D")


@dataclass(frozen=True)
class LayerView:
    """One layer as the inspector shows it."""

    name: str
    kind: str  # the Keras class, e.g. "Conv2D", "MaxPooling2D", "Concatenate"
    part: str  # "input", "encoder", "bottleneck", "decoder", "output" or "other"
    level: int  # 1 at the top of the U, deeper below; 0 for input, output and unknown layers
    shape: tuple  # output (H, W, C); None where the input size is open
    inputs: tuple[str, ...]  # names of the layers it reads
    skip_to: str | None = None  # the concatenation this layer is copied into, across the U
    skip_from: str | None = None  # for a concatenation: the encoder layer it copies

    @property
    def has_filters(self) -> bool:
        return self.kind in _CONVS

    @property
    def label(self) -> str:
        """A one-line description for a layer picker, e.g. ``"down 1 · enc1_conv1 (Conv2D, 16 ch)"``."""
        where = {"encoder": f"down {self.level}", "bottleneck": "bottom",
                 "decoder": f"up {self.level}", "input": "input", "output": "output"}.get(self.part, "")
        text = f"{where} · {self.name}" if where else self.name
        text += f" ({self.kind}, {self.shape[-1]} ch)"
        if self.skip_to:
            text += f" ⟶ skip to {self.skip_to}"
        if self.skip_from:
            text += f" ⟵ skip from {self.skip_from}"
        return text


def _inbound(layer) -> list[str]:
    if isinstance(layer, keras.layers.InputLayer):
        return []
    tensors = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    return [t._keras_history.operation.name for t in tensors]


def u_layers(model: keras.Model) -> list[LayerView]:
    """The layers of ``model`` in the order of the U, with the skip connections marked.

    A functional model lists its layers in the order they were built, which for
    :func:`unetviz.model.build_unet` is the U: encoder down, bottleneck, decoder up.

    >>> from unetviz.model import PRESETS, build_unet
    >>> [v.name for v in u_layers(build_unet(PRESETS["seed-simple"]))][:4]
    ['input', 'enc1_conv1', 'enc1_conv2', 'enc1_pool']
    """
    named = all(any(p.match(layer.name) for p, _ in _PATTERNS) for layer in model.layers)
    depth = sum(1 for layer in model.layers if re.match(r"^enc\d+_pool$", layer.name))
    order = [layer.name for layer in model.layers]
    views = []
    for layer in model.layers:
        part, level = "other", 0
        if named:
            for pattern, p in _PATTERNS:
                m = pattern.match(layer.name)
                if m:
                    part = p
                    level = int(m.group(1)) if m.groups() and m.group(1).isdigit() else 0
                    break
            if part == "bottleneck":
                level = depth + 1
        shape = tuple(None if d is None else int(d) for d in layer.output.shape[1:])
        inputs = tuple(_inbound(layer))
        skip_from = None
        if len(inputs) > 1:
            # The input that is not the layer just before this one came across the U.
            prev = order[order.index(layer.name) - 1]
            skip_from = next((i for i in inputs if i != prev), None)
        views.append(LayerView(layer.name, type(layer).__name__, part, level, shape, inputs,
                               skip_from=skip_from))
    sources = {v.skip_from: v.name for v in views if v.skip_from}
    return [LayerView(**{**v.__dict__, "skip_to": sources.get(v.name)}) for v in views]


def normalise_filters(kernel, *, mode: str = "layer") -> np.ndarray:
    """Scale a layer's filters for display.

    ``mode="layer"`` maps the layer's smallest weight to 0 and its largest to 1,
    as the tutorial does; ``"zero"`` divides by the largest magnitude, so 0 stays 0
    and the result lies in [-1, 1]. ``kernel`` is any array, typically Keras'
    ``(f, f, C, K)``; the result has its shape.

    >>> normalise_filters(np.array([-2.0, 0.0, 2.0]))
    array([0. , 0.5, 1. ], dtype=float32)
    >>> normalise_filters(np.array([-2.0, 0.0, 1.0]), mode="zero")
    array([-1. ,  0. ,  0.5], dtype=float32)
    """
    k = np.asarray(kernel, dtype=np.float32)
    if mode == "layer":
        lo, hi = float(k.min()), float(k.max())
        return np.full_like(k, 0.5) if hi == lo else (k - lo) / (hi - lo)
    if mode == "zero":
        m = float(np.abs(k).max())
        return np.zeros_like(k) if m == 0 else k / m
    raise ValueError(f"Unknown filter scaling {mode!r}; use 'layer' or 'zero'.")


def membrane_errors(prob, label, *, threshold: float = 0.5) -> np.ndarray:
    """Where a cell-probability map agrees with a 0/1 label (0 = membrane), as an int8 map.

    0 = cell on both, 1 = membrane on both, 2 = membrane missed (label membrane,
    predicted cell), 3 = false membrane (predicted membrane, label cell).

    >>> membrane_errors(np.array([0.9, 0.1, 0.9, 0.1]), np.array([1, 0, 0, 1])).tolist()
    [0, 1, 2, 3]
    """
    prob, label = np.asarray(prob), np.asarray(label)
    if prob.shape != label.shape:
        raise ValueError(f"Prediction {prob.shape} and label {label.shape} differ in shape.")
    p, t = prob < threshold, label < 0.5
    out = np.zeros(prob.shape, np.int8)
    out[p & t] = 1
    out[~p & t] = 2
    out[p & ~t] = 3
    return out


def sample_label(name: str, size: int) -> np.ndarray | None:
    """The exact 0/1 mask (0 = membrane) of the image-input sample ``name`` at ``size``, if it has one.

    Only the ``"membrane"`` sample (drawn at 64 pixels, then averaged to the grid) has one.

    >>> sample_label("letter", 8) is None
    True
    """
    if name != "membrane":
        return None
    from unetviz.samples import membrane_pair

    return (to_grid(membrane_pair(64)[1], size) >= 0.5).astype(np.float32)


@dataclass(frozen=True)
class ReceptiveField:
    """The input pixels a layer's pixel can see: rows ``top..bottom``, cols ``left..right``.

    ``rows`` and ``cols`` are the full extent (it can reach past the image's border,
    where padding zeros are read); the bounds are clipped to the image.
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
        return self.top, self.left, self.bottom - self.top + 1, self.right - self.left + 1


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


def _spatial(layer, lo: int, hi: int, axis: int):
    """The input interval one layer reads for the output interval ``lo..hi`` along ``axis``."""
    kind = type(layer).__name__
    if kind in _POOLS:
        p, s = layer.pool_size[axis], layer.strides[axis]
        return lo * s, hi * s + p - 1
    if kind == "UpSampling2D":
        u = layer.size[axis]
        if layer.interpolation == "nearest":
            return lo // u, hi // u
        return lo // u - 1, hi // u + 1  # bilinear mixes the neighbours
    if kind == "Conv2DTranspose":
        k, s = layer.kernel_size[axis], layer.strides[axis]
        pad = max(k - s, 0) // 2 if layer.padding == "same" else 0
        return -(-(lo + pad - k + 1) // s), (hi + pad) // s
    if hasattr(layer, "kernel_size"):
        k = (layer.kernel_size[axis] - 1) * layer.dilation_rate[axis] + 1
        s = layer.strides[axis]
        pad = (k - 1) // 2 if layer.padding == "same" else 0
        return lo * s - pad, hi * s - pad + k - 1
    return None


def _pointwise(layer) -> bool:
    ins = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
    return all(tuple(t.shape[1:3]) == tuple(layer.output.shape[1:3]) for t in ins)


class Inspector:
    """One model, ready to be looked inside. Build it once and keep it (it caches Keras models).

    Examples
    --------
    >>> from unetviz.model import PRESETS, build_unet
    >>> ins = Inspector(build_unet(PRESETS["seed-simple"]))
    >>> acts = ins.activations(np.zeros((8, 8), np.float32))
    >>> acts["dec1_concat"].shape
    (8, 8, 4)
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.layers = u_layers(model)
        self._by_name = {v.name: v for v in self.layers}
        self._activation_model = None
        self._single: dict[str, keras.Model] = {}
        self._memo: dict[tuple, tuple] = {}  # recent results: a re-run with the same input is free
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- shapes
    @property
    def input_size(self) -> int | None:
        """The side the model insists on, or None when any (suitable) size is accepted."""
        h = self.model.inputs[0].shape[1]
        return None if h is None else int(h)

    @property
    def multiple(self) -> int:
        """Open-size inputs must have a side divisible by this (2 to the number of poolings)."""
        return 2 ** sum(1 for v in self.layers if v.kind in _POOLS)

    def layer(self, name: str) -> LayerView:
        if name not in self._by_name:
            raise ValueError(f"The model has no layer {name!r}.")
        return self._by_name[name]

    def specs(self, shapes: dict | None = None) -> list[LayerSpec] | None:
        """The layers as :class:`LayerSpec` for :func:`unetviz.figures.unet_diagram`, when they
        are named after the U (None otherwise). ``shapes`` (name -> (H, W, C), e.g. from
        :meth:`activations`) fills in the sizes of an open-size model."""
        if any(v.part == "other" for v in self.layers):
            return None
        shapes = shapes or {}
        params = {layer.name: int(layer.count_params()) for layer in self.model.layers}
        return [LayerSpec(v.name, v.kind, tuple(shapes.get(v.name, v.shape)), params[v.name],
                          v.inputs, v.part, v.level) for v in self.layers]

    def prepare(self, image, *, invert: bool = False) -> np.ndarray:
        """Fit an (H, W) image in [0, 1] to what the model accepts, as an (n, n) float32 grid.

        A fixed-size model gets its size; an open one the largest side at most
        the image's that pooling can halve all the way down. ``invert`` turns
        white-on-black (a drawing) into black-on-white (membranes in a micrograph).
        """
        a = np.asarray(image, dtype=np.float32)
        if invert:
            a = 1.0 - a
        if a.ndim != 2:
            raise ValueError(f"Expected a 2D grayscale image; got shape {a.shape}.")
        n = self.input_size or max(self.multiple, min(a.shape) // self.multiple * self.multiple)
        return to_grid(a, n)

    # ---------------------------------------------------------------- activations
    @property
    def activation_model(self) -> keras.Model:
        """One model returning every layer's output, built the first time it is needed."""
        if self._activation_model is None:
            outputs = [layer.output for layer in self.model.layers
                       if not isinstance(layer, keras.layers.InputLayer)]
            self._activation_model = keras.Model(self.model.inputs[0], outputs)
        return self._activation_model

    def _batch(self, image) -> np.ndarray:
        a = np.asarray(image, dtype=np.float32)
        size, channels = self.input_size, self.model.inputs[0].shape[-1]
        if a.ndim != 2:
            raise ValueError(f"Expected an (H, W) image; got shape {a.shape}.")
        if size is not None and a.shape != (size, size):
            raise ValueError(f"This model takes {size}x{size} images; got {a.shape[0]}x{a.shape[1]}.")
        if a.shape[0] % self.multiple or a.shape[1] % self.multiple:
            raise ValueError(f"The image's sides must be divisible by {self.multiple} "
                             f"(the model pools {int(np.log2(self.multiple))} times).")
        return np.repeat(a[None, :, :, None], channels, axis=-1)  # (1, H, W, C)

    def _remember(self, key: tuple, compute):
        """``compute()``, remembered under ``key``; the oldest results go past MEMO_BYTES."""
        with self._lock:  # one Inspector may serve several sessions' threads
            if key in self._memo:
                return self._memo[key][0]
        value = compute()
        arrays = value.values() if isinstance(value, dict) else [value]
        with self._lock:
            self._memo[key] = (value, sum(np.asarray(a).nbytes for a in arrays))
            while len(self._memo) > 1 and sum(n for _, n in self._memo.values()) > MEMO_BYTES:
                self._memo.pop(next(iter(self._memo)))
        return value

    def activations(self, image) -> dict[str, np.ndarray]:
        """Every layer's output for one (H, W) image, from one forward pass: name -> (H, W, C).

        The input layer is included as ``"input"`` (its own name). The result is
        remembered for the same image (treat it as read-only).
        """
        x = self._batch(image)
        return self._remember(("act", x.shape, x.tobytes()), lambda: self._activations(x))

    def _activations(self, x: np.ndarray) -> dict[str, np.ndarray]:
        outs = self.activation_model(x, training=False)
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        result = {self.layers[0].name: x[0]}
        for view, out in zip(self.layers[1:], outs):
            result[view.name] = np.asarray(out, dtype=np.float32)[0]
        return result

    def kernel(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """A conv layer's filters ``(f, f, C, K)`` and biases ``(K,)`` (None without bias)."""
        view = self.layer(name)
        if not view.has_filters:
            raise ValueError(f"{name} is a {view.kind} layer: it has no filters (no weights).")
        weights = self.model.get_layer(name).get_weights()
        bias = np.asarray(weights[1], np.float32) if len(weights) > 1 else None
        return np.asarray(weights[0], np.float32), bias

    def set_weights(self, weights) -> None:
        """Load another set of weights (e.g. a snapshot from an earlier epoch)."""
        weights = [np.asarray(w, np.float32) for w in weights]
        if all(np.array_equal(a, b) for a, b in zip(weights, self.model.get_weights())):
            return
        self.model.set_weights(weights)
        with self._lock:
            self._memo.clear()

    # ---------------------------------------------------------------- receptive fields
    def receptive_field(self, name: str, row: int, col: int, *, size: tuple[int, int]) -> ReceptiveField:
        """The input pixels that pixel ``(row, col)`` of layer ``name`` depends on.

        ``size`` is the input's ``(H, W)``. Each layer widens the window by what it
        reads: a k x k convolution by k - 1, a 2x2 pooling doubles it, a nearest
        up-sampling halves it; a concatenation takes the union of its inputs.
        """
        self.layer(name)
        (top, bottom), (left, right) = (self._interval(name, row, row, 0, {}),
                                         self._interval(name, col, col, 1, {}))
        h, w = size
        return ReceptiveField(max(top, 0), max(left, 0), min(bottom, h - 1), min(right, w - 1),
                              bottom - top + 1, right - left + 1)

    def _interval(self, name: str, lo: int, hi: int, axis: int, memo: dict) -> tuple[int, int]:
        key = (name, lo, hi, axis)
        if key in memo:
            return memo[key]
        view = self._by_name[name]
        if not view.inputs:
            return lo, hi
        layer = self.model.get_layer(name)
        span = _spatial(layer, lo, hi, axis)
        if span is None:
            if not _pointwise(layer):
                raise ValueError(f"Cannot follow the receptive field through {name} ({view.kind}).")
            span = (lo, hi)
        found = [self._interval(src, *span, axis, memo) for src in view.inputs]
        memo[key] = (min(f[0] for f in found), max(f[1] for f in found))
        return memo[key]

    def input_gradient(self, image, name: str, row: int, col: int, *,
                       channel: int | None = None) -> np.ndarray:
        """d(activation of ``name`` at ``(row, col)``) / d(input), as an (H, W) float32 map.

        The activation is one channel's value, or the sum over channels when
        ``channel`` is None. Where the map is non-zero is the effective receptive
        field; it always lies inside :meth:`receptive_field`.
        """
        view = self.layer(name)
        x = self._batch(image)
        if channel is not None and not 0 <= channel < view.shape[-1]:
            raise ValueError(f"{name} has channels 0 to {view.shape[-1] - 1}; got {channel}.")
        if name not in self._single:
            self._single[name] = keras.Model(self.model.inputs[0], self.model.get_layer(name).output)
        sub = self._single[name]

        def pick(y):
            pixel = y[0, row, col, :]  # (C,)
            return ops.sum(pixel) if channel is None else pixel[channel]

        key = ("grad", name, row, col, channel, x.shape, x.tobytes())
        grad = self._remember(key, lambda: _gradient(lambda v: pick(sub(v, training=False)), x))
        return np.asarray(grad, np.float32)[0].sum(axis=-1)  # (H, W)


def _gradient(fn, x: np.ndarray) -> np.ndarray:
    """d fn(x) / dx for a scalar-valued ``fn``, with whichever backend Keras runs on."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        xt = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = fn(xt)
        return tape.gradient(y, xt).numpy()
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(fn)(x))
    if backend == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        fn(xt).backward()
        return xt.grad.detach().cpu().numpy()
    raise ValueError(f"Input gradients are not supported on the {backend} backend.")
