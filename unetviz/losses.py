"""Losses and metrics for image-to-image training, written against ``keras.ops`` only.

Targets follow the tutorial's convention for the membrane task: 1 = cell
interior (white), 0 = membrane (black). Dice is measured on the membrane
class, the thin structure that matters, so it is computed on ``1 - y``.
"""

from __future__ import annotations

import keras
from keras import ops

LOSSES = ("mse", "bce", "dice", "bce_dice")
LOSS_LABELS = {
    "mse": "Mean squared error (as in the tutorial)",
    "bce": "Binary cross-entropy",
    "dice": "Dice (membrane)",
    "bce_dice": "Binary cross-entropy + Dice",
}


def _soft_dice(y_true, y_pred, smooth=1.0):
    """Soft Dice of the membrane class (value 0) over each image; mean over the batch."""
    t = 1.0 - ops.cast(y_true, y_pred.dtype)
    p = 1.0 - y_pred
    axes = tuple(range(1, len(y_pred.shape)))
    inter = ops.sum(t * p, axis=axes)
    denom = ops.sum(t, axis=axes) + ops.sum(p, axis=axes)
    return ops.mean((2.0 * inter + smooth) / (denom + smooth))


@keras.saving.register_keras_serializable(package="unetviz")
def dice_loss(y_true, y_pred):
    return 1.0 - _soft_dice(y_true, y_pred)


@keras.saving.register_keras_serializable(package="unetviz")
def bce_dice_loss(y_true, y_pred):
    bce = ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))
    return bce + dice_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="unetviz")
def membrane_dice(y_true, y_pred):
    """Hard Dice of the membrane class at threshold 0.5 (a metric, not a loss)."""
    t = ops.cast(y_true < 0.5, "float32")
    p = ops.cast(y_pred < 0.5, "float32")
    inter = ops.sum(t * p)
    return (2.0 * inter + 1e-6) / (ops.sum(t) + ops.sum(p) + 1e-6)


def get_loss(name: str):
    """The Keras loss for one of :data:`LOSSES`."""
    table = {"mse": "mse", "bce": "binary_crossentropy", "dice": dice_loss,
             "bce_dice": bce_dice_loss}
    if name not in table:
        raise ValueError(f"Unknown loss {name!r}; choose from {', '.join(LOSSES)}.")
    return table[name]
