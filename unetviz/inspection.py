"""Look inside any Keras image-to-image model: layers in the order of the U, activations, filters.

:class:`Inspector` wraps one model. It flattens it into one graph of leaf layers
(:func:`unetviz.graph.flatten`: nested functional and ``Sequential`` sub-models,
multi-output encoders, layers called twice), places every layer in the U and
finds the skips from the graph (:func:`unetviz.graph.u_roles`), builds one
multi-output activation model the first time it is needed and keeps it, and
answers what the inspector page asks: every layer's activations from one forward
pass, a layer's weights, the theoretical receptive field of a pixel
(:mod:`unetviz.receptive`) and the gradient of that pixel with respect to the
input (its effective receptive field).

Layers named by :mod:`unetviz.config` (``enc1_conv1``, ``enc1_pool``,
``bottleneck_conv1``, ``dec1_up``, ``dec1_concat``, ``head_conv``, ``out``) are
placed in the U by their names; any other model by its graph and its shapes.

Importing this module imports Keras.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from unetviz._describe import activation_name, describe  # noqa: E402
from unetviz._grad import gradient  # noqa: E402
from unetviz.config import LayerSpec  # noqa: E402
from unetviz.graph import ACTIVATIONS, NAMED_PATTERNS, Graph, InspectionError, flatten, u_roles  # noqa: E402
from unetviz.images import to_grid  # noqa: E402
from unetviz.receptive import ReceptiveField, gradient_summary, receptive_field  # noqa: E402

__all__ = ["MEMO_BYTES", "InspectionError", "Inspector", "LayerView", "ReceptiveField",
           "gradient_summary", "membrane_errors", "normalise_filters", "sample_label", "u_layers"]

MEMO_BYTES = 200_000_000  # results each Inspector keeps (a 512x512 input's activations: ~150 MB)
_CONVS = ("Conv2D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D")
_REFERENCE_SIDES = (256, 572, 512, 128, 64, 188, 1024)  # sizes tried to place an open-size model
_PASS_THROUGH = ("Cropping2D", "ZeroPadding2D", "Resizing", "Reshape", "Dropout", "UpSampling2D",
                 "SpatialDropout2D", "GaussianNoise", "GaussianDropout", "Identity", "CenterCrop")


@dataclass(frozen=True)
class LayerView:
    """One node of the flat graph as the inspector shows it."""

    name: str
    kind: str  # the Keras class, e.g. "Conv2D", "MaxPooling2D", "Concatenate"
    part: str  # "input", "encoder", "bottleneck", "decoder" or "output"
    level: int  # 1 at the top of the U, deeper below; 0 for input and output
    shape: tuple  # output (H, W, C); None where the input size is open
    inputs: tuple[str, ...]  # names of the nodes it reads, in call order
    skip_to: str | None = None  # the first merge this node is copied into, across the U
    skip_from: str | None = None  # for a merge: its (first) input that came across the U
    roles: tuple[str, ...] = ()  # for a merge, per input: "skip", "up", "gate" or "same"
    via: tuple[str | None, ...] = ()  # for a merge, per input: the up-sampling it came through
    in_channels: tuple[int, ...] = ()  # channels of each input
    description: str = ""  # one sentence on what the layer does
    path: tuple[str, ...] = ()  # the sub-models it sits in, outermost first
    skips_to: tuple[str, ...] = ()  # every merge it is copied into as a skip

    @property
    def has_filters(self) -> bool:
        return self.kind in _CONVS

    @property
    def is_merge(self) -> bool:
        return bool(self.roles)

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

    def caption(self) -> str:
        """What the layer does; for a merge, which input is which, in the inputs' own order.

        >>> v = LayerView("cat", "Concatenate", "decoder", 1, (8, 8, 6), ("u", "e"),
        ...               roles=("up", "skip"), via=("u", None), in_channels=(4, 2))
        >>> v.caption()
        'Concatenation: channels 0-3 come up from below through u; 4-5 are e, copied across the U (the skip).'
        """
        if not self.roles:
            return self.description
        if self.kind == "Concatenate":
            parts, start = [], 0
            for name, role, ch, via in zip(self.inputs, self.roles, self.in_channels, self.via):
                rng = f"{start}" if ch == 1 else f"{start}-{start + ch - 1}"
                start += ch
                if role == "skip":
                    parts.append(f"{rng} are {name}, copied across the U (the skip)")
                elif role in ("up", "gate"):
                    parts.append(f"{rng} come up from below through {via}")
                else:
                    parts.append(f"{rng} are {name}")
            return "Concatenation: channels " + "; ".join(parts) + "."
        if self.kind == "Multiply" and "skip" in self.roles:
            skip = ", ".join(n for n, r in zip(self.inputs, self.roles) if r == "skip")
            gates = [(n, v) for n, r, v in zip(self.inputs, self.roles, self.via) if r == "gate"]
            coeff = ", ".join(f"{n} (computed from below through {v})" for n, v in gates)
            return (f"Attention gate: the skip feature {skip}, copied across the U, times the "
                    f"attention coefficients {coeff}, element by element.")
        verb = {"Add": "Adds", "Multiply": "Multiplies", "Subtract": "Subtracts",
                "Average": "Averages", "Maximum": "Takes the larger of",
                "Minimum": "Takes the smaller of"}.get(self.kind, f"{self.kind} of")
        if all(r == "same" for r in self.roles):
            tail = ("a residual connection, both from the same side of the U"
                    if self.kind == "Add" else "inputs from the same side of the U")
            return f"{verb} {' and '.join(self.inputs)} element by element: {tail}; no channels are stacked."
        bits = [f"{n} (copied across the U: the skip)" if r == "skip" else
                f"{n} (come up from below through {v})" for n, r, v in zip(self.inputs, self.roles, self.via)]
        return f"{verb} {' and '.join(bits)} element by element; no channels are stacked."


def _symbolic_shapes(graph: Graph) -> dict[str, tuple]:
    return {n.name: n.shape for n in graph.nodes}


def _flat_model(graph: Graph) -> keras.Model:
    """One model from the fresh input to every node's output (the input itself left out)."""
    return keras.Model(graph.input.tensor, [n.tensor for n in graph.nodes[1:]],
                       name=f"{graph.model.name}_inspected")


def _shapes_at(graph: Graph, model: keras.Model, size: tuple[int, int]) -> dict[str, tuple]:
    """Every node's concrete shape (no batch axis) for an input of ``size``; ValueError if refused."""
    shape = (1, int(size[0]), int(size[1]), graph.input.shape[-1])
    try:
        specs = model.compute_output_spec(keras.KerasTensor(shape, dtype=graph.input.tensor.dtype))
    except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
        raise ValueError(f"The model cannot take a {size[0]}x{size[1]} input: "
                         f"{str(exc).splitlines()[0]}") from exc
    specs = specs if isinstance(specs, (list, tuple)) else [specs]
    out = {graph.input.name: shape[1:]}
    for node, spec in zip(graph.nodes[1:], specs):
        dims = tuple(int(d) for d in spec.shape[1:])
        if any(d <= 0 for d in dims):
            raise ValueError(f"At a {size[0]}x{size[1]} input, {node.name} would be empty {dims}.")
        out[node.name] = dims
    return out


def _reference_shapes(graph: Graph, model: keras.Model) -> dict[str, tuple]:
    """Concrete shapes at the model's own size, or at the first of a few sizes it takes."""
    h, w = graph.input.shape[:2]
    sym = _symbolic_shapes(graph)
    if h is not None and w is not None and all(None not in s for s in sym.values()):
        return sym
    for side in _REFERENCE_SIDES:
        try:
            return _shapes_at(graph, model, (h or side, w or side))
        except ValueError:
            continue
    return sym  # no size worked: kinds decide


def _views(graph: Graph, shapes: dict) -> list[LayerView]:
    places = u_roles(graph, shapes)
    sym = _symbolic_shapes(graph)
    skips: dict[str, list[str]] = {}
    for n in graph.nodes:
        for i, r in zip(n.inputs, places[n.name].roles):
            if r == "skip":
                skips.setdefault(i, []).append(n.name)
    views = []
    for n in graph.nodes:
        p = places[n.name]
        skip_in = next((i for i, r in zip(n.inputs, p.roles) if r == "skip"), None)
        chans = tuple(sym[i][-1] if sym[i] else None for i in n.inputs)
        views.append(LayerView(
            n.name, n.kind, p.part, p.level, sym[n.name], n.inputs,
            skip_to=(skips.get(n.name) or [None])[0], skip_from=skip_in, roles=p.roles, via=p.via,
            in_channels=chans, description=describe(n, [sym[i] for i in n.inputs], sym[n.name]),
            path=n.path, skips_to=tuple(skips.get(n.name, ()))))
    return views


def u_layers(model: keras.Model) -> list[LayerView]:
    """The layers of ``model`` in the order of the U, with the skip connections marked.

    Nested sub-models are opened: their layers are listed in place. A functional
    model lists its layers in topological order, which for
    :func:`unetviz.model.build_unet` is the U: encoder down, bottleneck, decoder up.
    Raises :class:`InspectionError` (a ValueError) for a model that is not image-to-image.

    >>> from unetviz.model import PRESETS, build_unet
    >>> [v.name for v in u_layers(build_unet(PRESETS["seed-simple"]))][:4]
    ['input', 'enc1_conv1', 'enc1_conv2', 'enc1_pool']
    """
    graph = flatten(model)
    return _views(graph, _reference_shapes(graph, _flat_model(graph)))


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


class Inspector:
    """One model, ready to be looked inside. Build it once and keep it (it caches Keras models).

    Raises :class:`InspectionError` (a ValueError) with a sentence for a model
    that cannot be inspected (not image-shaped, several image inputs, not built).

    Examples
    --------
    >>> from unetviz.model import PRESETS, build_unet
    >>> ins = Inspector(build_unet(PRESETS["seed-simple"]))
    >>> acts = ins.activations(np.zeros((8, 8), np.float32))
    >>> acts["dec1_concat"].shape
    (8, 8, 4)
    >>> ins.layer("dec1_concat").roles, ins.layer("dec1_concat").skip_from
    (('skip', 'up'), 'enc1_conv2')
    """

    def __init__(self, model: keras.Model):
        self.model = model
        self.graph = flatten(model)
        try:
            self._flat = _flat_model(self.graph)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
            raise InspectionError(f"The model's layers could not be joined into one graph: {exc}") from exc
        self._activation_model = self._flat
        self.layers = _views(self.graph, _reference_shapes(self.graph, self._flat))
        self._by_name = {v.name: v for v in self.layers}
        self._shapes: dict[tuple, dict] = {}
        self._taps: dict[tuple, keras.Model] = {}
        self._memo: dict[tuple, tuple] = {}  # recent results: a re-run with the same input is free
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- shapes
    @property
    def input_name(self) -> str:
        return self.graph.input.name

    @property
    def output_name(self) -> str:
        """The node giving the model's (first image) output."""
        return next((n for n in self.graph.outputs if len(self.graph.by_name[n].shape) == 3),
                    self.graph.outputs[0])

    @property
    def input_shape(self) -> tuple:
        """``(H, W, C)`` the model takes; H and W None where open."""
        return self.graph.input.shape

    @property
    def input_size(self) -> int | None:
        """The height the model insists on, or None when any (suitable) size is accepted."""
        return self.input_shape[0]

    @property
    def in_channels(self) -> int:
        return int(self.input_shape[-1])

    @property
    def out_channels(self) -> int:
        return int(self.graph.by_name[self.output_name].shape[-1])

    @property
    def out_activation(self) -> str:
        """``"sigmoid"``, ``"softmax"``, ``"linear"``, ...: the last activation before the output."""
        node = self.graph.by_name[self.output_name]
        for _ in range(len(self.graph.nodes)):
            op, kind = node.op, node.kind
            if op is None:
                return "linear"
            if kind == "Activation":
                return activation_name(op.activation)
            if kind in ACTIVATIONS:
                return {"ReLU": "relu", "LeakyReLU": "leaky_relu"}.get(kind, kind.lower())
            if hasattr(op, "activation"):
                return activation_name(op.activation)
            if kind in _PASS_THROUGH and node.inputs:
                node = self.graph.by_name[node.inputs[0]]
                continue
            if type(op).__module__.startswith("keras.src.ops"):
                return kind.lower()
            return "linear"
        return "linear"

    @property
    def input_scale(self) -> float:
        """255.0 when the model rescales 0-255 pixels itself (a ``Rescaling`` of about 1/255 before
        any layer with weights), else 1.0: multiply a [0, 1] image by this before feeding it."""
        frontier, seen = [self.input_name], set()
        while frontier:
            name = frontier.pop()
            for c in self.graph.consumers[name]:
                node = self.graph.by_name[c]
                if c in seen:
                    continue
                seen.add(c)
                if node.kind == "Rescaling":
                    scale = np.abs(np.asarray(node.op.scale, np.float64)).max()
                    if 1 / 300 <= scale <= 1 / 100:
                        return 255.0
                if not node.op.weights:
                    frontier.append(c)
        return 1.0

    @property
    def multiple(self) -> int:
        """Open-size inputs should have sides divisible by this (2 to the number of halvings)."""
        return 2 ** max(0, max(v.level for v in self.layers) - 1)

    def layer(self, name: str) -> LayerView:
        if name not in self._by_name:
            raise ValueError(f"The model has no layer {name!r}.")
        return self._by_name[name]

    def shapes(self, size) -> dict[str, tuple]:
        """Every node's ``(h, w, c)`` for an input of ``size`` = (H, W), without running the model."""
        key = (int(size[0]), int(size[1]))
        if key not in self._shapes:
            self._shapes[key] = _shapes_at(self.graph, self._flat, key)
        return self._shapes[key]

    def specs(self, shapes: dict | None = None) -> list[LayerSpec] | None:
        """The layers as :class:`LayerSpec` for :func:`unetviz.figures.unet_diagram`, when they
        are named after the U (None otherwise). ``shapes`` (name -> (H, W, C), e.g. from
        :meth:`activations`) fills in the sizes of an open-size model."""
        if not all(any(p.match(v.name) for p, _ in NAMED_PATTERNS) for v in self.layers):
            return None
        shapes = shapes or {}
        params = {n.name: 0 if n.op is None else int(n.op.count_params()) for n in self.graph.nodes}
        return [LayerSpec(v.name, v.kind, tuple(shapes.get(v.name, v.shape)), params[v.name],
                          v.inputs, v.part, v.level) for v in self.layers]

    def prepare(self, image, *, invert: bool = False) -> np.ndarray:
        """Fit an (H, W) image in [0, 1] to a small square grid the model accepts, (n, n) float32.

        A fixed-size model gets its size; an open one the largest side at most
        the image's that its down-samplings can halve all the way. ``invert`` turns
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
        """One model returning every node's output but the input's, built once with the Inspector."""
        return self._activation_model

    def tap(self, names) -> keras.Model:
        """A model from the input to node ``names`` (one name: one output; a list: a list).

        >>> from unetviz.model import PRESETS, build_unet
        >>> Inspector(build_unet(PRESETS["seed-simple"])).tap("enc1_pool").output.shape
        (None, 4, 4, 2)
        """
        key = (names,) if isinstance(names, str) else tuple(names)
        for n in key:
            self.layer(n)
        with self._lock:
            if key not in self._taps:
                tensors = [self.graph.by_name[n].tensor for n in key]
                self._taps[key] = keras.Model(self.graph.input.tensor,
                                              tensors[0] if isinstance(names, str) else tensors)
            return self._taps[key]

    def _batch(self, image) -> np.ndarray:
        """``image`` (H, W) or (H, W, C) as a (1, H, W, C) float32 batch."""
        a = np.asarray(image, dtype=np.float32)
        c = self.in_channels
        if a.ndim == 2:
            a = np.repeat(a[:, :, None], c, axis=-1)  # a grey image for a C-channel model
        elif a.ndim != 3 or a.shape[-1] != c:
            raise ValueError(f"This model takes (H, W, {c}) images{' or (H, W)' * (c == 1)}; "
                             f"got shape {a.shape}.")
        if min(a.shape[:2]) < 1:
            raise ValueError(f"The image is empty: shape {a.shape}.")
        return a[None]

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
        """Every node's output for one image, from one forward pass: name -> (h, w, c) float32.

        ``image`` is (H, W) or (H, W, C), already in the model's own input range
        (see :attr:`input_scale`); a 2D image is copied to every channel. It is not
        resized: a size the model refuses raises ValueError. The input is included
        under its own name. The result is remembered for the same image (treat it
        as read-only).
        """
        x = self._batch(image)
        return self._remember(("act", x.shape, x.tobytes()), lambda: self._activations(x))

    def _activations(self, x: np.ndarray) -> dict[str, np.ndarray]:
        try:
            outs = self.activation_model(x, training=False)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds for a size it refuses
            h, w, c = x.shape[1:]
            raise ValueError(f"The model cannot take this {h}x{w} image with {c} channel"
                             f"{'s' * (c != 1)}: {str(exc).splitlines()[0]}") from exc
        outs = outs if isinstance(outs, (list, tuple)) else [outs]
        result = {self.input_name: x[0]}
        for node, out in zip(self.graph.nodes[1:], outs):
            result[node.name] = np.asarray(out, dtype=np.float32)[0]
        return result

    # ---------------------------------------------------------------- weights
    def kernels(self, name: str) -> dict[str, np.ndarray]:
        """Every weight of layer ``name`` by its role, e.g. ``{"kernel": (f, f, C, K), "bias": (K,)}``;
        a separable convolution gives ``depthwise_kernel``, ``pointwise_kernel`` and ``bias``, a
        batch norm ``gamma``, ``beta``, ``moving_mean``, ``moving_variance``. Empty without weights."""
        self.layer(name)
        node = self.graph.by_name[name]
        op = node.op
        if op is None or not isinstance(op, keras.layers.Layer):  # a keras.ops call has no weights
            return {}
        weights = {w.name.split("/")[-1]: np.asarray(keras.ops.convert_to_numpy(w), np.float32)
                   for w in op.weights}
        if node.kind == "DepthwiseConv2D" and "kernel" in weights:  # Keras 3 calls it "kernel"
            weights = {"depthwise_kernel" if k == "kernel" else k: v for k, v in weights.items()}
        return weights

    def kernel(self, name: str) -> tuple[np.ndarray, np.ndarray | None]:
        """A conv layer's main filters ``(f, f, C, K)`` and biases ``(K,)`` (None without bias).

        For depthwise and separable convolutions the main filters are the depthwise
        ones, ``(f, f, C, multiplier)``; :meth:`kernels` gives the pointwise ones too.
        """
        view = self.layer(name)
        if not view.has_filters:
            raise ValueError(f"{name} is a {view.kind} layer: it has no filters (no weights).")
        weights = self.kernels(name)
        main = weights.get("kernel", weights.get("depthwise_kernel"))
        return main, weights.get("bias")

    def set_weights(self, weights) -> None:
        """Load another set of weights (e.g. a snapshot from an earlier epoch)."""
        weights = [np.asarray(w, np.float32) for w in weights]
        if all(np.array_equal(a, b) for a, b in zip(weights, self.model.get_weights())):
            return
        self.model.set_weights(weights)
        with self._lock:
            self._memo.clear()

    # ---------------------------------------------------------------- receptive fields
    def receptive_field(self, name: str, row: int, col: int, *, size) -> ReceptiveField:
        """The input pixels that pixel ``(row, col)`` of layer ``name`` depends on.

        ``size`` is the input's ``(H, W)`` (or its full shape). Each layer widens the
        window by what it reads, with TensorFlow's padding rules
        (:mod:`unetviz.receptive`); a merge takes the union of its inputs. Raises
        ValueError for a pixel outside the layer or a layer whose reach is unknown.
        """
        self.layer(name)
        shapes = self.shapes(size[:2])
        h, w = shapes[name][:2] if len(shapes[name]) == 3 else (1, 1)
        if not (0 <= row < h and 0 <= col < w):
            raise ValueError(f"{name} is {h}x{w} at this input size; pixel ({row}, {col}) is outside it.")
        return receptive_field(self.graph, shapes, name, row, col)

    def input_gradient(self, image, name: str, row: int, col: int, *,
                       channel: int | None = None) -> np.ndarray:
        """d(activation of ``name`` at ``(row, col)``) / d(input), as an (H, W) float32 map.

        The activation is one channel's value, or the sum over channels when
        ``channel`` is None; the gradient is summed over the input's channels.
        Where the map is non-zero is the effective receptive field; it always lies
        inside :meth:`receptive_field`.
        """
        view = self.layer(name)
        x = self._batch(image)
        if channel is not None and not 0 <= channel < view.shape[-1]:
            raise ValueError(f"{name} has channels 0 to {view.shape[-1] - 1}; got {channel}.")
        sub = self.tap(name)

        def pick(y):
            pixel = y[0, row, col, :]  # (C,)
            return ops.sum(pixel) if channel is None else pixel[channel]

        def compute():
            try:
                return gradient(lambda v: pick(sub(v, training=False)), x)
            except LookupError as exc:  # TensorFlow has no gradient for a few ops (area resizing)
                raise ValueError(f"The gradient of {name} cannot be computed: {exc}") from exc

        key = ("grad", name, row, col, channel, x.shape, x.tobytes())
        grad = self._remember(key, compute)
        return np.asarray(grad, np.float32)[0].sum(axis=-1)  # (H, W)

