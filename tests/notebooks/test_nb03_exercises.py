"""Notebook 03's exercise checks: the notebook's solutions pass, its stubs and typical bugs fail."""

import numpy as np

from autograder.check.checker import run
from support import NOTEBOOKS
from support.notebook_exercises import ExerciseChecks, SourceNotebook

SOURCE = SourceNotebook(NOTEBOOKS / "03_conv_pool"
                        / "03_conv_pool.ipynb", setup_grade_id="setup")


class TestNotebook03(ExerciseChecks):
    SOURCE = SOURCE
    MIN_CASES = 4
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


def test_slow_im2col_forward_fails_the_speed_case():
    solved = SOURCE.solved
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


def test_unfit_configuration_must_raise():
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
