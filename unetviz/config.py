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
    if c.convs_per_block < 1 or c.n_decoder_convs < 0:
        raise UNetConfigError("Each encoder block needs at least one convolution.")
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
