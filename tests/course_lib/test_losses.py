"""Tests for course_lib.layers.losses: softmax_loss and svm_loss."""
import math
import re
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import eval_numerical_gradient, rel_error
from course_lib.layers import softmax_loss, svm_loss

GRAD_TOL = 1e-7
LOSSES = {"softmax": softmax_loss, "svm": svm_loss}

num_samples = st.integers(1, 5)
num_classes = st.integers(1, 6)
seeds = st.integers(0, 2**32 - 1)


def random_scores_and_labels(n, c, seed, scale=1.0):
    """Scores x, shape (n, c), and integer labels y, shape (n,)."""
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, c)), rng.integers(0, c, size=n)


def loss_gradient_error(loss_fn, x, y):
    """Relative error of loss_fn's dx against centered differences of its loss."""
    _, dx = loss_fn(x, y)
    assert dx.shape == x.shape
    numerical = eval_numerical_gradient(lambda v: loss_fn(v, y)[0], x)
    return rel_error(dx, numerical)


def smallest_hinge_margin(x, y):
    """min over j != y[i] of |x[i, j] - x[i, y[i]] + 1|: distance to the hinge's kink."""
    margins = np.abs(x - x[np.arange(len(y)), y][:, None] + 1)
    margins[np.arange(len(y)), y] = np.inf
    return margins.min()


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=num_samples, c=num_classes, seed=seeds, scale=st.sampled_from([0.1, 1.0]))
def test_softmax_gradient_matches_finite_differences(n, c, seed, scale):
    # scores of unit scale or less: much larger ones saturate the softmax, making some
    # gradient entries ~1e-10, below what centered differences resolve (their absolute
    # round-off is ~1e-11); saturation itself is tested at logits of +-1000 below
    x, y = random_scores_and_labels(n, c, seed, scale)
    assert loss_gradient_error(softmax_loss, x, y) < GRAD_TOL


@settings(max_examples=40, deadline=None, derandomize=True)
@given(n=num_samples, c=num_classes, seed=seeds)
def test_svm_gradient_matches_finite_differences(n, c, seed):
    x, y = random_scores_and_labels(n, c, seed)
    assume(smallest_hinge_margin(x, y) > 1e-3)  # the hinge has no derivative at its kink
    assert loss_gradient_error(svm_loss, x, y) < GRAD_TOL


def test_softmax_is_finite_for_logits_of_plus_minus_1000():
    # row 0: two logits of 1000 tie and e^(-1000 - 1000) vanishes -> p = [1/2, 1/2, 0], loss log 2
    # row 1: three equal logits -> p = [1/3, 1/3, 1/3], loss log 3
    # mean loss (log 2 + log 3) / 2 = log(6) / 2; dx = (p - onehot(y)) / N with N = 2
    x = np.array([[1000.0, 1000.0, -1000.0], [-1000.0, -1000.0, -1000.0]])
    y = np.array([0, 2])
    with warnings.catch_warnings(), np.errstate(over="raise", invalid="raise", divide="raise"):
        warnings.simplefilter("error")
        loss, dx = softmax_loss(x, y)
    assert abs(loss - math.log(6) / 2) < 1e-14
    np.testing.assert_allclose(
        dx, [[-0.25, 0.25, 0.0], [1 / 6, 1 / 6, -1 / 3]], rtol=1e-14, atol=1e-300
    )


def test_softmax_confident_and_wrong_at_1000():
    # softmax of [1000, 0, -1000] puts all mass on class 0; the loss for label 1 is
    # 1000 + log(1 + e^-1000 + e^-2000) = 1000 in double precision
    loss, dx = softmax_loss(np.array([[1000.0, 0.0, -1000.0]]), np.array([1]))
    assert loss == 1000.0
    np.testing.assert_array_equal(dx, [[1.0, -1.0, 0.0]])


def test_softmax_lecture_example():
    # scores cat 3.2, car 5.1, frog -1.7 for a cat image: L = log(e^3.2 + e^5.1 + e^-1.7) - 3.2 ~ 2.04
    loss, _ = softmax_loss(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    assert abs(loss - (math.log(math.exp(3.2) + math.exp(5.1) + math.exp(-1.7)) - 3.2)) < 1e-14
    assert abs(loss - 2.04) < 5e-3


def test_softmax_initial_loss_is_log_num_classes():
    # small random weights -> scores ~ 0 -> uniform probabilities -> loss ~ log C with C = 10
    rng = np.random.default_rng(0)
    features = rng.standard_normal((200, 50))
    weights = 1e-3 * rng.standard_normal((50, 10))
    labels = rng.integers(0, 10, size=200)
    loss, _ = softmax_loss(features @ weights, labels)
    assert abs(loss - math.log(10)) < 1e-3


def test_svm_lecture_example():
    # three images (cat, car, frog) with scores over (cat, car, frog), margin 1:
    #   cat:  max(0, 5.1 - 3.2 + 1) + max(0, -1.7 - 3.2 + 1) = 2.9 + 0   = 2.9
    #   car:  max(0, 1.3 - 4.9 + 1) + max(0,  2.0 - 4.9 + 1) = 0   + 0   = 0
    #   frog: max(0, 2.2 + 3.1 + 1) + max(0,  2.5 + 3.1 + 1) = 6.3 + 6.6 = 12.9
    # mean (2.9 + 0 + 12.9) / 3 = 15.8 / 3
    x = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])
    y = np.array([0, 1, 2])
    loss, dx = svm_loss(x, y)
    assert abs(loss - 15.8 / 3) < 1e-14
    # each violated margin: +1 on its class, -1 on the correct class; divided by N = 3
    np.testing.assert_allclose(dx, np.array([[-1, 1, 0], [0, 0, 0], [1, 1, -2]]) / 3, rtol=1e-15)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_inputs_are_not_mutated(name):
    x, y = random_scores_and_labels(4, 3, seed=0)
    x_copy, y_copy = x.copy(), y.copy()
    LOSSES[name](x, y)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_scores_must_be_n_by_c(name):
    with pytest.raises(ValueError, match=re.escape("x must have shape (N, C), got shape (3,)")):
        LOSSES[name](np.zeros(3), np.array([0, 1, 2]))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_empty_batch_is_refused(name):
    with pytest.raises(ValueError, match=r"^x must hold at least one example"):
        LOSSES[name](np.zeros((0, 3)), np.zeros(0, dtype=np.int64))


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("bad_label", [3, -1])
def test_labels_out_of_range(name, bad_label):
    with pytest.raises(ValueError, match=r"^y must hold labels in \[0, 3\)"):
        LOSSES[name](np.zeros((2, 3)), np.array([0, bad_label]))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_non_integer_labels(name):
    with pytest.raises(TypeError, match="^y must hold integer class labels, got dtype float64"):
        LOSSES[name](np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_label_count_must_match_n(name):
    with pytest.raises(ValueError, match=r"^y must have shape \(2,?\), got shape \(3,\)"):
        LOSSES[name](np.zeros((2, 3)), np.array([0, 1, 2]))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_lists_are_refused(name):
    with pytest.raises(TypeError, match="^x must be a numpy array, got list"):
        LOSSES[name]([[0.0, 1.0]], np.array([0]))
    with pytest.raises(TypeError, match="^y must be a numpy array, got list"):
        LOSSES[name](np.zeros((1, 2)), [0])


# ---- test the tester: the finite-difference comparison catches wrong gradients ---------


def softmax_loss_without_batch_mean_in_dx(x, y):
    loss, dx = softmax_loss(x, y)
    return loss, dx * x.shape[0]  # forgot to divide dx by N


def svm_loss_with_unit_correct_class_gradient(x, y):
    loss, dx = svm_loss(x, y)
    rows = np.arange(len(y))
    wrong = dx.copy()
    wrong[rows, y] = -1.0 / len(y) * (dx[rows, y] != 0)  # -1 instead of -(number of violations)
    return loss, wrong


@pytest.mark.parametrize(
    "wrong_loss", [softmax_loss_without_batch_mean_in_dx, svm_loss_with_unit_correct_class_gradient]
)
def test_gradient_check_catches_wrong_gradient(wrong_loss):
    x, y = random_scores_and_labels(4, 5, seed=2)
    assert smallest_hinge_margin(x, y) > 1e-3
    assert loss_gradient_error(wrong_loss, x, y) > 1e-2
