"""Notebook 03's exercise checks: the notebook's solutions pass, its stubs and typical bugs fail.

The student code under test is taken from the source notebook itself (setup and solution cells
run in a throwaway module, so check() pickles it by value as it does for notebook code).
"""
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from autograder import samples
from autograder.checker import run

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_conv_pool" / "03_conv_pool.ipynb"

# exercise id -> (solution cell grade_id, names of the student objects check() takes,
#                 a phrase the typical bug's failure message must contain)
EXERCISES = {
    "nb03.conv_output_size": ("conv_output_size", ["conv_output_size"], "must raise ValueError"),
    "nb03.conv_forward_naive": ("conv_forward_naive", ["conv_forward_naive"], "1 pixel apart"),
    "nb03.conv_backward_naive": ("conv_backward_naive", ["conv_backward_naive"], "dx_pad[:, :, P:P+H"),
    "nb03.max_pool_forward": ("max_pool_forward", ["max_pool_forward_naive"], "need not be square"),
    "nb03.max_pool_backward": ("max_pool_backward", ["max_pool_backward_naive"], "swapped"),
    "nb03.receptive_field": ("receptive_field", ["receptive_field"], "INCLUDING itself"),
    "nb03.conv_transpose_forward": ("conv_transpose_forward", ["conv_transpose_forward"],
                                    "kernel is flipped"),
    "nb03.im2col_conv": ("im2col_conv", ["im2col", "conv_forward_im2col"], "BEFORE the reshape"),
}


@pytest.fixture(scope="module")
def source_cells():
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    setup = next(c.source for c in nb.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    solutions = {samples._grade_id(c): c.source for c in nb.cells if samples._is_solution(c)}
    return setup, solutions


def _namespace(source_cells, transform):
    """Module holding the setup cell and every solution cell, each passed through transform(gid, src)."""
    setup, solutions = source_cells
    module = types.ModuleType("nb03_student")
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
    assert result.cases >= 4


@pytest.mark.parametrize("exercise_id", sorted(EXERCISES))
@pytest.mark.parametrize("hidden", [False, True])
def test_typical_bug_fails_with_its_hint(source_cells, exercise_id, hidden):
    grade_id, names, phrase = EXERCISES[exercise_id]

    def with_bug(gid, source):
        return samples.bug_code(source) if gid == grade_id else samples.solution_code(source)

    module = _namespace(source_cells, with_bug)
    result = run(exercise_id, *_objects(module, names), hidden=hidden)
    assert not result.passed
    assert phrase in result.message, result.message


def test_every_solution_cell_has_a_typical_bug(source_cells):
    _, solutions = source_cells
    assert {grade_id for grade_id, _, _ in EXERCISES.values()} == set(solutions)
    assert all(samples.bug_code(source) is not None for source in solutions.values())


def test_stub_fails_as_not_done_yet():
    def max_pool_backward_naive(dout, cache):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run("nb03.max_pool_backward", max_pool_backward_naive)
    assert not result.passed
    assert "not implemented yet" in result.message


def test_calling_a_fast_reference_layer_is_refused():
    import course_lib.layers

    def conv_forward_naive(x, w, b, conv_param):
        return course_lib.layers.conv_forward_fast(x, w, b, conv_param)

    result = run("nb03.conv_forward_naive", conv_forward_naive)
    assert not result.passed
    assert "may not call course_lib.layers.conv_forward_fast" in result.message


def test_transposed_conv_via_the_conv_backward_is_refused():
    import course_lib.layers

    def via_backward(x, w, b, conv_param):
        # the input gradient of a conv IS a transposed conv: the exercise asks to write it
        return course_lib.layers.conv_backward_naive(x, (np.zeros(1), w, b, conv_param))

    result = run("nb03.conv_transpose_forward", via_backward)
    assert not result.passed
    assert "may not call course_lib.layers.conv_backward_naive" in result.message


def test_slow_im2col_forward_fails_the_speed_case(solved):
    def conv_forward_im2col(x, w, b, conv_param):
        # right numbers, naive speed: loops over every output position of every sample and filter
        out = None
        N, F = x.shape[0], w.shape[0]
        for n in range(N):
            for f in range(F):
                single, _ = solved.conv_forward_naive(x[n:n + 1], w[f:f + 1], b[f:f + 1], conv_param)
                out = np.zeros((N, F, *single.shape[2:])) if out is None else out
                out[n, f] = single[0, 0]
        return out, (x, w, b, conv_param)

    result = run("nb03.im2col_conv", solved.im2col, conv_forward_im2col)
    assert not result.passed
    assert "at least 5 times faster" in result.message


def test_unfit_configuration_must_raise(solved):
    def conv_output_size(W, F, S, P, dilation=1):
        return (W - (dilation * (F - 1) + 1) + 2 * P) // S + 1

    result = run("nb03.conv_output_size", conv_output_size)
    assert not result.passed
    assert "is not a multiple of S = 3" in result.message


def test_overwriting_instead_of_accumulating_in_max_pool_backward_is_named():
    def max_pool_backward_naive(dout, cache):
        x, pool_param = cache
        HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        dx = np.zeros(x.shape)
        for n, c, i, j in np.ndindex(dout.shape):
            window = x[n, c, i * S:i * S + HH, j * S:j * S + WW]
            r, s = np.unravel_index(np.argmax(window), window.shape)
            dx[n, c, i * S + r, j * S + s] = dout[n, c, i, j]  # = where += belongs
        return dx

    result = run("nb03.max_pool_backward", max_pool_backward_naive)
    assert not result.passed
    assert "use += instead of =" in result.message
