"""Any Keras image-to-image model as one flat graph of layers, with each layer's place in the U.

:func:`flatten` opens nested functional and ``Sequential`` sub-models (a
``keras.applications`` encoder with several outputs, a decoder block built as a
``Sequential``), follows layers that are called twice and plain Keras operations,
and gives back a :class:`Graph`: one :class:`Node` per call of a leaf layer, in
topological order, each with a unique name and the names of the nodes it reads.
Every node's output is a symbolic tensor of one fresh input, so one
``keras.Model`` returns them all.

:func:`u_roles` then places each node in the U from the graph and its shapes:
up-sampling nodes are those whose output is spatially larger than their input
(an ``UpSampling2D``, a strided transposed convolution, an enlarging ``Resizing``;
padding does not count), and the *skip* of a merge is the input that arrives from
the encoder side without passing through the up-sampling path. Nothing is guessed
from positions.

Importing this module imports Keras.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import tree  # noqa: E402


class InspectionError(ValueError):
    """A model that cannot be looked inside; the message says why."""


@dataclass(eq=False)
class Node:
    """One call of one leaf layer (or Keras operation) in the flat graph."""

    name: str  # unique; "block/conv" only where the bare name repeats, "conv@2" for a second call
    op: object | None  # the Keras layer or operation; None for the input
    inputs: tuple[str, ...]  # names of the nodes it reads, in call order
    tensor: object  # its output in the flat graph (a KerasTensor of the fresh input)
    path: tuple[str, ...] = ()  # the sub-models it sits in, outermost first
    origin: object = None  # the same output in the graph of `scope` (for cross-checks)
    scope: object = None  # the (sub-)model whose own graph holds `origin`
    scope_inputs: tuple[str, ...] = ()  # the nodes that fed `scope`'s inputs in this call

    @property
    def kind(self) -> str:
        return "InputLayer" if self.op is None else type(self.op).__name__

    @property
    def shape(self) -> tuple:
        """Output shape without the batch axis; None where the size is open."""
        return tuple(None if d is None else int(d) for d in self.tensor.shape[1:])


@dataclass(eq=False)
class Graph:
    """The flat graph: nodes in topological order, the first one the input."""

    model: keras.Model
    nodes: list[Node]
    outputs: tuple[str, ...]  # the nodes giving the model's outputs
    by_name: dict[str, Node] = field(init=False)
    consumers: dict[str, list[str]] = field(init=False)

    def __post_init__(self):
        self.by_name = {n.name: n for n in self.nodes}
        self.consumers = {n.name: [] for n in self.nodes}
        for n in self.nodes:
            for i in n.inputs:
                self.consumers[i].append(n.name)

    @property
    def input(self) -> Node:
        return self.nodes[0]


class _Alias(keras.layers.Layer):
    """Calls ``inner`` under another name, so two sub-models' layers of one name fit in one model."""

    def __init__(self, inner, name):
        super().__init__(name=name)
        self.inner = inner

    def call(self, *args, **kwargs):
        return self.inner(*args, **kwargs)

    def compute_output_spec(self, *args, **kwargs):
        return self.inner.compute_output_spec(*args, **kwargs)


def _is_sequential(op) -> bool:
    return isinstance(op, keras.Sequential)


def _is_functional(op) -> bool:
    return isinstance(op, keras.Model) and not _is_sequential(op) and hasattr(op, "_nodes_by_depth")


def _leaves(model, path=()):
    """Every leaf operation of ``model`` with its path, sub-models opened."""
    if _is_sequential(model):
        ops = list(model.layers)
    else:
        ops = [op for op in model.operations if not isinstance(op, keras.layers.InputLayer)]
    for op in ops:
        if _is_sequential(op) or _is_functional(op):
            yield from _leaves(op, path + (op.name,))
        else:
            yield op, path


def _check(model) -> None:
    if not isinstance(model, keras.Model):
        raise InspectionError(f"A {type(model).__name__} is not a Keras model; load a .keras model.")
    if not (_is_sequential(model) or _is_functional(model)):
        raise InspectionError(f"{model.name} is a subclassed model: its layers cannot be listed. "
                              "Build it with the functional API or as a Sequential model.")
    try:
        inputs = model.inputs
    except (AttributeError, ValueError) as exc:
        raise InspectionError("The model has not been built: it does not know its input shape. "
                              "Build it on an input (e.g. keras.Input((64, 64, 1))) first.") from exc
    if not inputs:
        raise InspectionError("The model has not been built: it does not know its input shape.")
    if len(inputs) != 1:
        raise InspectionError(f"The model takes {len(inputs)} inputs; only models taking one image "
                              "can be inspected.")
    shape = tuple(inputs[0].shape)
    if len(shape) != 4:
        raise InspectionError(f"The model's input has shape {shape}; an image model takes "
                              "(batch, height, width, channels).")
    if shape[-1] is None:
        raise InspectionError("The model does not say how many channels its input has.")
    outs = [t for t in tree.flatten(model.outputs)]
    if not any(len(t.shape) == 4 for t in outs):
        raise InspectionError(f"The model gives back shape {tuple(outs[0].shape)}, not an image "
                              "(batch, height, width, channels); only image-to-image models can "
                              "be inspected.")


class _Walker:
    """Re-invokes every leaf layer on one fresh input, recording a node per call."""

    def __init__(self, model):
        self.model = model
        leaves = list(_leaves(model))
        seen: dict[str, set] = {}
        for op, _ in leaves:
            seen.setdefault(op.name, set()).add(id(op))
        # Different layers sharing a name (two sub-models built by one function): qualify them.
        self.clashing = {name for name, ids in seen.items() if len(ids) > 1}
        self.taken = {op.name for op, _ in leaves}
        self.aliases: dict[int, object] = {}
        self.calls: dict[str, int] = {}
        self.nodes: list[Node] = []
        self.producer: dict[int, str] = {}  # id(flat tensor) -> node name

    def _name(self, op, path) -> str:
        base = "/".join(path + (op.name,)) if op.name in self.clashing else op.name
        self.calls[base] = self.calls.get(base, 0) + 1
        k = self.calls[base]
        return base if k == 1 else f"{base}@{k}"

    def _callable(self, op, name):
        if op.name not in self.clashing:
            return op
        if id(op) not in self.aliases:
            alias = re.sub(r"[^A-Za-z0-9_]", "_", name.split("@")[0])
            while alias in self.taken:
                alias += "_"
            self.taken.add(alias)
            self.aliases[id(op)] = _Alias(op, alias)
        return self.aliases[id(op)]

    def _record(self, op, path, args, kwargs, flat_ins, origins, scope, scope_inputs):
        name = self._name(op, path)
        try:
            out = self._callable(op, name)(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - any layer may refuse
            raise InspectionError(f"Layer {name} ({type(op).__name__}) could not be called again "
                                  f"on a fresh input: {exc}") from exc
        outs = tree.flatten(out)
        inputs = tuple(self.producer[id(t)] for t in flat_ins if id(t) in self.producer)
        origins = list(origins) + [None] * (len(outs) - len(origins))
        for i, (t, o) in enumerate(zip(outs, origins)):
            node_name = name if i == 0 else f"{name}:{i}"
            self.nodes.append(Node(node_name, op, inputs, t, path, o, scope, scope_inputs))
            self.producer[id(t)] = node_name
        return outs

    def run(self, model, flat_ins, path=()):
        """Flat outputs of ``model`` (list) for the flat tensors ``flat_ins``."""
        scope_inputs = tuple(self.producer.get(id(t), "") for t in flat_ins)
        if _is_sequential(model):
            x = flat_ins
            for layer in model.layers:
                if _is_sequential(layer) or _is_functional(layer):
                    x = self.run(layer, x, path + (layer.name,))
                    continue
                origin = layer._inbound_nodes[0].outputs if layer._inbound_nodes else []
                x = self._record(layer, path, x, {}, x, origin, model, scope_inputs)
            return x
        if not _is_functional(model):
            raise InspectionError(f"{model.name} is a subclassed model; its layers cannot be listed.")
        done = {id(a): b for a, b in zip(model.inputs, flat_ins)}
        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                if not node.operation or node.is_input:
                    continue
                if any(id(t) not in done for t in node.input_tensors):
                    continue
                ins = [done[id(t)] for t in node.input_tensors]
                op = node.operation
                if _is_sequential(op) or _is_functional(op):
                    outs = self.run(op, ins, path + (op.name,))
                else:
                    args, kwargs = node.arguments.fill_in(done)
                    outs = self._record(op, path, args, kwargs, ins, tree.flatten(node.outputs),
                                        model, scope_inputs)
                for t, y in zip(tree.flatten(node.outputs), outs):
                    done[id(t)] = y
        missing = [t for t in model.outputs if id(t) not in done]
        if missing:
            raise InspectionError(f"The graph of {model.name} could not be followed to its outputs.")
        return [done[id(t)] for t in model.outputs]


def flatten(model: keras.Model) -> Graph:
    """``model`` as one flat :class:`Graph` of leaf layers; raises :class:`InspectionError`.

    Examples
    --------
    >>> inner = keras.Sequential([keras.layers.Conv2D(2, 3, padding="same", name="c")])
    >>> inp = keras.Input((8, 8, 1), name="x")
    >>> g = flatten(keras.Model(inp, keras.layers.ReLU(name="r")(inner(inp))))
    >>> [(n.name, n.inputs) for n in g.nodes]
    [('x', ()), ('c', ('x',)), ('r', ('c',))]
    """
    _check(model)
    src = model.inputs[0]
    history = getattr(src, "_keras_history", None)
    in_name = history.operation.name if history else "input"
    walker = _Walker(model)
    while in_name in walker.taken:  # a nested layer holds the name: the input gives way
        in_name += "_input"
    walker.taken.add(in_name)
    flat_in = keras.Input(batch_shape=tuple(src.shape), dtype=src.dtype, name=in_name)
    walker.nodes.append(Node(in_name, None, (), flat_in, (), src, model, ()))
    walker.producer[id(flat_in)] = in_name
    outs = walker.run(model, [flat_in])
    missing = [t for t in outs if id(t) not in walker.producer]
    if missing:
        raise InspectionError("The model's output is not computed by any of its layers.")
    return Graph(model, walker.nodes, tuple(walker.producer[id(t)] for t in outs))


# ---------------------------------------------------------------- places in the U

NAMED_PATTERNS = [  # unetviz.config names: (regex, part); group 1 is the level where there is one
    (re.compile(r"^input"), "input"),
    (re.compile(r"^enc(\d+)_"), "encoder"),
    (re.compile(r"^bottleneck_"), "bottleneck"),
    (re.compile(r"^dec(\d+)_"), "decoder"),
    (re.compile(r"^(head_conv|out)(_|$)"), "output"),
]
ACTIVATIONS = ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "Softmax", "ThresholdedReLU")
NOT_RESAMPLING = ("ZeroPadding2D", "Cropping2D")  # change the size without changing the scale


@dataclass(frozen=True)
class Place:
    """Where one node sits in the U, and for a merge what each input is."""

    part: str  # "input", "encoder", "bottleneck", "decoder" or "output"
    level: int  # 1 at the top of the U, deeper below; 0 for input and output
    roles: tuple[str, ...] = ()  # merges: "skip", "up", "gate" or "same" per input
    via: tuple[str | None, ...] = ()  # merges: the up-sampling node each non-skip input came through


def _spatial(shape) -> tuple | None:
    return tuple(shape[:2]) if shape is not None and len(shape) == 3 else None


def _ratio(a, b) -> tuple[float, float] | None:
    """How much larger spatial size ``b`` is than ``a``: (largest, smallest) over the axes."""
    if a is None or b is None or None in a or None in b or 0 in a:
        return None
    return max(b[0] / a[0], b[1] / a[1]), min(b[0] / a[0], b[1] / a[1])


_STRIDED = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D", "AveragePooling2D")


def _resampling(node: Node, shapes: dict) -> int:
    """+1 for an up-sampling, -1 for a down-sampling, 0 otherwise.

    Known layers go by their settings (a valid 3x3 convolution shrinks a 4x4 map
    but does not change its scale); any other layer by how much its output is
    larger or smaller than its input.
    """
    op, kind = node.op, node.kind
    if not node.inputs or kind in NOT_RESAMPLING:
        return 0
    if kind == "UpSampling2D":
        return int(max(op.size) > 1)
    if kind == "Conv2DTranspose":
        return int(max(op.strides) > 1)
    if kind in _STRIDED:
        return -int(max(op.strides) > 1)
    r = _ratio(_spatial(shapes.get(node.inputs[0])), _spatial(shapes.get(node.name)))
    if r is None:
        return 0
    return 1 if r[0] >= 1.4 else -1 if r[1] <= 1 / 1.4 else 0


def is_merge(node: Node, shapes: dict) -> bool:
    """Two or more inputs that are images."""
    return sum(1 for i in node.inputs if _spatial(shapes.get(i)) is not None) >= 2


def u_roles(graph: Graph, shapes: dict) -> dict[str, Place]:
    """Each node's :class:`Place`: part and level in the U, and the roles of a merge's inputs.

    ``shapes`` maps node names to concrete ``(H, W, C)`` shapes at one input size
    (missing or open sizes fall back on the layer kinds). A merge input is the
    *skip* when some path from the model input reaches it without an up-sampling,
    while another input is reached only through one; where that does not tell
    them apart (an attention gate's coefficients are computed from the skip too),
    the input that does not descend from any up-sampling is the skip. A merge
    whose inputs all lie on one side is an ordinary (residual) merge: ``"same"``.
    """
    nodes = graph.nodes
    up = {n.name: _resampling(n, shapes) > 0 for n in nodes}
    down = {n.name: _resampling(n, shapes) < 0 for n in nodes}
    descends, upfree, via = {}, {}, {}
    for n in nodes:
        descends[n.name] = up[n.name] or any(descends[i] for i in n.inputs)
        upfree[n.name] = not n.inputs or (not up[n.name] and any(upfree[i] for i in n.inputs))
        via[n.name] = n.name if up[n.name] else next((via[i] for i in n.inputs if via[i]), None)

    roles = {}
    for n in nodes:
        if not is_merge(n, shapes):
            continue
        r = ()
        for flag in (upfree, {k: not v for k, v in descends.items()}):
            sides = [flag[i] for i in n.inputs]
            if any(sides) and not all(sides):
                r = tuple("skip" if s else "up" for s in sides)
                break
        if not r:
            r = ("same",) * len(n.inputs)
        if n.kind == "Multiply" and "skip" in r:
            r = tuple("gate" if x == "up" else x for x in r)
        roles[n.name] = (r, tuple(None if x in ("skip", "same") else via[i] for x, i in zip(r, n.inputs)))

    named = all(any(p.match(n.name) for p, _ in NAMED_PATTERNS) for n in nodes)
    places = _named_places(graph) if named else _derived_places(graph, shapes, up, down, descends)
    return {k: Place(*places[k], *roles.get(k, ((), ()))) for k in places}


def _named_places(graph: Graph) -> dict[str, tuple[str, int]]:
    depth = sum(1 for n in graph.nodes if re.match(r"^enc\d+_pool$", n.name))
    out = {}
    for n in graph.nodes:
        for pattern, part in NAMED_PATTERNS:
            m = pattern.match(n.name)
            if m:
                level = int(m.group(1)) if m.groups() and m.group(1).isdigit() else 0
                out[n.name] = (part, depth + 1 if part == "bottleneck" else level)
                break
    return out


def _derived_places(graph, shapes, up, down, descends) -> dict[str, tuple[str, int]]:
    top = _spatial(shapes.get(graph.input.name))
    level = {}
    for n in graph.nodes:
        size = _spatial(shapes.get(n.name))
        if not n.inputs:
            level[n.name] = 1
        elif down[n.name] or size is None or top is None or None in size or None in top or 0 in size:
            level[n.name] = level[n.inputs[0]]  # a down-sampling belongs to the level it leaves
        else:
            scale = max(top[0] / size[0], top[1] / size[1])
            level[n.name] = max(1, round(math.log2(scale)) + 1) if scale > 0 else 1
    output = set(graph.outputs)
    for name in graph.outputs:  # an activation on the last layer goes with it
        node = graph.by_name[name]
        if node.kind in ACTIVATIONS and node.inputs:
            output.add(node.inputs[0])
    has_up = any(up.values())
    deepest = max((level[n.name] for n in graph.nodes if not descends[n.name]), default=1)
    places = {}
    for n in graph.nodes:
        if not n.inputs:
            places[n.name] = ("input", 0)
        elif n.name in output:
            places[n.name] = ("output", 0)
        elif descends[n.name]:
            places[n.name] = ("decoder", level[n.name])
        elif has_up and deepest > 1 and level[n.name] == deepest and not down[n.name]:
            places[n.name] = ("bottleneck", level[n.name])
        else:
            places[n.name] = ("encoder", level[n.name])
    return places
