"""One pixel's input gradient, computed on the part of the window that can reach it.

The gradient of a layer's pixel is zero outside its receptive field, and inside
it depends only on the pixels of that field. So it is computed on a crop of the
window around the field, aligned to the model's down-sampling grid and cut to a
size the model takes: convolutions and poolings then see exactly the pixels
(and, at the image's borders, exactly the padding) they see in the whole
window, and a 512x512 window's deep-layer gradient costs a fraction of a full
backward pass. Whenever the crop cannot be shown to line up (a model that is
not shift-equivariant, a fixed input size), the whole window is used.
"""

from __future__ import annotations

import numpy as np

from unetviz.predict import accepted_size


def _span(lo: int, hi: int, n: int, align: int) -> tuple[int, int]:
    """Rows ``a0 .. a1 - 1`` covering ``lo .. hi`` with a margin of ``align``, ``a0`` on the grid;
    a field that touches the image's border keeps that border (it reads the same padding)."""
    a0 = 0 if lo <= 0 else max((lo - align) // align * align, 0)
    a1 = n if hi >= n - 1 else min(-(-(hi + 1 + align) // align) * align, n)
    return a0, a1


def _strides(full: dict, part: dict, grew_in: int, axis: int) -> dict[str, int] | None:
    """Each spatial layer's stride along one axis: the input grew by ``grew_in`` pixels between
    the crop (``part`` shapes) and the window (``full``), the layer by that over its stride.
    None when some layer does not follow (it is not shift-equivariant)."""
    strides = {}
    for name, shape in full.items():
        if len(shape) != 3:
            continue
        grew = shape[axis] - part[name][axis]
        if grew <= 0 or grew_in % grew:
            return None
        strides[name] = grew_in // grew
    return strides


def local_gradient(ins, x: np.ndarray, name: str, row: int, col: int, *, channel: int | None,
                   field) -> np.ndarray:
    """``ins.input_gradient(x, name, row, col, channel=channel)``, (H, W) float32, from a crop.

    ``field`` is ``ins.receptive_field(name, row, col, size=x.shape[:2])``.
    """
    h, w = x.shape[:2]

    def whole():
        return ins.input_gradient(x, name, row, col, channel=channel)

    if ins.input_shape[0] is not None or ins.input_shape[1] is not None:
        return whole()
    align = max(int(ins.multiple), 1)
    (a0, a1), (b0, b1) = _span(field.top, field.bottom, h, align), _span(field.left, field.right, w, align)
    size = accepted_size(ins.model, a1 - a0, b1 - b0)
    if size is None or size[0] >= h and size[1] >= w:
        return whole()
    a0, b0 = min(a0, max(h - size[0], 0)), min(b0, max(w - size[1], 0))  # grow down and right
    a1, b1 = a0 + size[0], b0 + size[1]
    if a1 > h or b1 > w:
        return whole()
    shift = []
    for axis, (start, grew_in) in enumerate(((a0, h - size[0]), (b0, w - size[1]))):
        if grew_in == 0:
            shift.append(0)
            continue
        try:
            strides = _strides(ins.shapes((h, w)), ins.shapes(size), grew_in, axis)
        except ValueError:
            return whole()
        # Every pooling grid must line up: the crop starts on the coarsest layer's grid.
        if strides is None or name not in strides or start % max(strides.values()):
            return whole()
        shift.append(start // strides[name])
    r, c = row - shift[0], col - shift[1]
    part_shape = ins.shapes(size)[name]
    if not (0 <= r < part_shape[0] and 0 <= c < part_shape[1]):
        return whole()
    grad = np.zeros((h, w), np.float32)  # (H, W): zero outside the crop, as outside the field
    grad[a0:a1, b0:b1] = ins.input_gradient(x[a0:a1, b0:b1], name, r, c, channel=channel)
    return grad
