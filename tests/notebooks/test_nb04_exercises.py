"""Notebook 04's exercise checks: the notebook's solutions pass, its typical bugs and the other
usual mistakes fail with a helpful message, visible and hidden cases alike.

The extra mistakes run through the check functions in this process (fast); the standard
checks and one refused reference call go through the real grading subprocess."""

import functools

import numpy as np
import pytest

from autograder.check import casedata, compare
from autograder.check.checker import run
from autograder.check.registry import lookup
from autograder.exercises import casebook
from course_lib import transfer
from course_lib.layers import softmax_loss
from support import NOTEBOOKS
from support.notebook_exercises import ExerciseChecks, SourceNotebook

SOURCE = SourceNotebook(NOTEBOOKS / "04_transfer_learning"
                        / "04_transfer_learning.ipynb")


class TestNotebook04(ExerciseChecks):
    SOURCE = SOURCE
    EXERCISES = {
        "nb04.extract_features": ("extract_features", ["extract_features"], "`upto` is inclusive"),
        "nb04.freeze_upto": ("freeze_upto", ["freeze_upto"], "inclusive"),
        "nb04.softmax_classifier": ("softmax_classifier", ["train_softmax_classifier"], "wrong sign"),
        "nb04.fine_tune_step": ("fine_tune_step", ["fine_tune_step"], "below the lowest trainable layer"),
        "nb04.class_score_gradient": ("class_score_gradient", ["class_score_gradient"], "finite differences"),
        "nb04.grad_cam": ("grad_cam", ["grad_cam"], "apply a ReLU"),
    }


def train_softmax_classifier(*args):
    return SOURCE.solved.train_softmax_classifier(*args)


# ---------------------------------------------------------------------------- usual mistakes

def extract_features_exclusive(model, X, upto):
    out = X
    for layer in model.layers[: model.index(upto)]:
        out = layer.forward(out)
    return out


def extract_features_shortcut(model, X, upto):
    return model.features(X, upto)


def freeze_upto_exclusive(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        layer.freeze() if position < cut else layer.unfreeze()
    return model


def freeze_upto_never_unfreezes(model, upto):
    for layer in model.layers[: model.index(upto) + 1]:
        layer.freeze()
    return model


def train_softmax_classifier_ascent(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
    W, b = np.zeros((X.shape[1], num_classes)), np.zeros(num_classes)
    for _ in range(num_iters):
        _, dscores = softmax_loss(X @ W + b, y)
        W, b = W + learning_rate * (X.T @ dscores + reg * W), b + learning_rate * dscores.sum(axis=0)
    return W, b


def train_softmax_classifier_no_reg(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
    return train_softmax_classifier(X, y, num_classes, learning_rate, 0.0, num_iters)


def train_softmax_classifier_no_steps_by_default(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=0):
    """Right steps, useless defaults: only the accuracy on held-out features can notice."""
    return train_softmax_classifier(X, y, num_classes, learning_rate, reg, num_iters)


def fine_tune_step_full_backward(model, X, y, learning_rate):
    loss, dout = softmax_loss(model.forward(X), y)
    for layer in reversed(model.layers):
        dout = layer.backward(dout)
    for layer in model.layers:
        if layer.trainable:
            for key in layer.params:
                layer.params[key] = layer.params[key] - learning_rate * layer.grads[key]
    return loss


def fine_tune_step_stops_at_first_frozen(model, X, y, learning_rate):
    loss, dout = softmax_loss(model.forward(X), y)
    for layer in reversed(model.layers):
        if layer.params and not layer.trainable:
            break
        dout = layer.backward(dout)
    for layer in model.layers:
        if layer.trainable and layer.grads:
            for key in layer.params:
                layer.params[key] = layer.params[key] - learning_rate * layer.grads[key]
    return loss


def class_score_gradient_all_scores(model, A, layer, class_index):
    above = model.layers[model.index(layer) + 1:]
    out = A
    for block in above:
        out = block.forward(out)
    dout = np.ones(out.shape)
    for block in reversed(above):
        dout = block.backward(dout)
    return dout


def grad_cam_without_relu(A, dA):
    weights = dA.mean(axis=(2, 3))
    return weights, np.einsum("nf,nfhw->nhw", weights, A)


def grad_cam_summed_weights(A, dA):
    weights = dA.sum(axis=(2, 3))
    return weights, np.maximum(np.einsum("nf,nfhw->nhw", weights, A), 0.0)


WRONG = [
    ("nb04.extract_features", extract_features_exclusive, "inclusive"),
    ("nb04.extract_features", extract_features_shortcut, "model.features"),
    ("nb04.freeze_upto", freeze_upto_exclusive, "inclusive"),
    ("nb04.freeze_upto", freeze_upto_never_unfreezes, "trainable=False, expected True|must be trainable"),
    ("nb04.softmax_classifier", train_softmax_classifier_ascent, "wrong sign"),
    ("nb04.softmax_classifier", train_softmax_classifier_no_reg, "W is wrong"),
    ("nb04.softmax_classifier", train_softmax_classifier_no_steps_by_default, "below the target"),
    ("nb04.fine_tune_step", fine_tune_step_full_backward, "below the lowest trainable layer"),
    ("nb04.fine_tune_step", fine_tune_step_stops_at_first_frozen, "below the lowest|is wrong"),
    ("nb04.class_score_gradient", class_score_gradient_all_scores, "finite differences"),
    ("nb04.grad_cam", grad_cam_without_relu, "ReLU"),
    ("nb04.grad_cam", grad_cam_summed_weights, "times too large"),
]


@functools.lru_cache(maxsize=None)
def _case_file_text(exercise_id, hidden):
    return casedata.dumps(casebook.compute(exercise_id, hidden))


def run_in_process(exercise_id, student, hidden):
    compare.start_run()
    lookup(exercise_id).function(casedata.loads(_case_file_text(exercise_id, hidden)), student)


@pytest.mark.parametrize("exercise_id, student, message", WRONG, ids=[w[1].__name__ for w in WRONG])
def test_usual_mistakes_fail_with_a_helpful_message(exercise_id, student, message):
    for hidden in (False, True):
        with pytest.raises(compare.WrongAnswer, match=message):
            run_in_process(exercise_id, student, hidden)


def test_the_grader_refuses_the_reference_classifier():
    def train_with_the_reference(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
        return transfer.fit_softmax_classifier(X, y, num_classes, learning_rate, reg, num_iters)
    result = run("nb04.softmax_classifier", train_with_the_reference)
    assert not result.passed
    assert "you may not call course_lib.transfer.fit_softmax_classifier" in result.message
