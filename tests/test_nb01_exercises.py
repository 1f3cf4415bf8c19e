"""Notebook 01's exercise checks: the notebook's solutions pass, its stubs and typical bugs fail.

The student code under test is taken from the source notebook itself (solution cells run in a
throwaway module, so check() pickles it by value as it does for notebook code).
"""
import types
from pathlib import Path

import nbformat
import pytest

from autograder import samples
from autograder.checker import run

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_flat_backprop" / "01_flat_backprop.ipynb"

# exercise id -> (solution cell grade_id, names of the student objects check() takes,
#                 a phrase the typical bug's failure message must contain)
EXERCISES = {
    "nb01.numerical_gradient": ("numerical_gradient", ["numerical_gradient"], "ONE-SIDED"),
    "nb01.flat_backward": ("flat_backward", ["flat_forward_backward"], "only one of its two contributions"),
    "nb01.gates_multiply_max": ("gates_multiply_max", ["MultiplyGate", "MaxGate"], "swaps"),
    "nb01.gates_copy_sigmoid": ("gates_copy_sigmoid", ["CopyGate", "SigmoidGate"], "SUM of the two"),
    "nb01.value_local_backward": ("value_local_backward", ["Value"], "overwritten"),
    "nb01.topological_order": ("topological_order", ["topological_order"], "more than once"),
    "nb01.backpropagate": ("backpropagate", ["backpropagate"], "REVERSE topological order"),
}


@pytest.fixture(scope="module")
def source_cells():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")  # the imports
    solutions = {samples._grade_id(c): c.source for c in nb.cells if samples._is_solution(c)}
    return setup, solutions


def _namespace(source_cells, transform):
    """Module holding the setup cell and every solution cell, each passed through transform(gid, src)."""
    setup, solutions = source_cells
    module = types.ModuleType("nb01_student")
    exec(compile(setup, "<setup>", "exec"), module.__dict__)
    for grade_id, source in solutions.items():
        exec(compile(transform(grade_id, source), f"<{grade_id}>", "exec"), module.__dict__)
    return module


def _objects(module, names):
    return [getattr(module, name) for name in names]


@pytest.fixture(scope="module")
def solved(source_cells):
    return _namespace(source_cells, lambda _, source: samples.solution_code(source))


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
@pytest.mark.parametrize("hidden", [False, True])
def test_solution_passes(solved, exercise_id, hidden):
    _, names, _ = EXERCISES[exercise_id]
    result = run(exercise_id, *_objects(solved, names), hidden=hidden)
    assert result.passed, result.message
    assert result.cases >= 3


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
def test_typical_bug_fails_with_its_hint(source_cells, exercise_id):
    grade_id, names, phrase = EXERCISES[exercise_id]

    def with_bug(gid, source):
        return samples.bug_code(source) if gid == grade_id else samples.solution_code(source)

    module = _namespace(source_cells, with_bug)
    result = run(exercise_id, *_objects(module, names))
    assert not result.passed
    assert phrase in result.message, result.message


def test_every_solution_cell_has_a_typical_bug(source_cells):
    _, solutions = source_cells
    assert {grade_id for grade_id, _, _ in EXERCISES.values()} == set(solutions)
    assert all(samples.bug_code(source) is not None for source in solutions.values())


def test_stub_fails_as_not_done_yet(solved):
    def topological_order(root):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run("nb01.topological_order", topological_order)
    assert not result.passed
    assert "not implemented yet" in result.message


def test_backpropagate_is_graded_with_the_reference_sort(source_cells):
    # A broken topological sort must cost Exercise 6 only, not Exercise 7 as well.
    def broken_sort(gid, source):
        if gid == "topological_order":
            return samples.bug_code(source)
        return samples.solution_code(source)

    module = _namespace(source_cells, broken_sort)
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
