"""Notebook 01's exercise checks: the notebook's solutions pass, its stubs and typical bugs fail."""

from autograder.check.checker import run
from support import NOTEBOOKS
from support.notebook_exercises import ExerciseChecks, SourceNotebook

SOURCE = SourceNotebook(NOTEBOOKS / "01_flat_backprop"
                        / "01_flat_backprop.ipynb")


class TestNotebook01(ExerciseChecks):
    SOURCE = SOURCE
    MIN_CASES = 3
    EXERCISES = {
        "nb01.numerical_gradient": ("numerical_gradient", ["numerical_gradient"], "ONE-SIDED"),
        "nb01.flat_backward": ("flat_backward", ["flat_forward_backward"], "only one of its two contributions"),
        "nb01.gates_multiply_max": ("gates_multiply_max", ["MultiplyGate", "MaxGate"], "swaps"),
        "nb01.gates_copy_sigmoid": ("gates_copy_sigmoid", ["CopyGate", "SigmoidGate"], "SUM of the two"),
        "nb01.value_local_backward": ("value_local_backward", ["Value"], "overwritten"),
        "nb01.topological_order": ("topological_order", ["topological_order"], "more than once"),
        "nb01.backpropagate": ("backpropagate", ["backpropagate"], "REVERSE topological order"),
    }


def test_stub_fails_as_not_done_yet():
    def topological_order(root):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run("nb01.topological_order", topological_order)
    assert not result.passed
    assert "not implemented yet" in result.message


def test_backpropagate_is_graded_with_the_reference_sort():
    # A broken topological sort must cost Exercise 6 only, not Exercise 7 as well.
    module = SOURCE.with_bug("topological_order")
    assert not run("nb01.topological_order", module.topological_order).passed
    result = run("nb01.backpropagate", module.backpropagate)
    assert result.passed, result.message


def test_numerical_gradient_must_not_change_w():
    import numpy as np

    def nudging_in_place(f, w, h=1e-5):
        grad = np.zeros(w.shape)
        for i in np.ndindex(w.shape):
            w[i] += h
            plus = f(w)
            w[i] -= 2 * h
            grad[i] = (plus - f(w)) / (2 * h)  # forgets to restore w[i]
        return grad

    result = run("nb01.numerical_gradient", nudging_in_place)
    assert not result.passed
    assert "changed the array w" in result.message


def test_calling_the_reference_numerical_gradient_is_refused():
    import course_lib.gradcheck

    def borrowed(f, w, h=1e-5):
        return course_lib.gradcheck.eval_numerical_gradient(f, w.copy(), h)

    result = run("nb01.numerical_gradient", borrowed)
    assert not result.passed
    assert "may not call" in result.message
