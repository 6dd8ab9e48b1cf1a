"""A zoo of third-party U-Net recipes, rebuilt from their public descriptions at toy sizes.

Each builder returns a ``keras.Model`` with random weights, small enough for a test
(16-64 pixels, a few filters). :data:`ZOO` maps a short name to the builder and to
the roles of every merge whose inputs are not all on one side of the U, written by
hand from the recipe: ``{merge name: roles per input}``. Every other merge (the
residual ``Add`` of a ResNet block, say) must come out as ``"same"`` for all inputs.
"""

from __future__ import annotations

import keras
from keras import layers

L = layers


def _conv(x, f, name, *, k=3, act="relu", **kw):
    return L.Conv2D(f, k, padding=kw.pop("padding", "same"), activation=act, name=name, **kw)(x)


# ---------------------------------------------------------------- 1. TF tutorial: MobileNetV2 encoder
def mobilenet_unet() -> keras.Model:
    """tensorflow.org/tutorials/images/segmentation: a MobileNetV2 encoder whose intermediate
    activations are the outputs of one sub-model, and pix2pix ``upsample`` blocks
    (Conv2DTranspose + BatchNorm + ReLU in a ``Sequential``) concatenated with them."""
    base = keras.applications.MobileNetV2(input_shape=(32, 32, 3), include_top=False, weights=None,
                                          alpha=0.35)
    names = ["block_1_expand_relu", "block_3_expand_relu", "block_6_expand_relu",
             "block_13_expand_relu", "block_16_project"]  # 16, 8, 4, 2, 1 pixels
    down = keras.Model(base.input, [base.get_layer(n).output for n in names], name="encoder")

    def upsample(filters, i):
        return keras.Sequential([
            L.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False, name=f"up{i}_tconv"),
            L.BatchNormalization(name=f"up{i}_bn"), L.ReLU(name=f"up{i}_relu")], name=f"up{i}")

    inputs = keras.Input((32, 32, 3), name="image")
    skips = down(inputs)
    x = skips[-1]
    for i, (f, skip) in enumerate(zip([16, 8, 8, 8], reversed(skips[:-1]))):
        x = upsample(f, i)(x)
        x = L.Concatenate(name=f"cat{i}")([x, skip])
    x = L.Conv2DTranspose(3, 3, strides=2, padding="same", name="last")(x)
    return keras.Model(inputs, L.Softmax(name="probs")(x), name="mobilenet_unet")


MOBILENET_ROLES = {f"cat{i}": ("up", "skip") for i in range(4)}


# ---------------------------------------------------------------- 2. a Sequential encoder-decoder
def sequential_autoencoder() -> keras.Model:
    """The convolutional autoencoder of the Keras blog, as one ``Sequential``: no skips can exist."""
    return keras.Sequential([
        keras.Input((16, 16, 1)),
        L.Conv2D(4, 3, padding="same", activation="relu", name="c1"),
        L.MaxPooling2D(2, name="p1"),
        L.Conv2D(8, 3, padding="same", activation="relu", name="c2"),
        L.UpSampling2D(2, name="u1"),
        L.Conv2D(4, 3, padding="same", activation="relu", name="c3"),
        L.Conv2D(1, 1, activation="sigmoid", name="c4"),
    ], name="seq_autoencoder")


# ---------------------------------------------------------------- 3. ResUNet (Zhang et al. 2018)
def _res_block(x, f, name, *, strides=1):
    y = L.BatchNormalization(name=f"{name}_bn1")(x)
    y = L.Activation("relu", name=f"{name}_relu1")(y)
    y = L.Conv2D(f, 3, strides=strides, padding="same", name=f"{name}_conv1")(y)
    y = L.BatchNormalization(name=f"{name}_bn2")(y)
    y = L.Activation("relu", name=f"{name}_relu2")(y)
    y = L.Conv2D(f, 3, padding="same", name=f"{name}_conv2")(y)
    s = L.Conv2D(f, 1, strides=strides, padding="same", name=f"{name}_short")(x)
    s = L.BatchNormalization(name=f"{name}_short_bn")(s)
    return L.Add(name=f"{name}_add")([s, y])


def resunet() -> keras.Model:
    """Road extraction by deep residual U-Net: pre-activation residual blocks, stride-2 blocks
    to go down, up-sampling + concatenation + residual block to come up."""
    inp = keras.Input((16, 16, 1), name="x")
    e1 = _conv(inp, 4, "stem_conv", act=None)
    e1 = L.Add(name="stem_add")([_conv(_conv(e1, 4, "stem_a"), 4, "stem_b", act=None), e1])
    e2 = _res_block(e1, 8, "enc2", strides=2)
    b = _res_block(e2, 16, "bridge", strides=2)
    d2 = L.Concatenate(name="dec2_cat")([L.UpSampling2D(name="dec2_up")(b), e2])
    d2 = _res_block(d2, 8, "dec2")
    d1 = L.Concatenate(name="dec1_cat")([L.UpSampling2D(name="dec1_up")(d2), e1])
    d1 = _res_block(d1, 4, "dec1")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="head")(d1), name="resunet")


RESUNET_ROLES = {"dec2_cat": ("up", "skip"), "dec1_cat": ("up", "skip")}


# ---------------------------------------------------------------- 4. keras.io oxford pets
def xception_unet() -> keras.Model:
    """keras.io "Image segmentation with a U-Net-like architecture": separable convolutions and
    residual Adds going down, stride-1 transposed convolutions and up-sampling coming up. It has
    no skips across the U: every Add joins two branches of one side."""
    inputs = keras.Input((32, 32, 3), name="img")
    x = L.Conv2D(8, 3, strides=2, padding="same", name="entry")(inputs)
    x = L.BatchNormalization(name="entry_bn")(x)
    x = L.Activation("relu", name="entry_relu")(x)
    previous = x
    for f in (16, 32):
        x = L.Activation("relu", name=f"down{f}_relu1")(x)
        x = L.SeparableConv2D(f, 3, padding="same", name=f"down{f}_sep1")(x)
        x = L.BatchNormalization(name=f"down{f}_bn1")(x)
        x = L.Activation("relu", name=f"down{f}_relu2")(x)
        x = L.SeparableConv2D(f, 3, padding="same", name=f"down{f}_sep2")(x)
        x = L.BatchNormalization(name=f"down{f}_bn2")(x)
        x = L.MaxPooling2D(3, strides=2, padding="same", name=f"down{f}_pool")(x)
        residual = L.Conv2D(f, 1, strides=2, padding="same", name=f"down{f}_res")(previous)
        x = L.add([x, residual], name=f"down{f}_add")
        previous = x
    for f in (32, 16, 8):
        x = L.Activation("relu", name=f"up{f}_relu1")(x)
        x = L.Conv2DTranspose(f, 3, padding="same", name=f"up{f}_tconv1")(x)
        x = L.BatchNormalization(name=f"up{f}_bn1")(x)
        x = L.Activation("relu", name=f"up{f}_relu2")(x)
        x = L.Conv2DTranspose(f, 3, padding="same", name=f"up{f}_tconv2")(x)
        x = L.BatchNormalization(name=f"up{f}_bn2")(x)
        x = L.UpSampling2D(2, name=f"up{f}_up")(x)
        residual = L.UpSampling2D(2, name=f"up{f}_res_up")(previous)
        residual = L.Conv2D(f, 1, padding="same", name=f"up{f}_res")(residual)
        x = L.add([x, residual], name=f"up{f}_add")
        previous = x
    out = L.Conv2D(3, 3, activation="softmax", padding="same", name="classes")(x)
    return keras.Model(inputs, out, name="xception_unet")


# ---------------------------------------------------------------- 5. stride-2 convolutions
def strided_unet() -> keras.Model:
    """An all-convolutional U-Net (Springenberg et al.'s stride-2 convolutions instead of
    pooling), transposed convolutions to come up, the skip given *second* to each concat."""
    inp = keras.Input((16, 16, 1), name="x")
    e1 = _conv(inp, 4, "e1")
    e2 = _conv(_conv(e1, 8, "e2_down", strides=2), 8, "e2")
    b = _conv(_conv(e2, 16, "b_down", strides=2), 16, "b")
    d2 = L.Conv2DTranspose(8, 2, strides=2, padding="same", name="d2_up")(b)
    d2 = _conv(L.Concatenate(name="d2_cat")([d2, e2]), 8, "d2")
    d1 = L.Conv2DTranspose(4, 3, strides=2, padding="same", name="d1_up")(d2)
    d1 = _conv(L.Concatenate(name="d1_cat")([d1, e1]), 4, "d1")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="out_conv")(d1), name="strided")


STRIDED_ROLES = {"d2_cat": ("up", "skip"), "d1_cat": ("up", "skip")}


# ---------------------------------------------------------------- 6. RGB in, softmax out
def rgb_softmax_unet() -> keras.Model:
    """The classic U-Net shape (zhixuhao/unet, Ronneberger's layout with 'same' padding) on
    RGB input with a 4-class softmax head."""
    inp = keras.Input((16, 16, 3), name="rgb")
    c1 = _conv(_conv(inp, 4, "c1a"), 4, "c1b")
    c2 = _conv(_conv(L.MaxPooling2D(name="p1")(c1), 8, "c2a"), 8, "c2b")
    u1 = _conv(L.UpSampling2D(name="u1")(c2), 4, "u1_conv", k=2)
    m1 = L.Concatenate(name="m1")([c1, u1])
    c3 = _conv(_conv(m1, 4, "c3a"), 4, "c3b")
    return keras.Model(inp, L.Conv2D(4, 1, activation="softmax", name="seg")(c3), name="rgb_softmax")


RGB_ROLES = {"m1": ("skip", "up")}


# ---------------------------------------------------------------- 7. any size
def any_size_unet() -> keras.Model:
    """A fully convolutional U-Net with an open input size, ``(None, None, 1)``."""
    inp = keras.Input((None, None, 1), name="any")
    c1 = _conv(inp, 4, "c1")
    c2 = _conv(L.MaxPooling2D(name="p1")(c1), 8, "c2")
    c3 = _conv(L.MaxPooling2D(name="p2")(c2), 8, "c3")
    u2 = L.Conv2DTranspose(8, 2, strides=2, name="t2")(c3)
    d2 = _conv(L.Concatenate(name="k2")([c2, u2]), 8, "d2")
    u1 = L.Conv2DTranspose(4, 2, strides=2, name="t1")(d2)
    d1 = _conv(L.Concatenate(name="k1")([c1, u1]), 4, "d1")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="o")(d1), name="any_size")


ANY_ROLES = {"k2": ("skip", "up"), "k1": ("skip", "up")}


# ---------------------------------------------------------------- 8. UNet++
def unet_plus_plus() -> keras.Model:
    """UNet++ (Zhou et al. 2018): nested dense skips; node X(i, j) concatenates every X(i, k<j)
    with the up-sampled X(i+1, j-1)."""
    inp = keras.Input((16, 16, 1), name="x")
    x00 = _conv(inp, 4, "x00")
    x10 = _conv(L.MaxPooling2D(name="p0")(x00), 8, "x10")
    x20 = _conv(L.MaxPooling2D(name="p1")(x10), 16, "x20")
    x01 = _conv(L.Concatenate(name="cat01")([x00, L.UpSampling2D(name="up10")(x10)]), 4, "x01")
    x11 = _conv(L.Concatenate(name="cat11")([x10, L.UpSampling2D(name="up20")(x20)]), 8, "x11")
    x02 = _conv(L.Concatenate(name="cat02")([x00, x01, L.UpSampling2D(name="up11")(x11)]), 4, "x02")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="out")(x02), name="unetpp")


UNETPP_ROLES = {"cat01": ("skip", "up"), "cat11": ("skip", "up"), "cat02": ("skip", "skip", "up")}


# ---------------------------------------------------------------- 9. attention U-Net
def _gate(x, g, name, *, inter, g_first):
    """Oktay et al. 2018 additive attention gate. ``g_first``: bring g up to x's size first
    (as many Keras ports do); otherwise take x down with a stride-2 conv and up-sample alpha."""
    if g_first:
        theta = L.Conv2D(inter, 1, name=f"{name}_theta")(x)
        phi = L.Conv2D(inter, 1, name=f"{name}_phi")(L.UpSampling2D(name=f"{name}_gup")(g))
    else:
        theta = L.Conv2D(inter, 2, strides=2, name=f"{name}_theta")(x)
        phi = L.Conv2D(inter, 1, name=f"{name}_phi")(g)
    f = L.Activation("relu", name=f"{name}_relu")(L.Add(name=f"{name}_add")([theta, phi]))
    alpha = L.Conv2D(1, 1, activation="sigmoid", name=f"{name}_psi")(f)
    if not g_first:
        alpha = L.UpSampling2D(name=f"{name}_alpha_up")(alpha)
    alpha = L.Concatenate(name=f"{name}_alpha_c")([alpha] * x.shape[-1])  # one copy per channel
    return L.Multiply(name=f"{name}_mul")([x, alpha])


def attention_unet() -> keras.Model:
    """Attention U-Net: each skip is multiplied by coefficients computed from it and from the
    coarser decoder signal before it is concatenated."""
    inp = keras.Input((16, 16, 1), name="x")
    e1 = _conv(inp, 4, "e1")
    e2 = _conv(L.MaxPooling2D(name="p1")(e1), 8, "e2")
    b = _conv(L.MaxPooling2D(name="p2")(e2), 16, "b")
    a2 = _gate(e2, b, "att2", inter=4, g_first=False)
    d2 = _conv(L.Concatenate(name="d2_cat")([L.UpSampling2D(name="d2_up")(b), a2]), 8, "d2")
    a1 = _gate(e1, d2, "att1", inter=2, g_first=True)
    d1 = _conv(L.Concatenate(name="d1_cat")([L.UpSampling2D(name="d1_up")(d2), a1]), 4, "d1")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="out")(d1), name="attention")


ATTENTION_ROLES = {
    "att2_mul": ("skip", "gate"), "d2_cat": ("up", "skip"),
    "att1_add": ("skip", "up"), "att1_mul": ("skip", "gate"), "d1_cat": ("up", "skip"),
}


# ---------------------------------------------------------------- 10. the 2015 U-Net
def unet_2015() -> keras.Model:
    """Ronneberger et al. 2015: valid 3x3 convolutions, so the output (20x20) is smaller than
    the input (60x60), and the skips are cropped to the decoder's size."""
    inp = keras.Input((60, 60, 1), name="tile")
    e1 = _conv(_conv(inp, 4, "e1a", padding="valid"), 4, "e1b", padding="valid")  # 56
    e2 = _conv(_conv(L.MaxPooling2D(name="p1")(e1), 8, "e2a", padding="valid"), 8, "e2b",
               padding="valid")  # 28 -> 24
    b = _conv(_conv(L.MaxPooling2D(name="p2")(e2), 16, "ba", padding="valid"), 16, "bb",
              padding="valid")  # 12 -> 8
    u2 = L.Conv2DTranspose(8, 2, strides=2, name="u2")(b)  # 16
    d2 = L.Concatenate(name="c2")([L.Cropping2D(4, name="crop2")(e2), u2])
    d2 = _conv(_conv(d2, 8, "d2a", padding="valid"), 8, "d2b", padding="valid")  # 12
    u1 = L.Conv2DTranspose(4, 2, strides=2, name="u1")(d2)  # 24
    d1 = L.Concatenate(name="c1")([L.Cropping2D(16, name="crop1")(e1), u1])
    d1 = _conv(_conv(d1, 4, "d1a", padding="valid"), 4, "d1b", padding="valid")  # 20
    return keras.Model(inp, L.Conv2D(2, 1, activation="softmax", name="score")(d1), name="unet2015")


UNET2015_ROLES = {"c2": ("skip", "up"), "c1": ("skip", "up")}


# ---------------------------------------------------------------- 11. dilated + bilinear
def dilated_bilinear_unet() -> keras.Model:
    """Dilated convolutions in the encoder (DeepLab-style context) and a decoder of bilinear
    up-sampling, as in many segmentation_models-style ports."""
    inp = keras.Input((16, 16, 1), name="x")
    e1 = _conv(inp, 4, "e1", dilation_rate=2)
    e2 = _conv(L.AveragePooling2D(2, name="p1")(e1), 8, "e2", dilation_rate=2)
    b = _conv(L.MaxPooling2D(name="p2")(e2), 8, "b", dilation_rate=(1, 2))
    d2 = L.Concatenate(name="cat2")([e2, L.UpSampling2D(interpolation="bilinear", name="up2")(b)])
    d2 = _conv(d2, 8, "d2")
    d1 = L.Concatenate(name="cat1")([e1, L.UpSampling2D(interpolation="bilinear", name="up1")(d2)])
    d1 = _conv(d1, 4, "d1")
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="o")(d1), name="dilated")


DILATED_ROLES = {"cat2": ("skip", "up"), "cat1": ("skip", "up")}


# ---------------------------------------------------------------- 12. preprocessing inside
def preprocessing_unet() -> keras.Model:
    """Rescaling(1/255) at the input (so it takes 0-255 pixels), ZeroPadding2D to a size that
    halves cleanly, Resizing to come up, and Cropping2D back to the input's size."""
    inp = keras.Input((30, 30, 1), name="pixels")
    x = L.Rescaling(1 / 255, name="scale")(inp)
    x = L.ZeroPadding2D(1, name="pad")(x)  # 32
    c1 = _conv(x, 4, "c1")
    c2 = _conv(L.MaxPooling2D(name="pool")(c1), 8, "c2")  # 16
    up = L.Resizing(32, 32, interpolation="bilinear", name="resize")(c2)
    m = L.Concatenate(name="merge")([c1, up])
    y = L.Cropping2D(1, name="crop")(_conv(m, 4, "c3"))  # 30
    return keras.Model(inp, L.Conv2D(1, 1, activation="sigmoid", name="prob")(y), name="preproc")


PREPROC_ROLES = {"merge": ("skip", "up")}


# ---------------------------------------------------------------- 13. blocks as sub-models
def _block(f, name):
    inp = keras.Input((None, None, f))
    y = L.Conv2D(f, 3, padding="same", activation="relu", name="conv_a")(inp)
    y = L.Conv2D(f, 3, padding="same", name="conv_b")(y)
    return keras.Model(inp, L.Add(name="res")([inp, y]), name=name)


def nested_blocks_unet() -> keras.Model:
    """Residual blocks built by one function as functional sub-models (so two blocks hold layers
    of the same names), one block called twice (shared weights), and a Keras operation."""
    inp = keras.Input((16, 16, 4), name="x")
    block1, block2 = _block(4, "block1"), _block(4, "block2")
    e1 = block1(block1(inp))  # shared: called twice
    e2 = block2(L.MaxPooling2D(name="pool")(e1))
    up = L.UpSampling2D(name="up")(e2)
    m = L.Concatenate(name="cat")([e1, up])
    y = L.Conv2D(1, 1, name="score")(m)
    return keras.Model(inp, keras.ops.sigmoid(y), name="nested")


NESTED_ROLES = {"cat": ("skip", "up")}


ZOO = {
    "mobilenet": (mobilenet_unet, MOBILENET_ROLES),
    "sequential": (sequential_autoencoder, {}),
    "resunet": (resunet, RESUNET_ROLES),
    "xception": (xception_unet, {}),
    "strided": (strided_unet, STRIDED_ROLES),
    "rgb_softmax": (rgb_softmax_unet, RGB_ROLES),
    "any_size": (any_size_unet, ANY_ROLES),
    "unetpp": (unet_plus_plus, UNETPP_ROLES),
    "attention": (attention_unet, ATTENTION_ROLES),
    "unet2015": (unet_2015, UNET2015_ROLES),
    "dilated": (dilated_bilinear_unet, DILATED_ROLES),
    "preprocessing": (preprocessing_unet, PREPROC_ROLES),
    "nested": (nested_blocks_unet, NESTED_ROLES),
}
