"""Which input pixels drove a region of a segmentation output.

Pick a region of the output, as a box (:func:`region_mask_box`) or as the
predicted mask of one class (:func:`region_mask_class`), then ask either

- :func:`region_gradient`: the gradient of the region's mean score with respect
  to the input, a saliency map at full input resolution; or
- :func:`seg_grad_cam`: Seg-Grad-CAM (Vinogradova, Dibrov and Myers 2020, "Towards
  Interpretable Semantic Segmentation via Gradient-weighted Class Activation
  Mapping"), which weighs a chosen layer's channels by how much the region's
  score depends on them.

The maths is ``keras.ops``; the one backend switch for gradients lives in
:mod:`unetviz._grad`, so both run on TensorFlow, JAX and torch. Masks are
(H', W') bool arrays in output coordinates, which may be smaller than the input
for valid-convolution U-Nets. Importing this module imports Keras.
"""

from __future__ import annotations

import os
import weakref
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
from keras import ops  # noqa: E402

from unetviz._grad import gradient  # noqa: E402

_HEADS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # tap model -> (x, A) -> Y model


@dataclass(frozen=True)
class SegGradCAM:
    """Seg-Grad-CAM of one region, with the pieces it is made of."""

    heat: np.ndarray  # (H, W) float32 in [0, 1]: the map up-sampled to the input and scaled by its max
    low_res: np.ndarray  # (h, w) float32: ReLU(sum_k alpha_k A_k) at the layer's own size, unscaled
    weights: np.ndarray  # (K,) float32: alpha_k, the mean over (h, w) of dy/dA_k


def region_mask_box(shape, top: int, left: int, bottom: int, right: int) -> np.ndarray:
    """A box of the output as an (H', W') bool mask: rows ``top:bottom``, columns ``left:right``.

    ``shape`` is the output's (H', W') (further axes are ignored). Like a slice,
    ``bottom`` and ``right`` are excluded.

    >>> region_mask_box((3, 4), 1, 1, 3, 3).astype(int).tolist()
    [[0, 0, 0, 0], [0, 1, 1, 0], [0, 1, 1, 0]]
    """
    if len(shape) < 2:
        raise ValueError(f"The shape must be the output's (H, W); got {tuple(shape)}.")
    h, w = int(shape[0]), int(shape[1])
    if not (0 <= top < bottom <= h and 0 <= left < right <= w):
        raise ValueError(
            f"The box rows {top}:{bottom}, columns {left}:{right} must be non-empty and inside "
            f"the {h}x{w} output (0 <= top < bottom <= {h}, 0 <= left < right <= {w})."
        )
    mask = np.zeros((h, w), dtype=bool)
    mask[top:bottom, left:right] = True
    return mask


def region_mask_class(prob, class_index: int, *, threshold: float = 0.5) -> np.ndarray:
    """The pixels predicted as one class, as an (H', W') bool mask.

    ``prob`` is the model's output for one image: (H', W') or (H', W', 1) for a
    sigmoid output, where class 1 ("foreground") is ``prob >= threshold`` and
    class 0 the rest; or (H', W', C) with C >= 2 for a softmax output, where a
    pixel belongs to the class with the highest probability.

    >>> region_mask_class(np.array([[0.2, 0.7]]), 1).tolist()
    [[False, True]]
    """
    p = np.asarray(prob)
    if p.ndim == 3 and p.shape[-1] == 1:
        p = p[..., 0]  # (H', W', 1) -> (H', W')
    if p.ndim == 2:
        if class_index not in (0, 1):
            raise ValueError(f"A sigmoid output has classes 0 and 1; got class {class_index}.")
        fg = p >= threshold
        return fg if class_index == 1 else ~fg
    if p.ndim != 3:
        raise ValueError(f"The output must be (H, W) or (H, W, C) for one image; got shape {p.shape}.")
    if not 0 <= class_index < p.shape[-1]:
        raise ValueError(f"The output has classes 0 to {p.shape[-1] - 1}; got class {class_index}.")
    return np.argmax(p, axis=-1) == class_index


def region_gradient(model, x, mask, *, channel: int = 0) -> np.ndarray:
    """d(mean of output ``channel`` over the region) / d(input), summed over input channels.

    ``model`` maps (1, H, W, C) to (1, H', W', C'); ``x`` is one (H, W, C) image
    ((H, W) counts as one channel); ``mask`` is an (H', W') bool region of the
    output. Returns an (H, W) float32 map: where it is non-zero is what the
    region saw, its sign says which way a brighter pixel pushes the score.

    >>> inp = keras.Input((4, 4, 1))
    >>> m = keras.Model(inp, keras.layers.Conv2D(1, 1, kernel_initializer="ones")(inp))
    >>> g = region_gradient(m, np.ones((4, 4, 1), np.float32), region_mask_box((4, 4), 0, 0, 2, 2))
    >>> g[:2, :3].tolist()
    [[0.25, 0.25, 0.0], [0.25, 0.25, 0.0]]
    """
    xb = _batch(x)
    weight = _region_weight(mask) / float(np.count_nonzero(mask))  # (H', W'): 1/|R| inside

    def score(v):
        y = model(v, training=False)  # (1, H', W', C')
        _check_output(y, weight.shape, channel)
        return ops.sum(y[0, :, :, channel] * weight)

    grad = gradient(score, xb)  # (1, H, W, C)
    return np.asarray(grad, np.float32)[0].sum(axis=-1)


def seg_grad_cam(tap_model, x, mask, *, channel: int = 0) -> np.ndarray:
    """Seg-Grad-CAM of a region for one layer: an (H, W) float32 map in [0, 1].

    ``tap_model`` is a functional model mapping the input to ``[A, Y]``: the chosen
    layer's activations A (1, h, w, K) and the model's output Y (1, H', W', C'),
    e.g. ``keras.Model(model.inputs[0], [model.get_layer(name).output, model.output])``.
    With y the sum of ``Y[..., channel]`` over the region ``mask`` (H', W'),
    alpha_k is the mean over (h, w) of dy/dA_k and the map is
    ReLU(sum_k alpha_k A_k), resized bilinearly to the input's (H, W) and divided
    by its maximum (a map that is zero everywhere stays zero). The map is
    stretched over the whole input, also where a valid-convolution net's layer
    covers only its centre. :func:`seg_grad_cam_details` gives the pieces.
    """
    return seg_grad_cam_details(tap_model, x, mask, channel=channel).heat


def seg_grad_cam_details(tap_model, x, mask, *, channel: int = 0) -> SegGradCAM:
    """:func:`seg_grad_cam` with the low-resolution map and the channel weights alpha_k."""
    xb = _batch(x)
    weight = _region_weight(mask)  # (H', W'): 1 inside; the paper sums over the region
    if len(tap_model.outputs) != 2:
        raise ValueError("The tap model must give [layer activations, output]; "
                         f"it gives {len(tap_model.outputs)} outputs.")
    xt = ops.convert_to_tensor(xb)
    acts, _ = tap_model(xt, training=False)
    if len(acts.shape) != 4:
        raise ValueError(f"The chosen layer must give (1, h, w, K) activations; got {tuple(acts.shape)}.")
    head = _head(tap_model)

    def score(a):
        y = head([xt, a], training=False)  # (1, H', W', C'), computed from the activations a
        _check_output(y, weight.shape, channel)
        return ops.sum(y[0, :, :, channel] * weight)

    a = np.asarray(acts, np.float32)  # (1, h, w, K)
    grad = gradient(score, a)  # (1, h, w, K)
    alpha = ops.mean(ops.convert_to_tensor(grad[0]), axis=(0, 1))  # (K,)
    low = ops.relu(ops.sum(ops.convert_to_tensor(a[0]) * alpha, axis=-1))  # (h, w)
    big = ops.image.resize(low[None, :, :, None], xb.shape[1:3], interpolation="bilinear")[0, :, :, 0]
    low, big = np.asarray(low, np.float32), np.asarray(big, np.float32)
    top = float(big.max()) if big.size else 0.0
    heat = np.clip(big / top, 0.0, 1.0) if top > 0 else np.zeros_like(big)
    return SegGradCAM(heat=heat.astype(np.float32), low_res=low, weights=np.asarray(alpha, np.float32))


def _head(tap_model):
    """The model (x, A) -> Y that recomputes the output from given activations A, built once per tap model."""
    head = _HEADS.get(tap_model)
    if head is None:
        try:
            head = keras.Model([tap_model.inputs[0], tap_model.outputs[0]], tap_model.outputs[1])
        except (ValueError, TypeError, AttributeError) as err:
            raise ValueError(
                "Seg-Grad-CAM needs a functional tap model whose first output is a layer of the same "
                f"graph as its second; this one cannot be split there ({err})."
            ) from err
        _HEADS[tap_model] = head
    return head


def _batch(x) -> np.ndarray:
    """One (H, W, C) or (H, W) image as a (1, H, W, C) float32 batch."""
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]  # (H, W) -> (H, W, 1)
    if a.ndim != 3:
        raise ValueError(f"The input must be one (H, W, C) image; got shape {a.shape}.")
    return a[None]


def _region_weight(mask) -> np.ndarray:
    """A region mask as float32 weights, checked to be a non-empty (H', W') array."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"The region must be an (H, W) mask of the output; got shape {m.shape}.")
    if not m.any():
        raise ValueError("The region is empty: select at least one output pixel.")
    return (m != 0).astype(np.float32)


def _check_output(y, region_shape, channel: int) -> None:
    """Raise ValueError unless the output y (1, H', W', C') fits the region and has ``channel``."""
    if len(y.shape) != 4:
        raise ValueError(f"The model must give (1, H, W, C) outputs; it gives {tuple(y.shape)}.")
    if tuple(y.shape[1:3]) != tuple(region_shape):
        raise ValueError(
            f"The region is {region_shape[0]}x{region_shape[1]} but the output is "
            f"{y.shape[1]}x{y.shape[2]}: make the mask in output coordinates."
        )
    if not 0 <= channel < y.shape[-1]:
        raise ValueError(f"The output has channels 0 to {y.shape[-1] - 1}; got {channel}.")
