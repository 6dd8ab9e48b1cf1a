"""U-Net configurations and their layer-by-layer shapes, without Keras.

:class:`UNetConfig` describes a U-Net; :func:`layer_specs` lists the layers
it makes, with output shapes and parameter counts worked out by hand. The
builder page and the diagrams use it directly (no TensorFlow import), and
:func:`unetviz.model.build_unet` builds the Keras model from the same list,
so the two can never disagree.

Every layer is named after its place in the U (``enc1_conv1``, ``enc1_pool``,
``bottleneck_conv2``, ``dec1_up``, ``dec1_upconv``, ``dec1_concat``,
``dec1_conv1``, ``head_conv``, ``out``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

ACTIVATIONS = ("relu", "elu", "gelu", "tanh", "sigmoid", "linear")
OUT_ACTIVATIONS = ("sigmoid", "linear", "tanh", "relu")
UPSAMPLING_KINDS = ("upsample_conv", "transpose")


class UNetConfigError(ValueError):
    """A U-Net configuration that cannot be built, with the reason in words."""


@dataclass(frozen=True)
class UNetConfig:
    """Everything that decides a U-Net's shape.

    Levels are counted from the top of the U: level 1 works at full
    resolution, level ``depth + 1`` is the bottleneck.

    Examples
    --------
    >>> cfg = UNetConfig(input_size=8, depth=1, filters=(2, 3), kernel_sizes=(3, 3))
    >>> cfg.levels
    2
    """

    input_size: int | None = 64  # height = width; None accepts any size divisible by 2**depth
    in_channels: int = 1  # 1 for grayscale
    depth: int = 3  # number of poolings (and of up-samplings)
    filters: tuple[int, ...] = (16, 32, 64, 128)  # per level, bottleneck last (depth + 1 values)
    kernel_sizes: tuple[int, ...] = (3, 3, 5, 5)  # per level; the decoder reuses its level's size
    convs_per_block: int = 2  # convolutions in each encoder block and in the bottleneck
    decoder_convs: int | None = None  # convolutions after each concat; None = convs_per_block
    upsampling: str = "upsample_conv"  # UpSampling2D + conv as in the tutorial, or "transpose"
    up_kernel: int = 2  # kernel of the up-convolution
    skips: bool = True  # concatenate encoder features into the decoder
    activation: str = "relu"
    batch_norm: bool = False  # conv (no activation) -> BatchNorm -> activation
    head_filters: int = 0  # an extra conv before the output (the tutorial's 2-filter layer)
    head_kernel: int = 3
    out_channels: int = 1
    out_kernel: int = 1
    out_activation: str = "sigmoid"
    kernel_initializer: str = "he_normal"
    name: str = "unet"
    extra: dict = field(default_factory=dict, compare=False, hash=False)  # free-form notes

    @property
    def levels(self) -> int:
        return self.depth + 1

    @property
    def n_decoder_convs(self) -> int:
        return self.convs_per_block if self.decoder_convs is None else self.decoder_convs

    def replace(self, **changes) -> UNetConfig:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("extra")
        d["filters"] = list(self.filters)
        d["kernel_sizes"] = list(self.kernel_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> UNetConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        for key in ("filters", "kernel_sizes"):
            if key in d:
                d[key] = tuple(int(v) for v in d[key])
        return cls(**d)


PRESETS: dict[str, UNetConfig] = {
    # Section 4 of the tutorial: inverts 8x8 binary images; 348 parameters.
    "seed-simple": UNetConfig(
        input_size=8,
        depth=1,
        filters=(2, 3),
        kernel_sizes=(3, 3),
        convs_per_block=2,
        decoder_convs=1,
        up_kernel=3,
        out_kernel=3,
        name="seed_simple",
    ),
    # Section 5.2: the membrane-segmentation U-Net on 64x64 tiles; 1,170,149 parameters.
    "seed-membrane": UNetConfig(
        input_size=64,
        depth=3,
        filters=(16, 32, 64, 128),
        kernel_sizes=(3, 3, 5, 5),
        convs_per_block=2,
        up_kernel=2,
        head_filters=2,
        head_kernel=3,
        out_kernel=1,
        name="seed_membrane",
    ),
    # The membrane layout made easier to train: batch norm after every convolution and a plain
    # 1x1 sigmoid head in place of the 2-channel ReLU layer (which can die into all-"cell").
    "membrane-bn": UNetConfig(
        input_size=64,
        depth=3,
        filters=(16, 32, 64, 128),
        kernel_sizes=(3, 3, 5, 5),
        convs_per_block=2,
        up_kernel=2,
        batch_norm=True,
        head_filters=0,
        out_kernel=1,
        name="membrane_bn",
    ),
}


def validate_config(config: UNetConfig) -> None:
    """Raise :class:`UNetConfigError` explaining why ``config`` cannot be built."""
    c = config
    if c.depth < 0:
        raise UNetConfigError("Depth must be 0 or more poolings.")
    if len(c.filters) != c.levels:
        raise UNetConfigError(
            f"Give one filter count per level: depth {c.depth} needs {c.levels} values "
            f"(got {len(c.filters)})."
        )
    if len(c.kernel_sizes) != c.levels:
        raise UNetConfigError(
            f"Give one kernel size per level: depth {c.depth} needs {c.levels} values "
            f"(got {len(c.kernel_sizes)})."
        )
    if any(f < 1 for f in c.filters):
        raise UNetConfigError("Every level needs at least one filter.")
    if any(k < 1 for k in c.kernel_sizes) or c.up_kernel < 1 or c.out_kernel < 1:
        raise UNetConfigError("Kernel sizes must be at least 1.")
    if c.convs_per_block < 1:
        raise UNetConfigError("Each encoder block needs at least one convolution.")
    if c.n_decoder_convs < 0:
        raise UNetConfigError("A decoder block has 0 or more convolutions after its concatenation.")
    if c.head_filters < 0 or c.head_kernel < 1:
        raise UNetConfigError("The extra convolution before the output needs 0 or more filters "
                              "and a kernel of 1 or more.")
    if c.in_channels < 1 or c.out_channels < 1:
        raise UNetConfigError("Input and output need at least one channel.")
    if c.activation not in ACTIVATIONS:
        raise UNetConfigError(f"Unknown activation {c.activation!r}; choose from {ACTIVATIONS}.")
    if c.out_activation not in OUT_ACTIVATIONS:
        raise UNetConfigError(
            f"Unknown output activation {c.out_activation!r}; choose from {OUT_ACTIVATIONS}."
        )
    if c.upsampling not in UPSAMPLING_KINDS:
        raise UNetConfigError(f"Unknown up-sampling {c.upsampling!r}; choose from {UPSAMPLING_KINDS}.")
    if c.input_size is not None:
        n = c.input_size
        if n < 1:
            raise UNetConfigError("The input must be at least 1 pixel wide.")
        factor = 2**c.depth
        if n % factor:
            sizes, s = [], n
            for _ in range(c.depth):
                sizes.append(s)
                s //= 2
            raise UNetConfigError(
                f"A {n}x{n} input cannot be pooled {c.depth} times and come back to {n}x{n}: "
                f"each 2x2 pooling halves the size ({' -> '.join(map(str, sizes + [s]))}), and "
                f"{n} is not divisible by 2^{c.depth} = {factor}. "
                f"Try {max(factor, n - n % factor)} or {n + factor - n % factor}."
            )


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a U-Net as :func:`layer_specs` describes it."""

    name: str  # e.g. "enc1_conv1"
    kind: str  # the Keras class: Conv2D, MaxPooling2D, UpSampling2D, Concatenate, ...
    shape: tuple  # output (H, W, C); H and W are None when the input size is open
    params: int  # learnable (and, for batch norm, running) parameters
    inputs: tuple[str, ...]  # names of the layers it reads
    part: str  # "input", "encoder", "bottleneck", "decoder" or "output"
    level: int  # 1 at the top of the U, depth + 1 at the bottleneck; 0 for input/output
    filters: int = 0  # conv layers: number of filters
    kernel: int = 0  # conv layers: filter size
    in_channels: int = 0  # conv layers: channels of each filter
    activation: str | None = None  # conv and activation layers
    use_bias: bool = True  # conv layers followed by batch norm have none

    @property
    def formula(self) -> str:
        """The parameter count written out, e.g. ``"2 x (3 x 3 x 1) + 2 = 20"``."""
        if self.kind in ("Conv2D", "Conv2DTranspose"):
            if not self.use_bias:
                return (f"{self.filters} x ({self.kernel} x {self.kernel} x {self.in_channels}) "
                        f"= {self.params:,}")
            return (f"{self.filters} x ({self.kernel} x {self.kernel} x {self.in_channels}) + "
                    f"{self.filters} = {self.params:,}")
        if self.kind == "BatchNormalization":
            return f"4 x {self.shape[-1]} = {self.params:,} (scale, shift, running mean and variance)"
        return "0 (no learnable parameters)"


def layer_specs(config: UNetConfig) -> list[LayerSpec]:
    """Every layer of the U-Net that ``config`` describes, in build order.

    Raises :class:`UNetConfigError` for a configuration that cannot work.

    >>> sum(s.params for s in layer_specs(PRESETS["seed-simple"]))
    348
    """
    validate_config(config)
    c = config
    specs: list[LayerSpec] = []
    n = c.input_size

    def add(name, kind, shape, params, inputs, part, level, **kw):
        specs.append(LayerSpec(name, kind, shape, params, tuple(inputs), part, level, **kw))
        return name

    def conv(name, src, size, channels, filters, kernel, part, level, activation=None):
        act = c.activation if activation is None else activation
        if c.batch_norm and act not in (None, "linear"):
            add(name, "Conv2D", (size, size, filters), kernel**2 * channels * filters, [src],
                part, level, filters=filters, kernel=kernel, in_channels=channels,
                activation=None, use_bias=False)
            add(f"{name}_bn", "BatchNormalization", (size, size, filters), 4 * filters, [name],
                part, level)
            return add(f"{name}_act", "Activation", (size, size, filters), 0, [f"{name}_bn"],
                       part, level, activation=act)
        return add(name, "Conv2D", (size, size, filters), (kernel**2 * channels + 1) * filters,
                   [src], part, level, filters=filters, kernel=kernel, in_channels=channels,
                   activation=act)

    def half(size):
        return None if size is None else size // 2

    def double(size):
        return None if size is None else size * 2

    x = add("input", "InputLayer", (n, n, c.in_channels), 0, [], "input", 0)
    size, ch = n, c.in_channels
    skips = []

    # Contracting half: convolve, keep the result for the skip, pool.
    for level in range(1, c.depth + 1):
        f, k = c.filters[level - 1], c.kernel_sizes[level - 1]
        for i in range(1, c.convs_per_block + 1):
            x = conv(f"enc{level}_conv{i}", x, size, ch, f, k, "encoder", level)
            ch = f
        skips.append((x, ch))
        size = half(size)
        x = add(f"enc{level}_pool", "MaxPooling2D", (size, size, ch), 0, [x], "encoder", level)

    # Bottom of the U.
    for i in range(1, c.convs_per_block + 1):
        x = conv(f"bottleneck_conv{i}", x, size, ch, c.filters[-1], c.kernel_sizes[-1],
                 "bottleneck", c.levels)
        ch = c.filters[-1]

    # Expanding half: up-sample, up-convolve, concatenate the skip, convolve.
    for level in range(c.depth, 0, -1):
        f, k = c.filters[level - 1], c.kernel_sizes[level - 1]
        size = double(size)
        if c.upsampling == "transpose":
            x = add(f"dec{level}_up", "Conv2DTranspose", (size, size, f),
                    (c.up_kernel**2 * ch + 1) * f, [x], "decoder", level, filters=f,
                    kernel=c.up_kernel, in_channels=ch, activation=c.activation)
        else:
            x = add(f"dec{level}_up", "UpSampling2D", (size, size, ch), 0, [x], "decoder", level)
            x = conv(f"dec{level}_upconv", x, size, ch, f, c.up_kernel, "decoder", level)
        ch = f
        if c.skips:
            skip, skip_ch = skips[level - 1]
            ch = skip_ch + ch
            x = add(f"dec{level}_concat", "Concatenate", (size, size, ch), 0, [skip, x],
                    "decoder", level)
        for i in range(1, c.n_decoder_convs + 1):
            x = conv(f"dec{level}_conv{i}", x, size, ch, f, k, "decoder", level)
            ch = f

    if c.head_filters:
        x = conv("head_conv", x, size, ch, c.head_filters, c.head_kernel, "output", 0)
        ch = c.head_filters
    add("out", "Conv2D", (size, size, c.out_channels), (c.out_kernel**2 * ch + 1) * c.out_channels,
        [x], "output", 0, filters=c.out_channels, kernel=c.out_kernel, in_channels=ch,
        activation=c.out_activation)
    return specs


def count_params(config: UNetConfig) -> int:
    """Total parameters of the U-Net ``config`` describes."""
    return sum(s.params for s in layer_specs(config))


# ---------------------------------------------------------------- the builder page's helpers

MAX_DEPTH = 5  # the builder offers 0..MAX_DEPTH poolings
FILTER_GROWTHS = ("x2", "same", "+1", "+2", "+4", "+8", "+16", "x1.5")  # first match names a config


def grow_filters(first: int, levels: int, *, growth: str = "x2") -> tuple[int, ...]:
    """Filters per level, top of the U first, from ``first`` growing by ``growth`` each level.

    ``growth`` is one of :data:`FILTER_GROWTHS`: ``"x2"`` doubles, ``"+1"`` adds one,
    ``"same"`` keeps the count.

    Examples
    --------
    >>> grow_filters(16, 4, growth="x2")
    (16, 32, 64, 128)
    >>> grow_filters(2, 2, growth="+1")
    (2, 3)
    """
    if growth not in FILTER_GROWTHS:
        raise UNetConfigError(f"Unknown filter growth {growth!r}; choose from {FILTER_GROWTHS}.")
    if first < 1:
        raise UNetConfigError("The first level needs at least one filter.")
    if levels < 1:
        raise UNetConfigError("A U-Net has at least one level.")
    if growth == "same":
        return (first,) * levels
    if growth.startswith("+"):
        return tuple(first + int(growth[1:]) * i for i in range(levels))
    factor = float(growth[1:])
    return tuple(int(round(first * factor**i)) for i in range(levels))


def builder_config(*, input_size: int | None = 8, depth: int = 1, first_filters: int = 2,
                   growth: str = "x2", kernel_sizes=(3,), convs_per_block: int = 2,
                   decoder_convs: int = 2, upsampling: str = "upsample_conv", up_kernel: int = 2,
                   skips: bool = True, activation: str = "relu", out_activation: str = "sigmoid",
                   batch_norm: bool = False, head_filters: int = 0, out_kernel: int = 1) -> UNetConfig:
    """The :class:`UNetConfig` that the builder page's controls describe.

    ``kernel_sizes`` lists one size per level from the top; the page keeps a value for every
    level it can show, so values past ``depth + 1`` are ignored and a short list repeats its
    last size. When the result is one of :data:`PRESETS` it carries that preset's name.
    Raises :class:`UNetConfigError` for values that cannot make a U-Net.

    Examples
    --------
    >>> cfg = builder_config(**builder_controls(PRESETS["seed-membrane"]))
    >>> cfg == PRESETS["seed-membrane"], count_params(cfg)
    (True, 1170149)
    """
    if depth < 0:
        raise UNetConfigError("Depth must be 0 or more poolings.")
    if not kernel_sizes:
        raise UNetConfigError("Give at least one kernel size.")
    levels = depth + 1
    kernels = tuple(int(k) for k in kernel_sizes[:levels])
    kernels += (kernels[-1],) * (levels - len(kernels))
    config = UNetConfig(
        input_size=input_size, depth=depth,
        filters=grow_filters(first_filters, levels, growth=growth), kernel_sizes=kernels,
        convs_per_block=convs_per_block,
        decoder_convs=None if decoder_convs == convs_per_block else decoder_convs,
        upsampling=upsampling, up_kernel=up_kernel, skips=skips, activation=activation,
        batch_norm=batch_norm, head_filters=head_filters, out_kernel=out_kernel,
        out_activation=out_activation, name="my_unet",
    )
    preset = preset_name(config)
    return config.replace(name=PRESETS[preset].name) if preset else config


def builder_controls(config: UNetConfig) -> dict:
    """The builder page's control values for ``config``: the inverse of :func:`builder_config`.

    ``kernel_sizes`` is padded to ``MAX_DEPTH + 1`` values by repeating the bottleneck's size.
    Raises ``ValueError`` when the filters follow none of :data:`FILTER_GROWTHS`.

    Examples
    --------
    >>> builder_controls(PRESETS["seed-simple"])["growth"]
    '+1'
    """
    growth = next((g for g in FILTER_GROWTHS
                   if grow_filters(config.filters[0], config.levels, growth=g) == config.filters),
                  None)
    if growth is None:
        raise ValueError(f"The filters {config.filters} follow none of the growth rules "
                         f"{FILTER_GROWTHS}, so the builder cannot show them.")
    kernels = tuple(config.kernel_sizes)
    return {
        "input_size": config.input_size, "depth": config.depth,
        "first_filters": config.filters[0], "growth": growth,
        "kernel_sizes": kernels + (kernels[-1],) * (MAX_DEPTH + 1 - len(kernels)),
        "convs_per_block": config.convs_per_block, "decoder_convs": config.n_decoder_convs,
        "upsampling": config.upsampling, "up_kernel": config.up_kernel, "skips": config.skips,
        "activation": config.activation, "out_activation": config.out_activation,
        "batch_norm": config.batch_norm, "head_filters": config.head_filters,
        "out_kernel": config.out_kernel,
    }


def preset_name(config: UNetConfig) -> str | None:
    """The key of the preset ``config`` equals (names aside), or None.

    >>> preset_name(PRESETS["seed-simple"].replace(name="mine"))
    'seed-simple'
    """
    return next((key for key, p in PRESETS.items() if config.replace(name=p.name) == p), None)


def _shape_text(shape) -> str:
    return "(None, " + ", ".join("None" if v is None else str(v) for v in shape) + ")"


def summary_table(specs: list[LayerSpec]) -> list[dict]:
    """Rows like Keras' ``model.summary()``: layer (type), output shape, parameters, inputs.

    Shapes carry the batch dimension as ``None``, as Keras prints them.

    Examples
    --------
    >>> summary_table(layer_specs(PRESETS["seed-simple"]))[1]
    {'Layer (type)': 'enc1_conv1 (Conv2D)', 'Output shape': '(None, 8, 8, 2)', 'Param #': 20, \
'Connected to': 'input'}
    """
    return [{"Layer (type)": f"{s.name} ({s.kind})", "Output shape": _shape_text(s.shape),
             "Param #": s.params, "Connected to": ", ".join(s.inputs)} for s in specs]


def param_totals(specs: list[LayerSpec]) -> dict:
    """Total, trainable and non-trainable parameters, counted as Keras counts them.

    Batch normalisation's running mean and variance are counted but not trained.

    >>> param_totals(layer_specs(PRESETS["seed-simple"]))
    {'total': 348, 'trainable': 348, 'non_trainable': 0}
    """
    frozen = sum(2 * s.shape[-1] for s in specs if s.kind == "BatchNormalization")
    total = sum(s.params for s in specs)
    return {"total": total, "trainable": total - frozen, "non_trainable": frozen}


def _tex_int(v: int) -> str:
    return f"{v:,}".replace(",", "{,}")


def _brace(value, label: str) -> str:
    return rf"\underbrace{{{value}}}_{{\text{{{label}}}}}"


def formula_latex(spec: LayerSpec) -> str:
    """The parameter count of one layer as LaTeX, each number labelled with what it counts.

    Layers with no parameters give ``"0"``.

    Examples
    --------
    >>> formula_latex(layer_specs(PRESETS["seed-simple"])[1]).endswith("= 20")
    True
    """
    if spec.kind in ("Conv2D", "Conv2DTranspose"):
        kernel = _brace(rf"{spec.kernel} \times {spec.kernel}", "kernel")
        weights = (rf"{_brace(spec.filters, 'filters')} \times ({kernel} \times "
                   rf"{_brace(spec.in_channels, 'channels in')})")
        bias = rf" + {_brace(spec.filters, 'biases')}" if spec.use_bias else ""
        return f"{weights}{bias} = {_tex_int(spec.params)}"
    if spec.kind == "BatchNormalization":
        return (rf"{_brace(4, 'scale, shift, mean, variance')} \times "
                rf"{_brace(spec.shape[-1], 'channels')} = {_tex_int(spec.params)}")
    return "0"


def _size(shape) -> str:
    return "?x?" if shape[0] is None else f"{shape[0]}x{shape[1]}"


def explain_layer(specs: list[LayerSpec], name: str) -> str:
    """One or two sentences (Markdown) on what layer ``name`` of ``specs`` does, with its numbers.

    >>> "largest value" in explain_layer(layer_specs(PRESETS["seed-simple"]), "enc1_pool")
    True
    """
    by_name = {s.name: s for s in specs}
    if name not in by_name:
        raise ValueError(f"No layer called {name!r}; the layers are {list(by_name)}.")
    s = by_name[name]
    ins = [by_name[i] for i in s.inputs]
    size, ch = _size(s.shape), s.shape[-1]
    if s.kind == "InputLayer":
        return f"The image that goes in: {size} pixels with {ch} channel{'s' * (ch > 1)}."
    src = ins[0]
    if s.kind == "Conv2D":
        bias = ("one bias" if s.use_bias
                else "no bias, because the batch normalisation after it adds its own shift")
        act = (f"{s.activation} is applied to the result" if s.activation
               else "the result goes on to batch normalisation")
        return (f"Slides {s.filters} filter{'s' * (s.filters > 1)} of {s.kernel}x{s.kernel} over the "
                f"{src.shape[-1]} channel{'s' * (src.shape[-1] > 1)} of **{src.name}**. Each filter "
                f"has {s.kernel}x{s.kernel}x{s.in_channels} = {s.kernel**2 * s.in_channels:,} weights "
                f"and {bias}. Zero padding keeps the size at {size}, and {act}.")
    if s.kind == "Conv2DTranspose":
        return (f"A learned up-sampling: each pixel of **{src.name}** ({_size(src.shape)}) paints a "
                f"{s.kernel}x{s.kernel} patch with each of {s.filters} filters, two pixels apart, "
                f"giving {size} with {ch} channels.")
    if s.kind == "MaxPooling2D":
        return (f"Keeps the largest value of each 2x2 block of **{src.name}**: {_size(src.shape)} "
                f"becomes {size}, each of the {ch} channels on its own. Nothing to learn.")
    if s.kind == "UpSampling2D":
        return (f"Copies each pixel of **{src.name}** into a 2x2 block: {_size(src.shape)} becomes "
                f"{size}, still {ch} channels. Nothing to learn; the convolution after it learns "
                f"how to fill in the blocks.")
    if s.kind == "Concatenate":
        skip, up = ins
        return (f"Stacks the {skip.shape[-1]} channels of **{skip.name}** (the skip connection, "
                f"from the encoder) with the {up.shape[-1]} channels of **{up.name}**: {ch} "
                f"channels of {size}. Nothing to learn.")
    if s.kind == "BatchNormalization":
        return (f"Rescales each of the {ch} channels to mean 0 and variance 1 over the batch, then "
                f"applies a learned scale and shift. The running mean and variance it keeps for "
                f"prediction are counted as parameters but not trained.")
    return f"Applies {s.activation} to every number of **{src.name}**, keeping its shape ({size}x{ch})."
