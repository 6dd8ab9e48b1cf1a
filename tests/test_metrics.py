"""unetviz.metrics: hand-worked cases, and the challenge scores against scikit-image."""

import doctest
import math

import numpy as np
import pytest
from scipy import ndimage
from scipy.stats import entropy
from skimage.metrics import adapted_rand_error, variation_of_information

from unetviz import metrics
from unetviz.metrics import (
    Scores,
    cell_segments,
    class_scores,
    info_scores,
    rand_scores,
    segmentation_scores,
    v_info,
    v_rand,
)


def test_doctests():
    assert doctest.testmod(metrics).failed == 0


def test_pixel_scores_hand_worked():
    prob = np.array([[0.1, 0.2, 0.9], [0.8, 0.3, 0.6]])  # membrane where < 0.5: (0,0), (0,1), (1,1)
    label = np.array([[0, 1, 1], [0, 0, 1]])  # membrane: (0,0), (1,0), (1,1)
    s = segmentation_scores(prob, label)
    assert s.pixel_error == pytest.approx(2 / 6)  # (0,1) and (1,0) wrong
    assert s.dice == pytest.approx(2 * 2 / (3 + 3))
    assert s.iou == pytest.approx(2 / 4)


def test_scores_keep_their_constructor():
    assert Scores(0.1, 0.8, 0.7).dice == 0.8
    assert math.isnan(Scores(0.1, 0.8, 0.7).v_rand)


# --- challenge scores, worked by hand -----------------------------------------------------------

TWO_CELLS = np.array([[1, 1, 1, 0, 1, 1, 1]])  # true cells A = {0, 1, 2}, B = {4, 5, 6}


def test_perfect_segmentation_scores_one():
    prob = np.array([[0.9, 0.8, 0.7, 0.1, 0.6, 0.9, 0.9]])
    assert v_rand(prob, TWO_CELLS) == 1.0
    assert v_info(prob, TWO_CELLS) == 1.0
    s = segmentation_scores(prob, TWO_CELLS)
    assert (s.v_rand, s.v_info) == (1.0, 1.0)


def test_one_cell_split_in_two():
    # Predicted membrane at pixel 1 cuts A into {0} and {2}; pixel 1 itself is the
    # predicted-membrane segment. Over the 6 true-cell pixels the table is
    # A: 1, 1, 1 (three predicted segments); B: 3. Pairs of distinct pixels:
    # together 3*(1*1 - 1) + (9 - 3) = 6, true 2*(9 - 3) = 12, predicted 3*0 + 6 = 6.
    prob = np.array([[0.9, 0.1, 0.9, 0.1, 0.9, 0.9, 0.9]])
    r = rand_scores(*cell_segments(prob, TWO_CELLS))
    assert (r.split, r.merge) == (pytest.approx(6 / 12), pytest.approx(1.0))
    assert v_rand(prob, TWO_CELLS) == pytest.approx(2 * 6 / (12 + 6))
    # H(T) = 1 bit; H(S) = 3 * (1/6) log2 6 + (1/2) log2 2 = (log2 6 + 1) / 2; each predicted
    # segment lies in one true cell, so I = H(T) = 1 and V_info = 2 / (H(S) + H(T)).
    h_s = (math.log2(6) + 1) / 2
    i = info_scores(*cell_segments(prob, TWO_CELLS))
    assert (i.split, i.merge) == (pytest.approx(1 / h_s), pytest.approx(1.0))
    assert v_info(prob, TWO_CELLS) == pytest.approx(2 / (h_s + 1))


def test_two_cells_merged():
    label = np.array([[1, 1, 0, 1, 1, 0, 1, 1]])  # A = {0, 1}, B = {3, 4}, C = {6, 7}
    prob = np.array([[0.9, 0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9]])  # A and B joined through pixel 2
    # Table over the 6 true-cell pixels: A: 2 (in P1), B: 2 (in P1), C: 2 (in P2).
    # Pairs: together 3*(4 - 2) = 6, true 6, predicted (16 - 4) + (4 - 2) = 14.
    r = rand_scores(*cell_segments(prob, label))
    assert (r.split, r.merge) == (pytest.approx(1.0), pytest.approx(6 / 14))
    assert v_rand(prob, label) == pytest.approx(2 * 6 / (6 + 14))
    # H(T) = log2 3, H(S) = H(2/3, 1/3) = log2 3 - 2/3, H(S|T) = 0 so I = H(S).
    h_t, h_s = math.log2(3), math.log2(3) - 2 / 3
    assert v_info(prob, label) == pytest.approx(2 * h_s / (h_s + h_t))
    assert info_scores(*cell_segments(prob, label)).merge == pytest.approx(h_s / h_t)


def test_cells_are_four_connected():
    prob = np.array([[0.9, 0.1], [0.1, 0.9]])  # two cells touching only at a corner
    _, pred = cell_segments(prob, np.ones((2, 2)))
    assert pred.tolist() == [[1, 0], [0, 2]]


def test_true_membrane_is_left_out():
    label = np.array([[1, 1, 0, 0, 1, 1]])
    good = np.array([[0.9, 0.9, 0.1, 0.1, 0.9, 0.9]])
    wrong_on_membrane = np.array([[0.9, 0.9, 0.1, 0.9, 0.1, 0.9]])  # also cuts the second cell
    assert v_rand(good, label) == 1.0
    only_membrane_differs = np.array([[0.9, 0.9, 0.9, 0.1, 0.9, 0.9]])  # joins cell 1 to the gap only
    assert v_rand(only_membrane_differs, label) == 1.0
    assert v_rand(wrong_on_membrane, label) < 1.0


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match="differ in shape"):
        v_rand(np.zeros((2, 2)), np.zeros((2, 3)))


# --- challenge scores against scikit-image ------------------------------------------------------

def _skimage_scores(true, pred):
    """(V_rand, split, merge, V_info) from scikit-image, foreground-restricted by ignoring true 0."""
    err, sk_prec, sk_rec = adapted_rand_error(true, pred, ignore_labels=(0,))
    # scikit-image divides its "precision" by the true segments' pairs: that is the split score.
    h_pred_given_true, h_true_given_pred = variation_of_information(true, pred, ignore_labels=(0,))
    fg = true != 0
    h_pred = entropy(np.unique(pred[fg], return_counts=True)[1], base=2)
    h_true = entropy(np.unique(true[fg], return_counts=True)[1], base=2)
    mutual = h_pred - h_pred_given_true
    assert mutual == pytest.approx(h_true - h_true_given_pred, abs=1e-9)
    return 1 - err, sk_prec, sk_rec, 2 * mutual / (h_pred + h_true)


@pytest.mark.parametrize("seed", range(6))
def test_against_skimage_on_random_label_images(seed):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, 5, size=(20, 24))  # label 0 plays membrane
    pred = rng.integers(0, 7, size=(20, 24))
    want_rand, want_split, want_merge, want_info = _skimage_scores(true, pred)
    r, i = rand_scores(true, pred), info_scores(true, pred)
    assert r.score == pytest.approx(want_rand, rel=1e-9)
    assert (r.split, r.merge) == (pytest.approx(want_split, rel=1e-9), pytest.approx(want_merge, rel=1e-9))
    assert i.score == pytest.approx(want_info, rel=1e-9)


@pytest.mark.parametrize("seed", range(4))
def test_against_skimage_on_random_probability_maps(seed):
    rng = np.random.default_rng(100 + seed)
    # Smooth random fields thresholded into blobby cells, as membrane maps look.
    # The prediction is the label's field plus noise, so it is near the label but not equal.
    field, noise = (ndimage.gaussian_filter(rng.normal(size=(48, 48)), 1.5) for _ in range(2))
    label = (field > 0.05).astype(np.uint8)
    prob = 1 / (1 + np.exp(-20 * (field + 0.5 * noise - 0.05)))
    true, _ = ndimage.label(label >= 0.5)
    pred, _ = ndimage.label(prob >= 0.5)
    assert true.max() > 2 and pred.max() > 2  # a real multi-cell case
    want_rand, _, _, want_info = _skimage_scores(true, pred)
    s = segmentation_scores(prob, label)
    assert s.v_rand == pytest.approx(want_rand, rel=1e-9) == v_rand(prob, label)
    assert s.v_info == pytest.approx(want_info, rel=1e-9) == v_info(prob, label)
    assert 0.0 <= s.v_rand <= 1.0 and 0.0 <= s.v_info <= 1.0


def test_no_true_cell_scores_one():
    assert v_rand(np.full((3, 3), 0.9), np.zeros((3, 3))) == 1.0
    assert v_info(np.full((3, 3), 0.9), np.zeros((3, 3))) == 1.0


# --- per-class scores ---------------------------------------------------------------------------

def test_class_scores_hand_worked():
    pred = np.array([[0, 0, 1], [1, 2, 2]])
    true = np.array([[0, 1, 1], [1, 2, 0]])
    rows = class_scores(pred, true, 4)
    # class 0: predicted 2, true 2, both 1; class 1: 2, 3, 2; class 2: 2, 1, 1; class 3: absent.
    assert [r["class"] for r in rows] == [0, 1, 2, 3]
    assert [r["dice"] for r in rows[:3]] == pytest.approx([2 * 1 / 4, 2 * 2 / 5, 2 * 1 / 3])
    assert [r["iou"] for r in rows[:3]] == pytest.approx([1 / 3, 2 / 3, 1 / 2])
    assert [(r["predicted"], r["true"]) for r in rows] == [(2, 2), (2, 3), (2, 1), (0, 0)]
    assert math.isnan(rows[3]["dice"]) and math.isnan(rows[3]["iou"])


def test_class_scores_perfect_and_missed():
    true = np.array([0, 1, 1, 2])
    assert [r["dice"] for r in class_scores(true, true, 3)] == [1.0, 1.0, 1.0]
    missed = class_scores(np.array([0, 1, 1, 1]), true, 3)[2]
    assert (missed["dice"], missed["iou"]) == (0.0, 0.0)


@pytest.mark.parametrize("pred", [np.array([0, 3]), np.array([0, -1]), np.array([0.0, 1.0])])
def test_class_scores_refuse_bad_classes(pred):
    with pytest.raises(ValueError, match="integer classes 0 to 2"):
        class_scores(pred, np.array([0, 1]), 3)
