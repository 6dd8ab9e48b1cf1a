"""One sentence on what a Keras layer does, with its own numbers (for the inspector's captions)."""

from __future__ import annotations

_ACT_NAMES = {"relu": "ReLU", "sigmoid": "sigmoid", "softmax": "softmax", "tanh": "tanh",
              "linear": "no activation", "elu": "ELU", "gelu": "GELU", "swish": "swish",
              "silu": "SiLU", "leaky_relu": "leaky ReLU", "relu6": "ReLU6", "selu": "SELU"}


def activation_name(fn) -> str:
    """``"relu"``, ``"sigmoid"``, ... for a Keras activation function or name; ``"linear"`` for none."""
    if fn is None:
        return "linear"
    name = fn if isinstance(fn, str) else getattr(fn, "__name__", str(fn))
    return name.lower()


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _kxk(v) -> str:
    a, b = _pair(v)
    return f"{a}x{b}"


def _num(v) -> str:
    a, b = _pair(v)
    return str(a) if a == b else f"{a}x{b}"


def _filters(k) -> str:
    return f"{k} filter{'s' * (k != 1)}"


def _fmt(v) -> str:
    if isinstance(v, (tuple, list)):
        return "(" + ", ".join(f"{float(x):.4g}" for x in v) + ")"
    return f"{float(v):.4g}"


def _conv_tail(op) -> str:
    bits = []
    if max(_pair(op.strides)) > 1:
        bits.append(f"stride {_num(op.strides)}")
    if max(_pair(getattr(op, "dilation_rate", 1))) > 1:
        bits.append(f"dilation {_num(op.dilation_rate)}")
    bits.append(f"'{op.padding}' padding")
    act = activation_name(getattr(op, "activation", None))
    if act != "linear":
        bits.append(f"then {_ACT_NAMES.get(act, act)}")
    return ", ".join(bits)


def describe(node, in_shapes: list, out_shape: tuple) -> str:
    """One sentence for ``node`` (a :class:`unetviz.graph.Node`) with its input and output shapes."""
    kind, op = node.kind, node.op
    out_c = out_shape[-1] if out_shape else None
    n_in = len(node.inputs)
    if op is None:
        h, w, c = (list(out_shape) + [None] * 3)[:3]
        size = "any size" if h is None else f"{h}x{w}"
        return f"The input image: {size}, {c} channel{'s' * (c != 1)}."
    if type(op).__module__.startswith("keras.src.ops"):
        return f"The Keras operation {op.name} ({kind}) applied to its input{'s' * (n_in > 1)}."
    if kind == "Conv2D":
        return f"{_kxk(op.kernel_size)} convolution with {_filters(op.filters)}, {_conv_tail(op)}."
    if kind == "Conv2DTranspose":
        grow = max(_pair(op.strides)) > 1
        what = "learned up-sampling that enlarges the map" if grow else "a convolution spread outwards"
        return (f"Transposed {_kxk(op.kernel_size)} convolution with {_filters(op.filters)} "
                f"({what}), {_conv_tail(op)}.")
    if kind == "SeparableConv2D":
        return (f"Separable {_kxk(op.kernel_size)} convolution: one {_kxk(op.kernel_size)} depthwise "
                f"filter per input channel, then a 1x1 pointwise convolution to {_filters(op.filters)}, "
                f"{_conv_tail(op)}.")
    if kind == "DepthwiseConv2D":
        return (f"Depthwise {_kxk(op.kernel_size)} convolution: {op.depth_multiplier} filter"
                f"{'s' * (op.depth_multiplier != 1)} per input channel, channels never mix, "
                f"{_conv_tail(op)}.")
    if kind == "BatchNormalization":
        return ("Batch normalisation: each channel is shifted and scaled by statistics learned "
                "in training.")
    if kind in ("Dropout", "SpatialDropout2D", "GaussianDropout", "GaussianNoise", "AlphaDropout"):
        return f"{kind} (training only): at inspection it passes every value through unchanged."
    if kind == "Activation":
        act = activation_name(op.activation)
        if act == "softmax":
            return (f"Softmax over the {out_c} channels: at each pixel they become probabilities "
                    "that add up to 1.")
        return f"{_ACT_NAMES.get(act, act)} activation, applied to every value."
    if kind == "ReLU":
        cap = f", capped at {op.max_value:g}" if op.max_value is not None else ""
        slope = f", slope {op.negative_slope:g} below zero" if op.negative_slope else ""
        return f"ReLU activation (max(x, 0){cap}{slope}), applied to every value."
    if kind == "LeakyReLU":
        return f"Leaky ReLU: values below zero are multiplied by {op.negative_slope:g}."
    if kind in ("PReLU", "ELU", "ThresholdedReLU"):
        return f"{kind} activation, applied to every value."
    if kind == "Softmax":
        return (f"Softmax over the {out_c} channels: at each pixel they become probabilities "
                "that add up to 1.")
    if kind == "Concatenate":
        chans = " + ".join(str(s[-1]) for s in in_shapes)
        return f"Stacks the channels of its {n_in} inputs: {chans} = {out_c} channels."
    if kind in ("Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum"):
        verb = {"Add": "Adds", "Subtract": "Subtracts", "Multiply": "Multiplies",
                "Average": "Averages", "Maximum": "Takes the larger of",
                "Minimum": "Takes the smaller of"}[kind]
        return f"{verb} its {n_in} inputs element by element; no channels are stacked."
    if kind in ("MaxPooling2D", "AveragePooling2D"):
        what = "largest value" if kind.startswith("Max") else "mean"
        s = _pair(op.strides)
        return (f"{_kxk(op.pool_size)} {'max' if kind.startswith('Max') else 'average'} pooling, "
                f"stride {_num(op.strides)}, '{op.padding}' padding: keeps the {what} of each "
                f"window{', halving the size' if s == (2, 2) else ''}.")
    if kind.startswith("Global"):
        return f"{kind}: one value per channel for the whole map."
    if kind == "UpSampling2D":
        how = ("nearest-neighbour copying" if op.interpolation == "nearest"
               else f"{op.interpolation} interpolation")
        return f"Up-sampling x{_num(op.size)} by {how}; no weights."
    if kind == "ZeroPadding2D":
        (t, b), (le, r) = op.padding
        return (f"Pads with zeros: {t} row{'s' * (t != 1)} above, {b} below, {le} column"
                f"{'s' * (le != 1)} left, {r} right.")
    if kind == "Cropping2D":
        (t, b), (le, r) = op.cropping
        return (f"Crops {t} row{'s' * (t != 1)} at the top, {b} at the bottom, {le} column"
                f"{'s' * (le != 1)} on the left and {r} on the right.")
    if kind == "Rescaling":
        return f"Rescales every value: x * {_fmt(op.scale)} + {_fmt(op.offset)}."
    if kind == "Resizing":
        return f"Resizes the map to {op.height}x{op.width} by {op.interpolation} interpolation."
    if kind == "Dense":
        return f"Dense layer on the channels of each pixel: {op.units} outputs."
    return f"A {kind} layer."
