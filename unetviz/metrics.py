"""Segmentation scores in NumPy, with the membrane (label 0) as the positive class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scores:
    pixel_error: float  # fraction of pixels whose class is wrong
    dice: float  # membrane Dice: 2|P n T| / (|P| + |T|)
    iou: float  # membrane intersection over union


def segmentation_scores(prob, label, threshold: float = 0.5) -> Scores:
    """Scores of a cell-probability map ``prob`` against a 0/1 ``label``.

    Both are arrays of the same shape; a pixel is membrane where its value is
    below ``threshold`` (``label`` is binarised at 0.5).

    >>> segmentation_scores(np.array([0.1, 0.9]), np.array([0, 1]))
    Scores(pixel_error=0.0, dice=1.0, iou=1.0)
    """
    prob, label = np.asarray(prob), np.asarray(label)
    if prob.shape != label.shape:
        raise ValueError(f"Prediction {prob.shape} and label {label.shape} differ in shape.")
    p = prob < threshold
    t = label < 0.5
    inter = np.logical_and(p, t).sum()
    union = np.logical_or(p, t).sum()
    total = p.sum() + t.sum()
    return Scores(
        pixel_error=float(np.mean(p != t)),
        dice=float(2 * inter / total) if total else 1.0,
        iou=float(inter / union) if union else 1.0,
    )
