"""Notebook 03's exercise checks: the notebook's solutions pass, its stubs, typical bugs and the
other usual mistakes fail with a precise message, visible and hidden cases alike."""

import functools
import traceback

import numpy as np
import pytest

from autograder.check import casedata, compare
from autograder.check.checker import run
from autograder.check.registry import lookup
from autograder.exercises import casebook
from autograder.grading import samples
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


# ---------------------------------------------------------------------------- usual mistakes
# Each exercise's usual mistakes, as small edits of the solution (what a student would write),
# with the phrase the failure message must contain: a precise diagnosis, never a generic one.

def mutant(grade_id, *edits):
    """The solved notebook with grade_id's solution edited: edits are (old, new) pairs."""
    def transform(gid, source):
        code = samples.solution_code(source)
        if gid == grade_id:
            for old, new in edits:
                assert old in code, old
                code = code.replace(old, new)
        return code
    return SOURCE.module(transform)


def student(name, grade_id, *edits, objects=None):
    """A mistake: the exercise's objects from a mutant, labelled `name` for the test ids."""
    def build():
        module = mutant(grade_id, *edits)
        return [getattr(module, attribute) for attribute in objects]
    build.__name__ = name
    return build


SIZE, FWD, BWD = "conv_output_size", "conv_forward_naive", "conv_backward_naive"
POOL, UNPOOL, FIELD, TRANS, IM2COL = ("max_pool_forward", "max_pool_backward", "receptive_field",
                                      "conv_transpose_forward", "im2col_conv")
_OBJECTS = {SIZE: ["conv_output_size"], FWD: ["conv_forward_naive"], BWD: ["conv_backward_naive"],
            POOL: ["max_pool_forward_naive"], UNPOOL: ["max_pool_backward_naive"],
            FIELD: ["receptive_field"], TRANS: ["conv_transpose_forward"],
            IM2COL: ["im2col", "conv_forward_im2col"]}


def mistake(exercise, name, phrase, *edits):
    return (f"nb03.{exercise}", student(name, exercise, *edits, objects=_OBJECTS[exercise]), phrase)


_SLICES = ('rows = slice(i * S, i * S + D * (HH - 1) + 1, D)', 'cols = slice(j * S, j * S + D * (WW - 1) + 1, D)')
_POOL_LINE = "out[n, c, i, j] = x[n, c, i * S:i * S + HH, j * S:j * S + WW].max()"
_UNPOOL_LINE = "dx[n, c, i * S + r, j * S + s] += dout[n, c, i, j]"
_FIELD_LINE = "field += dilation * (kernel - 1) * jump"
_PAINT_LINE = "out_pad[n, :, rows, cols] += x[n, c, i, j] * w[c]"
_CROP_LINE = "out = out_pad[:, :, P:P + H_out, P:P + W_out] + b.reshape(1, F_out, 1, 1)"
_COLS_LINE = "cols[:, kh, kw] = x_pad[:, :, rows, columns].transpose(1, 0, 2, 3)"
_PRODUCT_LINE = "out = w.reshape(F, -1) @ cols + b[:, np.newaxis]"

WRONG = [
    # --- Exercise 1: conv_output_size
    mistake(SIZE, "size_without_plus_one", "add + 1",
            ("return (W - span + 2 * P) // S + 1", "return (W - span + 2 * P) // S")),
    mistake(SIZE, "size_never_raises", "must raise ValueError",
            ("if (W - span + 2 * P) % S != 0:", "if False:")),
    mistake(SIZE, "size_ignores_dilation", "undilated kernel",
            ("span = dilation * (F - 1) + 1", "span = F")),
    mistake(SIZE, "size_pads_one_side", "zeros go on EACH side",
            ("(W - span + 2 * P) % S", "(W - span + P) % S"),
            ("return (W - span + 2 * P) // S + 1", "return (W - span + P) // S + 1")),
    mistake(SIZE, "size_ignores_stride", "windows start S = 2 pixels apart",
            ("if (W - span + 2 * P) % S != 0:", "if False:"),
            ("return (W - span + 2 * P) // S + 1", "return W - span + 2 * P + 1")),
    mistake(SIZE, "size_true_division", "should return an int",
            ("return (W - span + 2 * P) // S + 1", "return (W - span + 2 * P) / S + 1")),
    # --- Exercise 2: conv_forward_naive
    mistake(FWD, "forward_unstrided", "1 pixel apart",
            (_SLICES[0], "rows = slice(i, i + D * (HH - 1) + 1, D)"),
            (_SLICES[1], "cols = slice(j, j + D * (WW - 1) + 1, D)")),
    mistake(FWD, "forward_flipped", "kernel flipped",
            ("* w[f]) + b[f]", "* w[f, :, ::-1, ::-1]) + b[f]")),
    mistake(FWD, "forward_no_bias", "the bias b[f] is missing", (") + b[f]", ")")),
    mistake(FWD, "forward_undilated", "dilation D = 2 is ignored",
            (_SLICES[0], "rows = slice(i * S, i * S + HH)"), (_SLICES[1], "cols = slice(j * S, j * S + WW)")),
    mistake(FWD, "forward_first_channel_only", "channel 0 only",
            ("np.sum(x_pad[n, :, rows, cols] * w[f])", "np.sum(x_pad[n, 0, rows, cols] * w[f, 0])")),
    mistake(FWD, "forward_bias_per_channel", "once per input channel",
            ("out[n, f, i, j] = np.sum(x_pad[n, :, rows, cols] * w[f]) + b[f]",
             "out[n, f, i, j] = sum(np.sum(x_pad[n, c, rows, cols] * w[f, c]) + b[f] for c in range(C))")),
    # --- Exercise 3: conv_backward_naive
    mistake(BWD, "backward_crop_at_corner", "dx_pad[:, :, P:P+H",
            ("dx = dx_pad[:, :, P:P + H, P:P + W]", "dx = dx_pad[:, :, :H, :W]")),
    mistake(BWD, "backward_db_overwritten_per_sample", "db equals the last sample's contribution only",
            ("db = dout.sum(axis=(0, 2, 3))", "for n in range(N):\n        db = dout[n].sum(axis=(1, 2))")),
    mistake(BWD, "backward_db_mean", "db is 2 times too small (N = 2)",
            ("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(2, 3)).mean(axis=0)")),
    mistake(BWD, "backward_dw_mean", "dw is 2 times too small (N = 2)",
            ("db = dout.sum(axis=(0, 2, 3))", "db = dout.sum(axis=(0, 2, 3))\n    dw = dw / N")),
    mistake(BWD, "backward_dw_overwritten_per_sample", "dw equals the last sample's contribution only",
            ("    for n in range(N):\n        for f", "    for n in range(N):\n        dw = np.zeros(w.shape)\n        for f")),
    mistake(BWD, "backward_dx_assigned", "not =",
            ("dx_pad[n, :, rows, cols] += dout", "dx_pad[n, :, rows, cols] = dout")),
    mistake(BWD, "backward_dx_flipped", "w[f] as it is",
            ("+= dout[n, f, i, j] * w[f]", "+= dout[n, f, i, j] * w[f, :, ::-1, ::-1]")),
    # --- Exercise 4: max_pool_forward
    mistake(POOL, "pool_square_from_height", "need not be square",
            (_POOL_LINE, "out[n, c, i, j] = x[n, c, i * S:i * S + HH, j * S:j * S + HH].max()")),
    mistake(POOL, "pool_square_from_width", "window height is taken from pool_width",
            (_POOL_LINE, "out[n, c, i, j] = x[n, c, i * S:i * S + WW, j * S:j * S + WW].max()")),
    mistake(POOL, "pool_unstrided", "1 pixel apart",
            (_POOL_LINE, "out[n, c, i, j] = x[n, c, i:i + HH, j:j + WW].max()")),
    mistake(POOL, "pool_window_minus_one", "one row and one column too small",
            (_POOL_LINE, "out[n, c, i, j] = x[n, c, i * S:i * S + HH - 1, j * S:j * S + WW - 1].max()")),
    mistake(POOL, "pool_mean", "average pooling",
            (_POOL_LINE, "out[n, c, i, j] = x[n, c, i * S:i * S + HH, j * S:j * S + WW].mean()")),
    mistake(POOL, "pool_across_channels", "over all channels at once",
            (_POOL_LINE, "out[n, c, i, j] = x[n, :, i * S:i * S + HH, j * S:j * S + WW].max()")),
    # --- Exercise 5: max_pool_backward
    mistake(UNPOOL, "unpool_swapped", "swapped", (_UNPOOL_LINE, "dx[n, c, i * S + s, j * S + r] += dout[n, c, i, j]")),
    mistake(UNPOOL, "unpool_assigned", "use += instead of =",
            (_UNPOOL_LINE, "dx[n, c, i * S + r, j * S + s] = dout[n, c, i, j]")),
    mistake(UNPOOL, "unpool_spread", "reaches EVERY pixel",
            (_UNPOOL_LINE, "dx[n, c, i * S:i * S + HH, j * S:j * S + WW] += dout[n, c, i, j]")),
    mistake(UNPOOL, "unpool_averaged", "as in average pooling",
            (_UNPOOL_LINE, "dx[n, c, i * S:i * S + HH, j * S:j * S + WW] += dout[n, c, i, j] / (HH * WW)")),
    mistake(UNPOOL, "unpool_no_offset", "add the window's offset",
            (_UNPOOL_LINE, "dx[n, c, r, s] += dout[n, c, i, j]")),
    mistake(UNPOOL, "unpool_mask_assigned", "erases the gradients",
            (_UNPOOL_LINE, "dx[n, c, i * S:i * S + HH, j * S:j * S + WW] = "
                           "(window == window.max()) * dout[n, c, i, j]")),
    # --- Exercise 6: receptive_field
    mistake(FIELD, "field_own_stride", "INCLUDING itself",
            (f"{_FIELD_LINE}\n        jump *= stride", f"jump *= stride\n        {_FIELD_LINE}")),
    mistake(FIELD, "field_no_strides", "every stride 1", ("jump *= stride", "pass")),
    mistake(FIELD, "field_no_dilation", "dilations are ignored", (_FIELD_LINE, "field += (kernel - 1) * jump")),
    mistake(FIELD, "field_from_zero", "one too few", ("field, jump = 1, 1", "field, jump = 0, 1")),
    mistake(FIELD, "field_kernel_sum", "whole kernel sizes",
            ("field, jump = 1, 1", "field, jump = 0, 1"), (_FIELD_LINE, _FIELD_LINE + " + 1")),
    mistake(FIELD, "field_dilation_times_kernel", "not dilation * k",
            (_FIELD_LINE, "field += (dilation * kernel - 1) * jump")),
    # --- Exercise 7: conv_transpose_forward
    mistake(TRANS, "transpose_flipped", "kernel is flipped",
            (_PAINT_LINE, "out_pad[n, :, rows, cols] += x[n, c, i, j] * w[c, :, ::-1, ::-1]")),
    mistake(TRANS, "transpose_unstrided", "1 pixel apart",
            (_SLICES[0], "rows = slice(i, i + D * (HH - 1) + 1, D)"),
            (_SLICES[1], "cols = slice(j, j + D * (WW - 1) + 1, D)")),
    mistake(TRANS, "transpose_undilated", "dilation D = 2 is ignored",
            (_SLICES[0], "rows = slice(i * S, i * S + HH)"), (_SLICES[1], "cols = slice(j * S, j * S + WW)")),
    mistake(TRANS, "transpose_no_bias", "the bias is missing",
            (_CROP_LINE, "out = out_pad[:, :, P:P + H_out, P:P + W_out]")),
    mistake(TRANS, "transpose_uncropped", "whole padded canvas",
            (_CROP_LINE, "out = out_pad + b.reshape(1, F_out, 1, 1)")),
    # --- Exercise 8: im2col and conv_forward_im2col
    mistake(IM2COL, "im2col_memory_order", "BEFORE the reshape",
            ("cols = np.empty((C, HH, WW, N, H_out, W_out))", "cols = np.empty((N, H_out, W_out, C, HH, WW))"),
            (_COLS_LINE, "cols[..., kh, kw] = x_pad[:, :, rows, columns].transpose(0, 2, 3, 1)")),
    mistake(IM2COL, "im2col_transposed", "cols is transposed",
            ("return cols.reshape(C * HH * WW, N * H_out * W_out)",
             "return cols.reshape(C * HH * WW, N * H_out * W_out).T")),
    mistake(IM2COL, "im2col_rows_kh_kw_c", "(kh, kw, c) order",
            ("cols = np.empty((C, HH, WW, N, H_out, W_out))", "cols = np.empty((HH, WW, C, N, H_out, W_out))"),
            (_COLS_LINE, "cols[kh, kw] = x_pad[:, :, rows, columns].transpose(1, 0, 2, 3)")),
    mistake(IM2COL, "im2col_unstrided", "1 pixel apart",
            ("(H_out - 1) * S + 1, S)", "H_out)"), ("(W_out - 1) * S + 1, S)", "W_out)")),
    mistake(IM2COL, "im2col_forward_filter_major", "mixes samples and filters",
            ("out = out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3)", "out = out.reshape(N, F, H_out, W_out)")),
    mistake(IM2COL, "im2col_forward_no_bias", "the bias is missing", (_PRODUCT_LINE, "out = w.reshape(F, -1) @ cols")),
    mistake(IM2COL, "im2col_forward_w_taps_last", "no transpose",
            (_PRODUCT_LINE, "out = w.transpose(0, 2, 3, 1).reshape(F, -1) @ cols + b[:, np.newaxis]")),
]


@functools.cache
def _case_file_text(exercise_id, hidden):
    return casedata.dumps(casebook.compute(exercise_id, hidden))


def run_in_process(exercise_id, students, hidden):
    compare.start_run()
    lookup(exercise_id).function(casedata.loads(_case_file_text(exercise_id, hidden)), *students)


_IDS = [w[1].__name__ for w in WRONG]


@pytest.mark.parametrize("exercise_id, build, message", WRONG, ids=_IDS)
def test_usual_mistakes_fail_with_a_precise_message(exercise_id, build, message):
    with pytest.raises(compare.WrongAnswer) as failure:
        run_in_process(exercise_id, build(), hidden=False)
    text = str(failure.value)
    assert message in text, text
    assert "only some entries are wrong" not in text and "constant factor" not in text, text
    assert text.count("diagnosis:") <= 1, text   # never a generic hint after the precise one


@pytest.mark.parametrize("exercise_id, build, message", WRONG, ids=_IDS)
def test_usual_mistakes_fail_the_hidden_cases(exercise_id, build, message):
    try:
        run_in_process(exercise_id, build(), hidden=True)
    except compare.WrongAnswer:
        return
    except Exception as error:  # noqa: BLE001 (the worker fails an error of the student's code too)
        frames = traceback.extract_tb(error.__traceback__)
        assert any(frame.filename.startswith("<") for frame in frames), "the verdict itself raised"
        return
    pytest.fail(f"the hidden cases of {exercise_id} let {build.__name__} pass")


def test_every_exercise_has_five_usual_mistakes():
    counts = {exercise_id: 0 for exercise_id in TestNotebook03.EXERCISES}
    for exercise_id, _, _ in WRONG:
        counts[exercise_id] += 1
    assert min(counts.values()) >= 5, counts
