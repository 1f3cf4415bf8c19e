"""Notebook 02's exercise checks: the notebook's solutions pass, its stubs and typical bugs fail.

The graded training runs the notebook's locked training cell on the solution's and the bug's
configuration.
"""

import matplotlib
import numpy as np
import pytest

import course_lib.layers
from autograder.check.checker import run
from autograder.grading import samples
from course_lib.datasets import load_fashion_mnist
from support import NOTEBOOKS
from support.notebook_exercises import ExerciseChecks, SourceNotebook

SOURCE = SourceNotebook(NOTEBOOKS / "02_jacobians"
                        / "02_jacobians.ipynb")


class TestNotebook02(ExerciseChecks):
    SOURCE = SOURCE
    OTHER_SOLUTION_CELLS = frozenset({"training_config"})
    EXERCISES = {
        "nb02.numerical_jacobian": ("numerical_jacobian", ["numerical_jacobian"], "other layout"),
        "nb02.relu_backward": ("relu_backward", ["relu_backward"], "not from the sign of the upstream"),
        "nb02.matmul_backward": ("matmul_backward", ["matmul_backward"], "dw is transposed"),
        "nb02.affine": ("affine", ["affine_forward", "affine_backward"], "reshape"),
        "nb02.softmax_loss": ("softmax_loss", ["softmax_loss"], "overflow in exp"),
        "nb02.svm_loss": ("svm_loss", ["svm_loss"], "compared with itself"),
        "nb02.two_layer_net_loss": ("two_layer_net_loss", ["two_layer_net_loss"], "without the ReLU mask"),
        "nb02.sgd_momentum": ("sgd_momentum", ["sgd_momentum"], "velocity from the previous step was lost"),
    }


def test_stub_fails_as_not_done_yet():
    def matmul_backward(dy, x, w):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run("nb02.matmul_backward", matmul_backward)
    assert not result.passed
    assert "not implemented yet" in result.message


@pytest.mark.parametrize("exercise_id, student", [
    ("nb02.relu_backward", lambda dout, x: course_lib.layers.relu_backward(dout, x)),
    ("nb02.softmax_loss", lambda x, y: course_lib.layers.softmax_loss(x, y)),
    ("nb02.svm_loss", lambda x, y: course_lib.layers.svm_loss(x, y)),
])
def test_calling_the_reference_is_refused(exercise_id, student):
    result = run(exercise_id, student)
    assert not result.passed
    assert "may not call" in result.message


def test_two_layer_net_through_the_reference_layers_is_refused():
    solved = SOURCE.solved
    def two_layer_net_loss(X, y, params, reg=0.0):
        hidden, _ = course_lib.layers.affine_forward(X, params["W1"], params["b1"])
        return solved.two_layer_net_loss(X, y, params, reg)

    result = run("nb02.two_layer_net_loss", two_layer_net_loss)
    assert not result.passed
    assert "may not call course_lib.layers.affine_forward" in result.message


def test_relu_mask_at_zero_is_named():
    result = run("nb02.relu_backward", lambda dout, x: dout * (x >= 0))
    assert not result.passed
    assert "exactly 0" in result.message


def test_relu_backward_must_not_change_dout():
    def zeroing_in_place(dout, x):
        dout[x <= 0] = 0.0
        return dout

    result = run("nb02.relu_backward", zeroing_in_place)
    assert not result.passed
    assert "changed its input `dout`" in result.message


def test_one_sided_jacobian_is_named():
    def one_sided(f, x, h=1e-5):
        y0 = f(x)
        return np.stack([(f(x + h * np.eye(x.size)[n]) - y0) / h for n in range(x.size)], axis=1)

    result = run("nb02.numerical_jacobian", one_sided)
    assert not result.passed
    assert "ONE-SIDED" in result.message


def test_missing_regularization_gradient_is_named():
    solved = SOURCE.solved
    def no_reg_gradient(X, y, params, reg=0.0):
        loss, grads = solved.two_layer_net_loss(X, y, params, reg)
        return loss, {**grads, "W2": grads["W2"] - reg * params["W2"]}

    result = run("nb02.two_layer_net_loss", no_reg_gradient)
    assert not result.passed
    assert "lacks the regularization term" in result.message


def test_softmax_gradient_summed_instead_of_averaged_is_named():
    solved = SOURCE.solved
    def summed(x, y):
        loss, dx = solved.softmax_loss(x, y)
        return loss, dx * x.shape[0]

    result = run("nb02.softmax_loss", summed)
    assert not result.passed
    assert "divide by the batch size" in result.message


def test_sgd_momentum_must_not_update_w_in_place():
    def in_place(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        config.setdefault("momentum", 0.9)
        velocity = config.get("velocity", np.zeros_like(w))
        config["velocity"] = config["momentum"] * velocity - config["learning_rate"] * dw
        w += config["velocity"]
        return w, config

    result = run("nb02.sgd_momentum", in_place)
    assert not result.passed
    assert "changed its input `w`" in result.message


# ---------------------------------------------------------------------------- graded training

def _train(config_source):
    """Run the notebook's locked training cell (on the solutions' loss and update rule) with the
    configuration a solution cell defines."""
    namespace = dict(vars(SOURCE.solved))
    # the given cells it builds on: your_sgd_momentum and TwoLayerModel (the student's own code)
    for given in ("your_functions", "two_layer_model"):
        exec(compile(SOURCE.cells[given], f"<{given}>", "exec"), namespace)
    exec(compile(config_source, "<training_config>", "exec"), namespace)
    namespace["data"] = load_fashion_mnist()
    matplotlib.use("Agg")
    exec(compile(SOURCE.cells["train_final_model"], "<train_final_model>", "exec"), namespace)
    return namespace["trained_params"]


def test_solution_configuration_trains_to_the_threshold():
    params = _train(samples.solution_code(SOURCE.solutions["training_config"]))
    for hidden in (False, True):
        result = run("nb02.training_result", params, hidden=hidden)
        assert result.passed, result.message


def test_typical_bug_configuration_misses_the_threshold():
    params = _train(samples.bug_code(SOURCE.solutions["training_config"]))
    result = run("nb02.training_result", params)
    assert not result.passed
    assert "below the required 0.82" in result.message


def test_training_result_is_measured_not_reported():
    rng = np.random.default_rng(0)
    untrained = {"W1": 1e-3 * rng.standard_normal((784, 20)), "b1": np.zeros(20),
                 "W2": 1e-3 * rng.standard_normal((20, 10)), "b2": np.zeros(10)}
    result = run("nb02.training_result", untrained)
    assert not result.passed
    assert "validation accuracy" in result.message


def test_training_result_beyond_the_budget_is_refused():
    too_wide = {"W1": np.zeros((784, 200)), "b1": np.zeros(200), "W2": np.zeros((200, 10)),
                "b2": np.zeros(10)}
    result = run("nb02.training_result", too_wide)
    assert not result.passed
    assert "at most 128" in result.message


def test_softmax_gradient_without_the_one_hot_is_named():
    def probabilities_only(x, y):
        shifted = np.exp(x - x.max(axis=1, keepdims=True))
        probs = shifted / shifted.sum(axis=1, keepdims=True)
        return float(-np.log(probs[np.arange(x.shape[0]), y]).mean()), probs

    result = run("nb02.softmax_loss", probabilities_only)
    assert not result.passed
    assert "the probabilities themselves" in result.message


def test_hard_coded_momentum_is_named():
    def fixed_momentum(w, dw, config=None):
        config = {} if config is None else config
        config.setdefault("learning_rate", 1e-2)
        velocity = config.get("velocity", np.zeros_like(w))
        config["velocity"] = 0.9 * velocity - config["learning_rate"] * dw
        return w + config["velocity"], config

    result = run("nb02.sgd_momentum", fixed_momentum)
    assert not result.passed
    assert "used momentum 0.9" in result.message
