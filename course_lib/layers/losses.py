"""Classification losses on raw scores: softmax cross-entropy and multiclass SVM (hinge).

Both average over the N examples and return (loss, dx) with dx = dL/dx.
"""
import numpy as np

from course_lib._arguments import require_labels, require_ndim


def _check_scores_and_labels(x, y):
    """Validate scores x, shape (N, C) with N >= 1, and labels y, shape (N,), ints in [0, C)."""
    require_ndim("x", x, ("N", "C"))
    num_samples, num_classes = x.shape
    if num_samples == 0:
        raise ValueError(f"x must hold at least one example (N >= 1), got shape {x.shape}")
    require_labels("y", y, num_samples, num_classes)
    return num_samples


def softmax_loss(x, y):
    """Softmax cross-entropy: mean over i of -log softmax(x[i])[y[i]].

    x: scores (logits), shape (N, C); y: integer labels, shape (N,), values in [0, C).
    Returns loss (float) and dx, shape (N, C).
    Uses the max-shift and log-sum-exp, so logits of +-1000 stay finite.
    """
    num_samples = _check_scores_and_labels(x, y)
    shifted = x - x.max(axis=1, keepdims=True)  # largest entry per row becomes 0: exp cannot overflow
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    rows = np.arange(num_samples)
    loss = -log_probs[rows, y].mean()

    dx = np.exp(log_probs)
    dx[rows, y] -= 1.0
    dx /= num_samples
    return float(loss), dx


def svm_loss(x, y):
    """Multiclass SVM (hinge) loss with margin 1: mean over i of sum_{j != y[i]} max(0, x[i, j] - x[i, y[i]] + 1).

    x: scores, shape (N, C); y: integer labels, shape (N,), values in [0, C).
    Returns loss (float) and dx, shape (N, C). At a margin of exactly 0 the slope is taken as 0.
    """
    num_samples = _check_scores_and_labels(x, y)
    rows = np.arange(num_samples)
    correct_scores = x[rows, y][:, np.newaxis]
    margins = np.maximum(0.0, x - correct_scores + 1.0)
    margins[rows, y] = 0.0  # the correct class is not compared with itself
    loss = margins.sum() / num_samples

    # every violated margin pushes its own score up and the correct score down
    dx = (margins > 0).astype(np.float64)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= num_samples
    return float(loss), dx
