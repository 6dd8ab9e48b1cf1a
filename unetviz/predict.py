"""Predict a whole image of any size with any image-to-image Keras model.

A model that takes the image's size gets it in one pass, its borders mirrored
out to the nearest size it accepts. Otherwise, as in the U-Net paper
(Ronneberger et al. 2015, figure 2), the image is mirrored at its borders and
cut into tiles of a size the model accepts:

- a valid-convolution U-Net gives back a smaller tile, centred in its input;
  the output tiles are laid side by side without seams;
- a same-size U-Net's tiles overlap, and the overlaps are blended with a
  raised-cosine ramp, so no tile's border pixels stand alone.

Sizes are worked out symbolically (no pixels are computed) and cached per
model. Only ``keras.ops`` and model calls are used, so this runs on any Keras 3
backend. Importing this module imports Keras.
"""

from __future__ import annotations

import math
import os
import threading
import weakref
from dataclasses import dataclass

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from unetviz.data import dihedral, undihedral  # noqa: E402

MAX_PIXELS = 1024 * 1024  # largest input predicted in one pass; larger ones are tiled
DEFAULT_TILE = 512  # input tile side for open-size models when tiling
SEARCH = 64  # sizes tried above or below a requested one

_lock = threading.Lock()
_sizes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> {(h, w): size}
_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> (probe, entries)


@dataclass(frozen=True, eq=False)
class Prediction:
    """A model's output over a whole image.

    ``prob`` is (H, W, C_out) float32, pixel for pixel aligned with the (H, W)
    input. ``method`` is "whole" or "overlap-tile"; ``tile`` the input tile's
    (height, width); ``tiles`` the number of tiles in one pass (one pass per
    rotation/flip with ``tta``); ``note`` a sentence for the page.
    """

    prob: np.ndarray
    method: str
    tile: tuple[int, int]
    tiles: int
    tta: bool
    note: str


# ------------------------------------------------------------ sizes


def _declared(model) -> tuple:
    """The model's input (height, width, channels); None where open."""
    shape = tuple(model.inputs[0].shape)
    return shape[1], shape[2], shape[3]


def _probe(model):
    """A model whose outputs are the inputs of each Concatenate and nested model, built once.

    Keras' symbolic shapes let a Concatenate join mismatched spatial sizes
    (it checks them only when first built), so the sizes are checked here.
    """
    with _lock:
        if model in _probes:
            return _probes[model]
    entries, tensors = [], []
    for layer in model.layers:
        if not isinstance(layer, (keras.layers.Concatenate, keras.Model)):
            continue
        ins = _outer_inputs(model, layer)
        if ins:
            entries.append((layer, len(tensors), len(ins)))
            tensors.extend(ins)
    probe = None
    if tensors:
        try:
            probe = keras.Model(model.inputs, tensors)
        except Exception:  # noqa: BLE001 - then only the model's own shape rules apply
            entries = []
    with _lock:
        _probes[model] = (probe, entries)
    return probe, entries


def _outer_inputs(model, layer) -> list:
    """The tensors ``layer`` was called on in ``model``'s graph; [] when not found."""
    if not isinstance(layer, keras.Model):
        try:
            ins = layer.input
        except Exception:  # noqa: BLE001 - a layer called twice has no single input
            return []
        return list(ins) if isinstance(ins, (list, tuple)) else [ins]
    # A nested model's .input is its own graph's input, not the tensor it was
    # called on here; its call nodes have that (one per model it is used in).
    for node in getattr(layer, "_inbound_nodes", []):
        ins = list(node.input_tensors)
        try:
            keras.Model(model.inputs, ins)
        except Exception:  # noqa: BLE001 - a call in another model's graph
            continue
        return ins
    return []


def _symbolic(model, shapes: list) -> list | None:
    """The output shapes of ``model`` for input ``shapes``, or None when it cannot take them."""
    specs = [keras.KerasTensor(shape) for shape in shapes]
    specs = specs[0] if len(specs) == 1 else specs
    try:
        out = model.compute_output_spec(specs)
    except Exception:  # noqa: BLE001 - Keras says no in many ways
        return None
    probe, entries = _probe(model)
    if probe is not None:
        try:
            inner = probe.compute_output_spec(specs)
        except Exception:  # noqa: BLE001
            return None
        inner = inner if isinstance(inner, (list, tuple)) else [inner]
        for layer, start, n in entries:
            got = [tuple(t.shape) for t in inner[start:start + n]]
            if isinstance(layer, keras.Model):
                if _symbolic(layer, got) is None:
                    return None
            elif not _concat_ok(got, layer.axis):
                return None
    out = out if isinstance(out, (list, tuple)) else [out]
    return [tuple(t.shape) for t in out]


def _concat_ok(shapes: list, axis: int) -> bool:
    """Whether shapes agree on every axis but the batch and the joined one."""
    rank = len(shapes[0])
    axis = axis % rank
    for dim in range(1, rank):
        if dim == axis:
            continue
        sizes = {s[dim] for s in shapes if s[dim] is not None}
        if len(sizes) > 1:
            return False
    return True


def output_size(model, h: int, w: int) -> tuple[int, int] | None:
    """The output's (height, width) for an (h, w) input, or None if the model cannot take it.

    Worked out symbolically, without computing a pixel, and cached per model.

    Examples
    --------
    >>> import keras
    >>> x = keras.Input((None, None, 1))
    >>> m = keras.Model(x, keras.layers.Conv2D(1, 3)(x))  # one valid 3x3 convolution
    >>> output_size(m, 10, 12)
    (8, 10)
    """
    h, w = int(h), int(w)
    if h < 1 or w < 1:
        return None
    with _lock:
        cache = _sizes.setdefault(model, {})
        if (h, w) in cache:
            return cache[(h, w)]
    dh, dw, c = _declared(model)
    result = None
    if (dh is None or dh == h) and (dw is None or dw == w):
        outs = _symbolic(model, [(1, h, w, c or 1)])
        out = outs[0] if outs is not None and len(outs) == 1 else None
        if out is not None and len(out) == 4 and out[1] is not None and out[2] is not None \
                and 0 < out[1] <= h and 0 < out[2] <= w:
            result = (int(out[1]), int(out[2]))
    with _lock:
        cache[(h, w)] = result
    return result


def _candidates(n: int, declared, at_least: bool, search: int) -> list[int]:
    if declared is not None:
        return [declared]
    if at_least:
        return list(range(max(n, 1), max(n, 1) + search + 1))
    return list(range(n, max(n - search, 0), -1))


def accepted_size(model, h: int, w: int, *, at_least: bool = True,
                  search: int = SEARCH) -> tuple[int, int] | None:
    """The input size nearest (h, w) that the model accepts, or None.

    A fixed-size model accepts only its own size, which is returned whatever
    (h, w) is. For open sizes, up to ``search`` sizes at or above (h, w)
    (``at_least=True``) or at or below it are tried on each axis.

    Examples
    --------
    >>> import keras
    >>> x = keras.Input((None, None, 1))
    >>> up = keras.layers.UpSampling2D(2)(keras.layers.MaxPooling2D(2)(x))
    >>> y = keras.layers.Concatenate()([x, up])  # a skip across one pooling: even sizes
    >>> accepted_size(keras.Model(x, y), 33, 46)
    (34, 46)
    """
    dh, dw, _ = _declared(model)
    hs = _candidates(int(h), dh, at_least, search)
    ws = _candidates(int(w), dw, at_least, search)
    if dh is not None and dw is not None:
        return (dh, dw) if output_size(model, dh, dw) is not None else None
    # Each axis usually follows its own rule: find a width that works with
    # some height (squares first), then the nearest height for that width and
    # the nearest width for that height.
    if dw is not None:
        probe = dw
    else:
        probe = next((s for s in hs if output_size(model, s, s) is not None), None)
    if probe is not None:
        hh = next((n for n in hs if output_size(model, n, probe) is not None), None)
        if hh is not None:
            ww = next((n for n in ws if output_size(model, hh, n) is not None), None)
            if ww is not None:
                return hh, ww
    for hh in hs[:16]:  # axes that depend on each other: try pairs near (h, w)
        for ww in ws[:16]:
            if output_size(model, hh, ww) is not None:
                return hh, ww
    return None


def output_offset(model, h: int, w: int) -> tuple[int, int]:
    """Where output pixel (0, 0) sits in the (h, w) input: (top, left).

    A valid-convolution U-Net loses the same margin on every side, so its
    output is centred: ``((h - h_out) // 2, (w - w_out) // 2)``. A same-size
    model gives (0, 0).

    >>> import keras
    >>> x = keras.Input((None, None, 1))
    >>> output_offset(keras.Model(x, keras.layers.Conv2D(1, 5)(x)), 20, 20)
    (2, 2)
    """
    out = output_size(model, h, w)
    if out is None:
        raise ValueError(f"The model does not take a {h}x{w} input.")
    return (h - out[0]) // 2, (w - out[1]) // 2


def to_model_range(image01, scale: float = 1.0) -> np.ndarray:
    """``image01`` (values in [0, 1]) in the range a model expects: times 255 for 0-255 models.

    >>> to_model_range(np.array([0.0, 0.5, 1.0]), 255).tolist()
    [0.0, 127.5, 255.0]
    """
    scale = float(scale)
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"The input scale must be a positive number such as 1 or 255, not {scale}.")
    return (np.asarray(image01, dtype=np.float32) * np.float32(scale)).astype(np.float32)


# ------------------------------------------------------------ planning


@dataclass(frozen=True)
class _Plan:
    tile: tuple[int, int]  # input tile (height, width)
    out: tuple[int, int]  # output tile (height, width)
    offset: tuple[int, int]  # output (0, 0) in tile coordinates
    stride: tuple[int, int]  # between tiles, in output pixels
    count: tuple[int, int]  # tiles down, across
    origin: tuple[int, int]  # image coordinates of the first output tile's (0, 0); <= 0
    pad: tuple[tuple[int, int], tuple[int, int]]  # mirrored rows/cols before, after
    overlap: tuple[int, int]


def _whole_size(model, h: int, w: int):
    """The smallest accepted input whose output covers (h, w), or None."""
    size = accepted_size(model, h, w)
    for _ in range(8):
        if size is None:
            return None
        out = output_size(model, *size)
        if out[0] >= h and out[1] >= w:
            return size
        grown = accepted_size(model, size[0] + max(h - out[0], 0), size[1] + max(w - out[1], 0))
        if grown == size:
            return None
        size = grown
    return None


def _tile_size(model, tile, h: int, w: int):
    """The input tile for tiling an (h, w) image."""
    dh, dw, _ = _declared(model)
    if tile is None:
        th = dh or min(DEFAULT_TILE, h + 64)
        tw = dw or min(DEFAULT_TILE, w + 64)
    elif isinstance(tile, int):
        th = tw = tile
    else:
        th, tw = tile
    size = accepted_size(model, th, tw, at_least=False) or accepted_size(model, th, tw)
    if size is None:
        raise ValueError(
            f"The model accepts no input size near {th}x{tw}, so the image cannot be tiled. "
            "Check that it is a fully convolutional image-to-image model."
        )
    return size


def _axis(n: int, tile: int, out: int, offset: int, overlap: int):
    """Tiling of one axis: (stride, count, origin, pad_before, pad_after)."""
    stride = out - overlap
    count = 1 if n <= out else math.ceil((n - out) / stride) + 1
    covered = (count - 1) * stride + out
    origin = -((covered - n) // 2)  # centre the covered span on the image
    before = offset - origin
    after = (count - 1) * stride + tile - n - before
    return stride, count, origin, before, after


def _plan(model, h: int, w: int, tile, overlap, max_pixels: int) -> _Plan:
    whole = _whole_size(model, h, w) if tile is None else None
    if whole is not None and whole[0] * whole[1] <= max_pixels:
        size = whole
    else:
        size = _tile_size(model, tile, h, w)
    out = output_size(model, *size)
    offset = output_offset(model, *size)
    if overlap is None:
        # Valid nets' output tiles meet without seams; same-size nets' tile
        # borders saw zero padding, so their tiles overlap by a quarter.
        ov = tuple(0 if o < t else o // 4 for o, t in zip(out, size))
    else:
        ov = (int(overlap),) * 2
    if any(v < 0 or v >= o for v, o in zip(ov, out)):
        raise ValueError(f"The overlap must be between 0 and {min(out) - 1} pixels for "
                         f"{out[0]}x{out[1]} output tiles.")
    axes = [_axis(n, t, o, f, v) for n, t, o, f, v in zip((h, w), size, out, offset, ov)]
    return _Plan(tile=size, out=out, offset=offset, stride=(axes[0][0], axes[1][0]),
                 count=(axes[0][1], axes[1][1]), origin=(axes[0][2], axes[1][2]),
                 pad=((axes[0][3], axes[0][4]), (axes[1][3], axes[1][4])), overlap=ov)


def _ramp(n: int, overlap: int) -> np.ndarray:
    """(n,) weights: 1 inside, a raised-cosine ramp over ``overlap`` pixels at each end.

    Where two tiles overlap, one's ramp down and the other's ramp up add to 1.
    """
    weight = np.ones(n, np.float64)
    if overlap:
        d = np.arange(overlap, dtype=np.float64)
        up = np.sin(np.pi * (d + 0.5) / (2 * overlap)) ** 2
        weight[:overlap] = up
        weight[n - overlap:] = np.minimum(weight[n - overlap:], up[::-1])
    return weight


# ------------------------------------------------------------ prediction


def _call(model, x: np.ndarray) -> np.ndarray:
    """model(x) for an (N, h, w, C) batch as float32 NumPy, errors as ValueError."""
    try:
        y = model(x, training=False)
        if isinstance(y, (list, tuple)):
            y = y[0]
        return np.asarray(keras.ops.convert_to_numpy(y), dtype=np.float32)
    except MemoryError:
        raise ValueError(
            f"The model ran out of memory on {x.shape[0]} tile(s) of {x.shape[1]}x{x.shape[2]}. "
            "Predict with smaller tiles or a smaller batch."
        ) from None
    except Exception as exc:  # noqa: BLE001 - backends raise many kinds
        text = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise ValueError(
            f"The model could not predict a {x.shape[1]}x{x.shape[2]} input ({text}). Try another "
            "tile size, a smaller batch, or check that the model fits the image."
        ) from None


def _run(model, image: np.ndarray, plan: _Plan, batch: int) -> np.ndarray:
    """The (H, W, C_out) output of ``plan`` over ``image`` (H, W, C)."""
    h, w = image.shape[:2]
    padded = np.pad(image, (*plan.pad, (0, 0)), mode="reflect" if min(h, w) > 1 else "edge")
    (th, tw), (oh, ow) = plan.tile, plan.out
    (sh, sw), (nh, nw) = plan.stride, plan.count
    starts = [(i * sh, j * sw) for i in range(nh) for j in range(nw)]  # in padded input pixels
    if len(starts) == 1:
        y = _call(model, padded[None])[0]  # (oh, ow, C_out)
        top, left = -plan.origin[0], -plan.origin[1]
        return np.ascontiguousarray(y[top:top + h, left:left + w])
    weight = np.outer(_ramp(oh, plan.overlap[0]), _ramp(ow, plan.overlap[1]))[:, :, None]
    total = weights = None
    for b in range(0, len(starts), batch):
        chunk = starts[b:b + batch]
        x = np.stack([padded[r:r + th, c:c + tw] for r, c in chunk])  # (n, th, tw, C)
        y = _call(model, x)  # (n, oh, ow, C_out)
        if total is None:
            cov_h, cov_w = (nh - 1) * sh + oh, (nw - 1) * sw + ow
            total = np.zeros((cov_h, cov_w, y.shape[-1]), np.float64)
            weights = np.zeros((cov_h, cov_w, 1), np.float64)
        for (r, c), yt in zip(chunk, y):
            total[r:r + oh, c:c + ow] += yt * weight
            weights[r:r + oh, c:c + ow] += weight
    top, left = -plan.origin[0], -plan.origin[1]
    avg = total[top:top + h, left:left + w] / weights[top:top + h, left:left + w]
    return avg.astype(np.float32)


def _as_image(model, image) -> np.ndarray:
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 2:
        a = a[:, :, None]  # (H, W) -> (H, W, 1)
    if a.ndim != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(f"Expected an image of shape (H, W, C); got {np.shape(image)}.")
    want = _declared(model)[2]
    if want is not None and a.shape[2] != want:
        raise ValueError(
            f"The model takes {want} channel(s) but the image has {a.shape[2]}. "
            + ("Load the image in colour (channels=3)." if want == 3 else
               "Load the image in grayscale." if want == 1 else "")
        )
    if not np.all(np.isfinite(a)):
        raise ValueError("The image holds values that are not numbers (NaN or infinity).")
    return a


def _note(plan: _Plan, tta: bool, h: int, w: int) -> str:
    (th, tw), (oh, ow) = plan.tile, plan.out
    n = plan.count[0] * plan.count[1]
    if n == 1:
        note = f"Predicted in one pass at {th}x{tw}"
        if (th, tw) != (oh, ow):
            note += f" ({oh}x{ow} out, centred)"
        note += "." if (oh, ow) == (h, w) else f", the {h}x{w} image mirrored at its borders."
    else:
        note = (f"Overlap-tile prediction: {n} tiles of {th}x{tw}"
                + (f" ({oh}x{ow} out)" if (th, tw) != (oh, ow) else "")
                + " with mirrored borders")
        if any(plan.overlap):
            note += (f", overlapping by {plan.overlap[0]}x{plan.overlap[1]} px and blended "
                     "with a raised-cosine ramp.")
        else:
            note += ", the output tiles laid side by side."
    if tta:
        note += " Averaged over the 8 rotations and flips (8 times the work)."
    return note


def predict_image(model, image, *, tta: bool = False, tile=None, overlap: int | None = None,
                  batch: int = 4, max_pixels: int = MAX_PIXELS) -> Prediction:
    """Predict ``image`` (H, W, C), already in the model's input range, at its own resolution.

    One pass when the model takes the image (mirrored out to an accepted size
    if needed) within ``max_pixels``; otherwise overlap-tile prediction with
    tiles of ``tile`` (an int or (height, width); default the model's fixed
    size or about 512) overlapping by ``overlap`` output pixels (default 0 for
    valid-convolution models, a quarter of a tile for same-size ones), run
    ``batch`` tiles at a time. ``tta`` averages over the 8 rotations and flips,
    each turned back. Raises ValueError with a sentence when it cannot predict.

    Examples
    --------
    >>> import keras
    >>> x = keras.Input((16, 16, 1))
    >>> m = keras.Model(x, keras.layers.Conv2D(1, 1)(x))
    >>> p = predict_image(m, np.zeros((40, 56, 1), np.float32))
    >>> p.prob.shape, p.method
    ((40, 56, 1), 'overlap-tile')
    """
    if batch < 1 or max_pixels < 1:
        raise ValueError("batch and max_pixels must be at least 1.")
    x = _as_image(model, image)
    h, w = x.shape[:2]
    total, first = None, None
    for k in range(8) if tta else (0,):
        xk = np.ascontiguousarray(dihedral(x, k))  # (H, W, C) or (W, H, C)
        plan = _plan(model, xk.shape[0], xk.shape[1], tile, overlap, max_pixels)
        first = first or plan
        yk = undihedral(_run(model, xk, plan, batch), k)  # back to (H, W, C_out)
        total = yk.astype(np.float64) if total is None else total + yk
    prob = (total / (8 if tta else 1)).astype(np.float32)
    n = first.count[0] * first.count[1]
    return Prediction(prob=prob, method="whole" if n == 1 else "overlap-tile", tile=first.tile,
                      tiles=n, tta=bool(tta), note=_note(first, tta, h, w))
