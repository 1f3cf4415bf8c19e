"""Notebook 04's exercise checks: the notebook's solutions pass, its typical bugs and the other
usual mistakes fail with a helpful message, visible and hidden cases alike.

The extra mistakes run through the check functions in this process (fast); the standard
checks and one refused reference call go through the real grading subprocess."""

import functools
import traceback

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
        "nb04.freeze_upto": ("freeze_upto", ["freeze_upto"], "`upto` is inclusive"),
        "nb04.softmax_classifier": ("softmax_classifier", ["train_softmax_classifier"], "wrong sign"),
        "nb04.fine_tune_step": ("fine_tune_step", ["fine_tune_step"], "below the lowest trainable layer"),
        "nb04.class_score_gradient": ("class_score_gradient", ["class_score_gradient"], "sum of ALL class scores"),
        "nb04.grad_cam": ("grad_cam", ["grad_cam"], "apply a ReLU"),
    }


def train_softmax_classifier(*args):
    return SOURCE.solved.train_softmax_classifier(*args)


# ---------------------------------------------------------------------------- usual mistakes
# Each exercise's usual mistakes, written as a student would, with the phrase the failure
# message must contain (a precise diagnosis, not a generic one).

# --- Exercise 1: extract_features

def extract_features_exclusive(model, X, upto):
    out = X
    for layer in model.layers[: model.index(upto)]:
        out = layer.forward(out)
    return out


def extract_features_shortcut(model, X, upto):
    return model.features(X, upto)


def extract_features_every_layer(model, X, upto):
    out = X
    for layer in model.layers:
        out = layer.forward(out)
    return out


def extract_features_one_too_many(model, X, upto):
    out = X
    for layer in model.layers[: model.index(upto) + 2]:
        out = layer.forward(out)
    return out


def extract_features_images_to_every_layer(model, X, upto):
    out = X
    for layer in model.layers[: model.index(upto) + 1]:
        out = layer.forward(X)
    return out


def extract_features_that_layer_only(model, X, upto):
    return model.layers[model.index(upto)].forward(X)


def extract_features_names_only(model, X, upto):
    names = [layer.name for layer in model.layers]
    out = X
    for layer in model.layers[: names.index(upto) + 1]:
        out = layer.forward(out)
    return out


def extract_features_slices_with_the_index(model, X, upto):
    stop = upto if isinstance(upto, int) else model.index(upto)
    out = X
    for layer in model.layers[: stop + 1]:
        out = layer.forward(out)
    return out


def extract_features_flattened(model, X, upto):
    out = X
    for layer in model.layers[: model.index(upto) + 1]:
        out = layer.forward(out)
    return out.reshape(len(X), -1)


# --- Exercise 2: freeze_upto

def freeze_upto_exclusive(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        layer.freeze() if position < cut else layer.unfreeze()
    return model


def freeze_upto_never_unfreezes(model, upto):
    for layer in model.layers[: model.index(upto) + 1]:
        layer.freeze()
    return model


def freeze_upto_one_too_many(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        layer.freeze() if position <= cut + 1 else layer.unfreeze()
    return model


def freeze_upto_reversed(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        layer.unfreeze() if position <= cut else layer.freeze()
    return model


def freeze_upto_layers_with_parameters(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        if layer.params:
            layer.freeze() if position <= cut else layer.unfreeze()
    return model


def freeze_upto_without_calling(model, upto):
    cut = model.index(upto)
    for position, layer in enumerate(model.layers):
        layer.freeze if position <= cut else layer.unfreeze  # noqa: B018 (the mistake: no call)
    return model


def freeze_upto_shortcut(model, upto):
    return model.unfreeze().freeze(upto)


def freeze_upto_names_only(model, upto):
    cut = [layer.name for layer in model.layers].index(upto)
    for position, layer in enumerate(model.layers):
        layer.freeze() if position <= cut else layer.unfreeze()
    return model


# --- Exercise 3: train_softmax_classifier

def _descent(step):
    """A train_softmax_classifier whose step is step(X, y, W, b, learning_rate, reg) -> (W, b)."""
    def train(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
        W, b = np.zeros((X.shape[1], num_classes)), np.zeros(num_classes)
        for _ in range(num_iters):
            W, b = step(X, y, W, b, learning_rate, reg)
        return W, b
    train.__name__ = f"train_softmax_classifier_{step.__name__}"
    return train


@_descent
def ascent(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W + learning_rate * (X.T @ dscores + reg * W), b + learning_rate * dscores.sum(axis=0)


@_descent
def no_weight_decay(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * X.T @ dscores, b - learning_rate * dscores.sum(axis=0)


@_descent
def half_weight_decay(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores + 0.5 * reg * W), b - learning_rate * dscores.sum(axis=0)


@_descent
def double_weight_decay(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores + 2 * reg * W), b - learning_rate * dscores.sum(axis=0)


@_descent
def decays_b(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores + reg * W), b - learning_rate * (dscores.sum(axis=0) + reg * b)


@_descent
def b_from_new_scores(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    W = W - learning_rate * (X.T @ dscores + reg * W)
    _, dscores = softmax_loss(X @ W + b, y)
    return W, b - learning_rate * dscores.sum(axis=0)


@_descent
def scores_without_b(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W, y)
    return W - learning_rate * (X.T @ dscores + reg * W), b - learning_rate * dscores.sum(axis=0)


@_descent
def mean_for_b(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores + reg * W), b - learning_rate * dscores.mean(axis=0)


@_descent
def divides_by_N_again(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores / len(y) + reg * W), b - learning_rate * dscores.sum(axis=0)


@_descent
def b_never_updated(X, y, W, b, learning_rate, reg):
    _, dscores = softmax_loss(X @ W + b, y)
    return W - learning_rate * (X.T @ dscores + reg * W), b


def train_softmax_classifier_no_steps_by_default(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=0):
    """Right steps, useless defaults: only the accuracy on held-out features can notice."""
    return train_softmax_classifier(X, y, num_classes, learning_rate, reg, num_iters)


# --- Exercise 4: fine_tune_step

def _fine_tune(backward, update=None, returned="before"):
    """A fine_tune_step made of backward(model, dout) and update(layer, key, learning_rate)."""
    def update_right(layer, key, learning_rate):
        layer.params[key] = layer.params[key] - learning_rate * layer.grads[key]

    def step(model, X, y, learning_rate):
        loss, dout = softmax_loss(model.forward(X), y)
        backward(model, dout)
        for layer in model.layers:
            if layer.trainable:
                for key in layer.params:
                    (update or update_right)(layer, key, learning_rate)
        if returned == "after":
            return softmax_loss(model.forward(X), y)[0]
        return loss
    return step


def backward_to_the_lowest(model, dout):
    lowest = min(i for i, layer in enumerate(model.layers) if layer.trainable and layer.params)
    for layer in reversed(model.layers[lowest:]):
        dout = layer.backward(dout)


def backward_everywhere(model, dout):
    for layer in reversed(model.layers):
        dout = layer.backward(dout)


def backward_to_the_first_frozen(model, dout):
    for layer in reversed(model.layers):
        if not layer.trainable:
            break
        dout = layer.backward(dout)


def backward_to_the_lowest_trainable_any(model, dout):
    lowest = min(i for i, layer in enumerate(model.layers) if layer.trainable)
    for layer in reversed(model.layers[lowest:]):
        dout = layer.backward(dout)


def fine_tune_step_full_backward(model, X, y, learning_rate):
    return _fine_tune(backward_everywhere)(model, X, y, learning_rate)


def fine_tune_step_stops_at_first_frozen(model, X, y, learning_rate):
    """Stops at the first frozen layer from the top; skips layers without gradients."""
    loss, dout = softmax_loss(model.forward(X), y)
    backward_to_the_first_frozen(model, dout)
    for layer in model.layers:
        if layer.trainable and layer.grads:
            for key in layer.params:
                layer.params[key] = layer.params[key] - learning_rate * layer.grads[key]
    return loss


def fine_tune_step_stops_at_first_frozen_then_fails(model, X, y, learning_rate):
    return _fine_tune(backward_to_the_first_frozen)(model, X, y, learning_rate)


def fine_tune_step_lowest_trainable_without_parameters(model, X, y, learning_rate):
    return _fine_tune(backward_to_the_lowest_trainable_any)(model, X, y, learning_rate)


def fine_tune_step_ascent(model, X, y, learning_rate):
    def up(layer, key, lr):
        layer.params[key] = layer.params[key] + lr * layer.grads[key]
    return _fine_tune(backward_to_the_lowest, up)(model, X, y, learning_rate)


def fine_tune_step_no_learning_rate(model, X, y, learning_rate):
    def whole(layer, key, lr):
        layer.params[key] = layer.params[key] - layer.grads[key]
    return _fine_tune(backward_to_the_lowest, whole)(model, X, y, learning_rate)


def fine_tune_step_weights_only(model, X, y, learning_rate):
    def weights_only(layer, key, lr):
        if key == "W":
            layer.params[key] = layer.params[key] - lr * layer.grads[key]
    return _fine_tune(backward_to_the_lowest, weights_only)(model, X, y, learning_rate)


def fine_tune_step_loss_after(model, X, y, learning_rate):
    return _fine_tune(backward_to_the_lowest, returned="after")(model, X, y, learning_rate)


def fine_tune_step_updates_frozen_layers(model, X, y, learning_rate):
    loss, dout = softmax_loss(model.forward(X), y)
    backward_to_the_lowest(model, dout)
    for layer in model.layers:
        for key in layer.params:
            layer.params[key] = layer.params[key] - learning_rate * layer.grads[key]
    return loss


# --- Exercise 5: class_score_gradient

def _class_score_gradient(seed, skip=0):
    """A class_score_gradient whose backward pass starts from seed(scores, class_index)."""
    def gradient(model, A, layer, class_index):
        above = model.layers[model.index(layer) + 1 + skip:]
        out = A
        for block in above:
            out = block.forward(out)
        dout = seed(out, class_index)
        for block in reversed(above):
            dout = block.backward(dout)
        return dout
    gradient.__name__ = f"class_score_gradient_{seed.__name__}" + ("_skips_a_layer" if skip else "")
    return gradient


def one_hot(scores, class_index):
    seed = np.zeros(scores.shape)
    seed[np.arange(len(scores)), class_index] = 1.0
    return seed


def all_scores(scores, class_index):
    return np.ones(scores.shape)


def loss_gradient(scores, class_index):
    return softmax_loss(scores, np.broadcast_to(np.asarray(class_index), (len(scores),)))[1]


def minus_loss_gradient(scores, class_index):
    return -loss_gradient(scores, class_index) * len(scores)


def columns(scores, class_index):
    seed = np.zeros(scores.shape)
    seed[:, class_index] = 1.0
    return seed


def int_only(scores, class_index):
    seed = np.zeros(scores.shape)
    seed[np.arange(len(scores)), int(class_index)] = 1.0
    return seed


def array_only(scores, class_index):
    seed = np.zeros(scores.shape)
    for n in range(len(scores)):
        seed[n, class_index[n]] = 1.0
    return seed


def first_sample_only(scores, class_index):
    seed = np.zeros(scores.shape)
    seed[0, np.atleast_1d(class_index)[0]] = 1.0
    return seed


def mean_of_scores(scores, class_index):
    return one_hot(scores, class_index) / len(scores)


def minus_one_hot(scores, class_index):
    return -one_hot(scores, class_index)


# --- Exercise 6: grad_cam

def grad_cam_without_relu(A, dA):
    weights = dA.mean(axis=(2, 3))
    return weights, np.einsum("nf,nfhw->nhw", weights, A)


def grad_cam_summed_weights(A, dA):
    weights = dA.sum(axis=(2, 3))
    return weights, np.maximum(np.einsum("nf,nfhw->nhw", weights, A), 0.0)


def grad_cam_averaged_over_the_batch(A, dA):
    weights = dA.mean(axis=(0, 2, 3))
    return weights, np.maximum(np.einsum("f,nfhw->nhw", weights, A), 0.0)


def grad_cam_weights_of_A(A, dA):
    weights = A.mean(axis=(2, 3))
    return weights, np.maximum(np.einsum("nf,nfhw->nhw", weights, A), 0.0)


def grad_cam_keepdims(A, dA):
    weights = dA.mean(axis=(2, 3), keepdims=True)
    return weights, np.maximum((weights * A).sum(axis=1), 0.0)


def grad_cam_relu_per_channel(A, dA):
    weights = dA.mean(axis=(2, 3))
    return weights, np.maximum(weights[:, :, None, None] * A, 0.0).sum(axis=1)


def grad_cam_relu_on_weights(A, dA):
    weights = dA.mean(axis=(2, 3))
    return weights, np.einsum("nf,nfhw->nhw", np.maximum(weights, 0.0), A)


def grad_cam_gradient_times_activation(A, dA):
    return dA.mean(axis=(2, 3)), np.maximum((dA * A).sum(axis=1), 0.0)


def grad_cam_normalised(A, dA):
    weights = dA.mean(axis=(2, 3))
    cam = np.maximum(np.einsum("nf,nfhw->nhw", weights, A), 0.0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return weights, cam / np.where(peak > 0, peak, 1.0)


def grad_cam_summed_over_samples(A, dA):
    weights = dA.mean(axis=(2, 3))
    return weights, np.maximum((weights[:, :, None, None] * A).sum(axis=0), 0.0)


# (exercise, student code, phrase its message must contain on the visible cases)
WRONG = [
    ("nb04.extract_features", extract_features_exclusive, "`upto` is inclusive"),
    ("nb04.extract_features", extract_features_shortcut, "called model.features"),
    ("nb04.extract_features", extract_features_every_layer, "which comes after"),
    ("nb04.extract_features", extract_features_one_too_many, "which comes after"),
    ("nb04.extract_features", extract_features_images_to_every_layer, "applied to the images X themselves"),
    ("nb04.extract_features", extract_features_that_layer_only, "applied to the images X themselves"),
    ("nb04.extract_features", extract_features_names_only, "may be a name or an index"),
    ("nb04.extract_features", extract_features_slices_with_the_index, "a negative index counts from the end"),
    ("nb04.extract_features", extract_features_flattened, "reshape"),
    ("nb04.freeze_upto", freeze_upto_exclusive, "`upto` is inclusive"),
    ("nb04.freeze_upto", freeze_upto_never_unfreezes, "came frozen and stayed frozen"),
    ("nb04.freeze_upto", freeze_upto_one_too_many, "the layer after"),
    ("nb04.freeze_upto", freeze_upto_reversed, "reversed: you froze the layers after"),
    ("nb04.freeze_upto", freeze_upto_layers_with_parameters, "(no parameters) have the wrong flag"),
    ("nb04.freeze_upto", freeze_upto_without_calling, "no layer's trainable flag changed"),
    ("nb04.freeze_upto", freeze_upto_shortcut, "called model.unfreeze"),
    ("nb04.freeze_upto", freeze_upto_names_only, "may be a name or an index"),
    ("nb04.softmax_classifier", ascent, "wrong sign"),
    ("nb04.softmax_classifier", no_weight_decay, "without weight decay"),
    ("nb04.softmax_classifier", half_weight_decay, "half the weight decay"),
    ("nb04.softmax_classifier", double_weight_decay, "twice the weight decay"),
    ("nb04.softmax_classifier", decays_b, "b has weight decay too"),
    ("nb04.softmax_classifier", b_from_new_scores, "same dscores"),
    ("nb04.softmax_classifier", scores_without_b, "your scores leave out b"),
    ("nb04.softmax_classifier", mean_for_b, "b is 6 times too small (N = 6)"),
    ("nb04.softmax_classifier", divides_by_N_again, "W is 6 times too small (N = 6)"),
    ("nb04.softmax_classifier", b_never_updated, "b is still zero"),
    ("nb04.softmax_classifier", train_softmax_classifier_no_steps_by_default, "below the target"),
    ("nb04.fine_tune_step", fine_tune_step_full_backward, "below the lowest trainable layer"),
    ("nb04.fine_tune_step", fine_tune_step_stops_at_first_frozen, "stopped at the frozen"),
    ("nb04.fine_tune_step", fine_tune_step_stops_at_first_frozen_then_fails, "your backward pass stopped above it"),
    ("nb04.fine_tune_step", fine_tune_step_lowest_trainable_without_parameters, "trainable AND has parameters"),
    ("nb04.fine_tune_step", fine_tune_step_ascent, "moved up the gradient"),
    ("nb04.fine_tune_step", fine_tune_step_no_learning_rate, "moved by the whole gradient"),
    ("nb04.fine_tune_step", fine_tune_step_weights_only, "conv2.b did not change"),
    ("nb04.fine_tune_step", fine_tune_step_loss_after, "the loss after the update"),
    ("nb04.fine_tune_step", fine_tune_step_updates_frozen_layers, "update only the layers with layer.trainable"),
    ("nb04.class_score_gradient", _class_score_gradient(all_scores), "sum of ALL class scores"),
    ("nb04.class_score_gradient", _class_score_gradient(loss_gradient), "gradient of the softmax loss"),
    ("nb04.class_score_gradient", _class_score_gradient(minus_loss_gradient), "gradient of the softmax loss (times"),
    ("nb04.class_score_gradient", _class_score_gradient(columns), "in every row"),
    ("nb04.class_score_gradient", _class_score_gradient(int_only), "an array of N = 2 ints"),
    ("nb04.class_score_gradient", _class_score_gradient(array_only), "a single int"),
    ("nb04.class_score_gradient", _class_score_gradient(first_sample_only), "right for sample 0"),
    ("nb04.class_score_gradient", _class_score_gradient(mean_of_scores), "not 1/N"),
    ("nb04.class_score_gradient", _class_score_gradient(minus_one_hot), "wrong sign everywhere"),
    ("nb04.class_score_gradient", _class_score_gradient(one_hot, skip=1), "dA skips layer 'relu2'"),
    ("nb04.grad_cam", grad_cam_without_relu, "apply a ReLU"),
    ("nb04.grad_cam", grad_cam_summed_weights, "you summed dA over the positions"),
    ("nb04.grad_cam", grad_cam_averaged_over_the_batch, "averaged over the samples"),
    ("nb04.grad_cam", grad_cam_weights_of_A, "spatial means of A"),
    ("nb04.grad_cam", grad_cam_keepdims, "reshape"),
    ("nb04.grad_cam", grad_cam_relu_per_channel, "before the sum over channels"),
    ("nb04.grad_cam", grad_cam_relu_on_weights, "before the sum over channels"),
    ("nb04.grad_cam", grad_cam_gradient_times_activation, "gradient × activation"),
    ("nb04.grad_cam", grad_cam_normalised, "rescaled"),
    ("nb04.grad_cam", grad_cam_summed_over_samples, "sums over the samples (axis 0)"),
]


@functools.lru_cache(maxsize=None)
def _case_file_text(exercise_id, hidden):
    return casedata.dumps(casebook.compute(exercise_id, hidden))


def run_in_process(exercise_id, student, hidden):
    compare.start_run()
    lookup(exercise_id).function(casedata.loads(_case_file_text(exercise_id, hidden)), student)


@pytest.mark.parametrize("exercise_id, student, message", WRONG, ids=[w[1].__name__ for w in WRONG])
def test_usual_mistakes_fail_with_a_precise_message(exercise_id, student, message):
    with pytest.raises(compare.WrongAnswer) as failure:
        run_in_process(exercise_id, student, hidden=False)
    assert message in str(failure.value), str(failure.value)
    assert "only some entries are wrong" not in str(failure.value)


@pytest.mark.parametrize("exercise_id, student, message", WRONG, ids=[w[1].__name__ for w in WRONG])
def test_usual_mistakes_fail_the_hidden_cases(exercise_id, student, message):
    try:
        run_in_process(exercise_id, student, hidden=True)
    except compare.WrongAnswer:
        return
    except Exception as error:  # noqa: BLE001 (the worker fails an error of the student's code too)
        frames = traceback.extract_tb(error.__traceback__)
        assert any(frame.filename == __file__ for frame in frames), "the verdict itself raised"
        return
    pytest.fail(f"the hidden cases of {exercise_id} let {student.__name__} pass")


def test_every_exercise_has_five_usual_mistakes():
    counts = {exercise_id: 0 for exercise_id in TestNotebook04.EXERCISES}
    for exercise_id, _, _ in WRONG:
        counts[exercise_id] += 1
    assert min(counts.values()) >= 5, counts


def test_the_classifier_mistakes_are_computed_like_the_reference():
    """The case data's right answer for five steps (the reference's) is what cases.py's own
    gradient descent gives: its mistakes differ from the reference by the mistake alone."""
    from autograder.exercises.nb04_transfer_learning import cases
    for hidden in (False, True):
        data = casedata.loads(_case_file_text("nb04.softmax_classifier", hidden))
        five = data["steps"][1]
        W, b = cases._descent(data["X"], data["y"], data["num_classes"], data["learning_rate"], five["reg"], 5)
        np.testing.assert_allclose(W, five["W"], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(b, five["b"], rtol=1e-12, atol=1e-15)


def test_the_grader_refuses_the_reference_classifier():
    def train_with_the_reference(X, y, num_classes, learning_rate=10.0, reg=1e-3, num_iters=100):
        return transfer.fit_softmax_classifier(X, y, num_classes, learning_rate, reg, num_iters)
    result = run("nb04.softmax_classifier", train_with_the_reference)
    assert not result.passed
    assert "you may not call course_lib.transfer.fit_softmax_classifier" in result.message
