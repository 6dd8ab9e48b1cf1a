"""Segmentation scores in NumPy: pixel scores with the membrane (label 0) as the positive
class, the ISBI 2012 challenge's cell-segmentation scores, and per-class scores.

The challenge (Arganda-Carreras et al. 2015, "Crowdsourcing the creation of image
segmentation algorithms for connectomics") ranks a membrane map by how well the
cells it encloses match the true cells. Both maps become label images: each
4-connected region of "cell" pixels is one segment. The scores are
foreground-restricted: only pixels that are cell in the ground truth count.

- V_rand: with n_ij the number of those pixels in true cell i and predicted
  segment j, t_i and s_j the row and column sums, the split score
  ``sum n_ij^2 / sum t_i^2`` and the merge score ``sum n_ij^2 / sum s_j^2``, and
  V_rand their harmonic mean.
- V_info: with I(S; T) the mutual information of the predicted (S) and true (T)
  segments, the split score ``I / H(S)`` and the merge score ``I / H(T)``, and
  V_info their harmonic mean.

Label 0 is handled as scikit-image's ``adapted_rand_error`` and
``variation_of_information`` (with ``ignore_labels=(0,)``) handle it, which the
tests check: true label 0 (membrane) is left out; predicted membrane inside a true
cell is one more predicted segment. Sums of squares count pairs of distinct pixels
(``n^2 - n``) as there. Where there is nothing to tell apart (no true cell, or
every segment a single pixel, or a single segment on both sides) a score is 1.0.
The challenge's final ranking also thinned the predicted membranes to one pixel
and took the best score over thresholds; these functions score one threshold as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class Scores:
    pixel_error: float  # fraction of pixels whose class is wrong
    dice: float  # membrane Dice: 2|P n T| / (|P| + |T|)
    iou: float  # membrane intersection over union
    v_rand: float = math.nan  # ISBI 2012 foreground-restricted Rand score of the cells, 1 = perfect
    v_info: float = math.nan  # ISBI 2012 foreground-restricted information score of the cells


@dataclass(frozen=True)
class SplitMerge:
    """A challenge score with the two halves it is the harmonic mean of (all in [0, 1])."""

    score: float  # 2 * split * merge / (split + merge)
    split: float  # 1 when no true cell is cut into pieces
    merge: float  # 1 when no two true cells are joined


def segmentation_scores(prob, label, threshold: float = 0.5) -> Scores:
    """Scores of a cell-probability map ``prob`` against a 0/1 ``label``.

    Both are arrays of the same shape; a pixel is membrane where its value is
    below ``threshold`` (``label`` is binarised at 0.5). ``v_rand`` and ``v_info``
    are :func:`v_rand` and :func:`v_info`.

    >>> segmentation_scores(np.array([0.1, 0.9]), np.array([0, 1]))
    Scores(pixel_error=0.0, dice=1.0, iou=1.0, v_rand=1.0, v_info=1.0)
    """
    prob, label = _same_shape(prob, label)
    p = prob < threshold
    t = label < 0.5
    inter = np.logical_and(p, t).sum()
    union = np.logical_or(p, t).sum()
    total = p.sum() + t.sum()
    table = _table(*cell_segments(prob, label, threshold=threshold))
    return Scores(
        pixel_error=float(np.mean(p != t)),
        dice=float(2 * inter / total) if total else 1.0,
        iou=float(inter / union) if union else 1.0,
        v_rand=_rand(table).score,
        v_info=_info(table).score,
    )


def cell_segments(prob, label, *, threshold: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """The (true, predicted) cell label images the challenge scores compare.

    Each 4-connected region of cell pixels (``label >= 0.5``; ``prob >= threshold``)
    gets its own number from 1 up; membrane is 0. Both are int arrays shaped like
    the inputs.

    >>> true, pred = cell_segments(np.array([[0.9, 0.2, 0.8]]), np.array([[1, 1, 1]]))
    >>> true.tolist(), pred.tolist()
    ([[1, 1, 1]], [[1, 0, 2]])
    """
    prob, label = _same_shape(prob, label)
    true, _ = ndimage.label(label >= 0.5)
    pred, _ = ndimage.label(prob >= threshold)
    return true, pred


def v_rand(prob, label, *, threshold: float = 0.5) -> float:
    """The ISBI 2012 foreground-restricted Rand score of a cell-probability map, in [0, 1].

    >>> v_rand(np.array([[0.9, 0.9, 0.1, 0.9]]), np.array([[1, 1, 0, 1]]))
    1.0
    """
    return rand_scores(*cell_segments(prob, label, threshold=threshold)).score


def v_info(prob, label, *, threshold: float = 0.5) -> float:
    """The ISBI 2012 foreground-restricted information-theoretic score, in [0, 1].

    >>> v_info(np.array([[0.9, 0.9, 0.1, 0.9]]), np.array([[1, 1, 0, 1]]))
    1.0
    """
    return info_scores(*cell_segments(prob, label, threshold=threshold)).score


def rand_scores(true_labels, pred_labels) -> SplitMerge:
    """V_rand with its split and merge scores, for two label images (true label 0 left out).

    >>> rand_scores(np.array([1, 1, 1, 1]), np.array([1, 1, 2, 2]))
    SplitMerge(score=0.5, split=0.3333333333333333, merge=1.0)
    """
    return _rand(_table(*_label_pair(true_labels, pred_labels)))


def info_scores(true_labels, pred_labels) -> SplitMerge:
    """V_info with its split and merge scores, for two label images (true label 0 left out).

    >>> info_scores(np.array([1, 1, 2, 2]), np.array([1, 1, 1, 1]))
    SplitMerge(score=0.0, split=1.0, merge=0.0)
    """
    return _info(_table(*_label_pair(true_labels, pred_labels)))


def class_scores(pred_classes, label_classes, n_classes: int) -> list[dict]:
    """Dice and IoU of each class of a multi-class (softmax) prediction.

    ``pred_classes`` and ``label_classes`` are int arrays of the same shape with
    values 0 to ``n_classes - 1`` (e.g. the arg-max of a softmax output). Returns one
    dict per class: ``class``, ``dice``, ``iou``, ``predicted`` and ``true`` (pixel
    counts). A class in neither has no score: Dice and IoU are NaN, so that
    ``np.nanmean`` over classes leaves it out rather than counting it as perfect.

    >>> [(s["dice"], s["iou"]) for s in class_scores(np.array([0, 1, 1]), np.array([0, 0, 1]), 3)]
    [(0.6666666666666666, 0.5), (0.6666666666666666, 0.5), (nan, nan)]
    """
    pred, true = _same_shape(pred_classes, label_classes)
    if int(n_classes) < 1:
        raise ValueError(f"There must be at least one class; got n_classes={n_classes}.")
    for name, a in (("prediction", pred), ("label", true)):
        if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n_classes):
            raise ValueError(f"The {name} must hold integer classes 0 to {n_classes - 1} "
                             "(take the arg-max of a probability map first).")
    pred_n = np.bincount(pred.ravel(), minlength=n_classes)
    true_n = np.bincount(true.ravel(), minlength=n_classes)
    both_n = np.bincount(pred[pred == true].ravel(), minlength=n_classes)
    rows = []
    for c in range(n_classes):
        total, union = pred_n[c] + true_n[c], pred_n[c] + true_n[c] - both_n[c]
        rows.append({
            "class": c,
            "dice": float(2 * both_n[c] / total) if total else math.nan,
            "iou": float(both_n[c] / union) if union else math.nan,
            "predicted": int(pred_n[c]),
            "true": int(true_n[c]),
        })
    return rows


def _same_shape(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both as arrays, or ValueError when their shapes differ."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f"Prediction {a.shape} and label {b.shape} differ in shape.")
    return a, b


def _label_pair(true_labels, pred_labels) -> tuple[np.ndarray, np.ndarray]:
    """Two label images as non-negative int arrays of one shape."""
    true, pred = _same_shape(true_labels, pred_labels)
    for name, a in (("true", true), ("predicted", pred)):
        if not np.issubdtype(a.dtype, np.integer) or (a.size and a.min() < 0):
            raise ValueError(f"The {name} labels must be non-negative integers.")
    return true, pred


def _table(true: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """The non-zero counts n_ij of the contingency table over true-cell pixels, as an (n, 3)
    int64 array of (true label, predicted label, count) rows."""
    keep = true.ravel() != 0  # foreground-restricted: true membrane is left out
    t, p = true.ravel()[keep].astype(np.int64), pred.ravel()[keep].astype(np.int64)  # (N,)
    if not t.size:
        return np.zeros((0, 3), np.int64)
    width = int(p.max()) + 1
    keys, counts = np.unique(t * width + p, return_counts=True)  # one int per (true, pred) pair
    return np.column_stack([keys // width, keys % width, counts])


def _sizes(labels: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Segment sizes: the counts summed per label."""
    _, inverse = np.unique(labels, return_inverse=True)
    return np.bincount(inverse, weights=counts)


def _rand(table: np.ndarray) -> SplitMerge:
    """V_rand from a contingency table, counting pairs of distinct pixels."""
    n = table[:, 2].astype(np.float64)
    total = n.sum()
    t, s = _sizes(table[:, 0], n), _sizes(table[:, 1], n)  # true and predicted segment sizes
    both, true_pairs, pred_pairs = n @ n - total, t @ t - total, s @ s - total
    return _harmonic(both, true_pairs, pred_pairs)


def _info(table: np.ndarray) -> SplitMerge:
    """V_info from a contingency table (entropies in bits)."""
    n = table[:, 2].astype(np.float64)
    if not n.size:
        return SplitMerge(1.0, 1.0, 1.0)
    p = n / n.sum()
    h_true = _entropy(_sizes(table[:, 0], p))
    h_pred = _entropy(_sizes(table[:, 1], p))
    mutual = max(h_true + h_pred - _entropy(p), 0.0)
    return _harmonic(mutual, h_pred, h_true)


def _entropy(p: np.ndarray) -> float:
    """Entropy in bits of a probability vector with no zeros."""
    return float(-(p * np.log2(p)).sum())


def _harmonic(common: float, split_base: float, merge_base: float) -> SplitMerge:
    """split = common / split_base, merge = common / merge_base and their harmonic mean;
    a zero base means nothing to get wrong on that side, scored 1.0."""
    split = min(common / split_base, 1.0) if split_base > 1e-12 else 1.0
    merge = min(common / merge_base, 1.0) if merge_base > 1e-12 else 1.0
    total = split_base + merge_base
    score = min(2 * common / total, 1.0) if total > 1e-12 else 1.0
    return SplitMerge(float(score), float(split), float(merge))
