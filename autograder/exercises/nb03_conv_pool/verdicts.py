"""Verdicts of notebook 03's exercises (student side): the student's answers against the case data.

Every expected value comes from the case data (cases.py, computed by the instructor's side);
the gradient checks differentiate forward passes rebuilt from that data (a convolution from
its per-sample Jacobian, a max pooling from where each window's maximum sits). Each verdict
names the usual mistakes when the student's output equals one of them.
"""
import time

import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict

# What each exercise may not call: the course_lib function that IS the answer, and the ones
# that compute the same thing under another name (a transposed conv's backward is a conv, a
# conv's input gradient is a transposed conv).
_FORBID_CONV_FORWARD = ["course_lib.layers.conv_forward_naive", "course_lib.layers.conv_forward_fast",
                        "course_lib.layers.conv.im2col", "course_lib.layers.conv_transpose_backward"]
_FORBID_CONV_BACKWARD = ["course_lib.layers.conv_backward_naive", "course_lib.layers.conv_backward_fast",
                         "course_lib.layers.conv.col2im", "course_lib.layers.conv_transpose_forward"]
_FORBID_CONV_TRANSPOSE = _FORBID_CONV_BACKWARD
_FORBID_IM2COL = _FORBID_CONV_FORWARD


def _returns_pair(result, name):
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"{name} must return the pair (out, cache), got {type(result).__name__}"
                 + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    return result[0]


def _settings(conv_param):
    """(S, P, D) as written in a case's conv_param (D = 1 when the key is left out)."""
    return conv_param["stride"], conv_param["pad"], conv_param.get("dilation", 1)


def _matches(got, candidate):
    """True when the student's output has candidate's shape and values."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-6, atol=1e-9)


def _fail(name, diagnosis):
    """Fail with a named mistake (the current case is added by compare.true)."""
    compare.true(False, f"{name} is wrong\n  diagnosis: {diagnosis}")


def _array_with_hints(name, got, expected, variants, **kwargs):
    """compare.array, but a usual wrong answer is named first, alone (no generic hint after it).

    variants: list of (candidate array or None, explanation), candidates from the case data.
    """
    if not _matches(got, expected):
        for candidate, explanation in variants:
            if candidate is not None and _matches(got, candidate):
                _fail(name, explanation)
    compare.array(name, got, expected, **kwargs)


# ---------------------------------------------------------------------------- output size

def _size_mistake(got, case):
    """Fail naming the wrong formula that gives `got`, if one does (checked in this order)."""
    expected, S, P, D, span = case["expected"], case["S"], case["P"], case["D"], case["span"]
    if got == expected or isinstance(got, bool) or not isinstance(got, (int, float, np.integer, np.floating)):
        return
    start = f"conv_output_size returned {got}, expected {expected}: "
    if got == case["no_plus_one"]:
        compare.true(False, start + f"(W - span + 2P) / S = {case['numerator']} / {S} = {got} counts "
                     "the steps between the first and the last window; the number of windows is one "
                     "more: add + 1.")
    if D > 1 and got == case["undilated"]:
        compare.true(False, start + f"that is the size for an undilated kernel; with dilation {D} the "
                     f"kernel spans D (F - 1) + 1 = {span} pixels: use the span in place of F.")
    if P > 0 and got == case["pad_once"]:
        compare.true(False, start + f"you added the padding once; P = {P} zeros go on EACH side, so "
                     "the padded input is W + 2P pixels.")
    if S > 1 and got == case["no_stride"]:
        compare.true(False, start + f"that is the number of windows with stride 1; windows start "
                     f"S = {S} pixels apart: divide W - span + 2P by S before adding 1.")


@verdict("nb03.conv_output_size", forbid=["course_lib.geometry.conv_output_size"], timeout=20)
def conv_output_size(case_data, student_conv_output_size):
    """(W - D(F-1) - 1 + 2P) / S + 1 as an int, ValueError for configurations that do not fit."""
    for number, case in enumerate(case_data, 1):
        W, F, S, P, D, expected = (case[key] for key in ("W", "F", "S", "P", "D", "expected"))
        compare.case(number, W=W, F=F, S=S, P=P, dilation=D)
        span = case["span"]
        if expected is None:
            why = (f"the kernel spans {span} pixels but the padded input has only W + 2P = {case['padded']}"
                   if case["too_large"] else
                   f"W - span + 2P = {case['numerator']} is not a multiple of S = {S}")
            try:
                compare.raises(ValueError, student_conv_output_size, W, F, S, P, D)
            except compare.WrongAnswer as failure:
                raise compare.WrongAnswer(f"{failure}\n  this configuration does not fit: {why}, "
                                           "so conv_output_size must raise ValueError.") from None
            continue
        got = student_conv_output_size(W, F, S, P, D)
        _size_mistake(got, case)
        compare.true(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
                     f"conv_output_size should return an int, got {got!r} "
                     f"({type(got).__name__}): use // once you know S divides the numerator.")
        compare.scalar("output size", got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------------------- conv forward

def _forward_hints(case):
    """(wrong output, explanation) pairs for the usual mistakes of a conv forward pass."""
    S, _, D = _settings(case["conv_param"])
    mistakes = case["mistakes"]
    return [
        (mistakes["flipped"],
         "your output is a convolution with the kernel flipped; the layer is a cross-correlation: "
         "multiply x_pad[n, c, i*S + k*D, j*S + l*D] by w[f, c, k, l], no flip."),
        (mistakes["no_bias"], "the bias b[f] is missing: add it to every output."),
        (mistakes["unstrided"],
         f"your windows start 1 pixel apart instead of S = {S}: "
         "output (i, j) reads the window starting at row i*S, column j*S."),
        (mistakes["undilated"],
         f"the dilation D = {D} is ignored: the taps of a window are D pixels apart "
         "(slice step D)."),
        (mistakes["first_channel"],
         "your output uses channel 0 only: each output sums the window times the filter over ALL "
         "C channels, x_pad[n, :, rows, cols] * w[f]."),
        (mistakes["bias_per_channel"],
         f"b[f] is added once per input channel (C = {case['x'].shape[1]} times): add it once per "
         "output, outside any loop over channels."),
    ]


@verdict("nb03.conv_forward_naive", forbid=_FORBID_CONV_FORWARD, timeout=30)
def conv_forward_naive(case_data, student_forward):
    """Student forward vs the reference output, including a hand-worked 3x3 example."""
    hand = case_data["hand"]
    if hand is not None:
        compare.case("3x3 image 0..8, one 2x2 filter of ones, bias 1", x=hand["x"], stride=1, pad=0)
        out = _returns_pair(student_forward(hand["x"].copy(), hand["w"].copy(), hand["b"].copy(),
                                            dict(hand["conv_param"])), "conv_forward_naive")
        _array_with_hints("out", out, hand["out"], _forward_hints(hand))
    for number, case in enumerate(case_data["cases"], 1):
        x, w, b, conv_param = case["x"], case["w"], case["b"], case["conv_param"]
        compare.case(number, x=x, w=w, conv_param=conv_param)
        got = _returns_pair(student_forward(x.copy(), w.copy(), b.copy(), dict(conv_param)),
                            "conv_forward_naive")
        _array_with_hints("out", got, case["out"], _forward_hints(case))


# ---------------------------------------------------------------------------- conv backward

def _linear_forward(jacobian, b, out_shape):
    """The convolution of the case as a function of x: out[n] = J x[n] + b (per filter)."""
    def forward(x_):
        rows = x_.reshape(x_.shape[0], -1) @ jacobian.T
        return rows.reshape(out_shape) + b.reshape(1, -1, 1, 1)
    return forward


def _padding_hint(dx, case):
    """Explain a dx cropped from the wrong place of the padded gradient, else None."""
    crops = case["padding_crops"]
    if crops is None:
        return None
    if any(_matches(dx, crop) for crop in crops):
        P = case["conv_param"]["pad"]
        return (f"you cut the wrong part out of the padded gradient: the input sits at rows "
                f"and columns P .. P + H - 1 of x_pad (P = {P}), so dx = dx_pad[:, :, P:P+H, P:P+W].")
    return None


@verdict("nb03.conv_backward_naive", forbid=_FORBID_CONV_BACKWARD, timeout=30)
def conv_backward_naive(case_data, student_backward):
    """dx, dw, db against the reference's, dx also against finite differences."""
    for number, case in enumerate(case_data, 1):
        x, w, b, conv_param, dout = (case[key] for key in ("x", "w", "b", "conv_param", "dout"))
        compare.case(number, x=x, w=w, conv_param=conv_param)
        got = student_backward(dout.copy(), (x.copy(), w.copy(), b.copy(), dict(conv_param)))
        compare.true(isinstance(got, tuple) and len(got) == 3,
                     f"conv_backward_naive must return the tuple (dx, dw, db), got "
                     f"{type(got).__name__}")
        dx, dw, db = got
        hint = _padding_hint(dx, case) if not _matches(dx, case["dx"]) else None
        if hint:
            _fail("dx", hint)
        _array_with_hints("dx", dx, case["dx"], [
            (case["dx_overwritten"], "where windows overlap, an input pixel collects the gradients "
             "of every window that read it: dx_pad[...] += ..., not =."),
            (case["dx_flipped"], "your dx uses the kernel flipped: in the loops each output spreads "
             "dout[n, f, i, j] * w[f] over the window it read, w[f] as it is.")])
        compare.gradient("dx", dx, _linear_forward(case["jacobian"], b, dout.shape), x, dout)
        N = x.shape[0]
        compare.array("dw", dw, case["dw"], batch_size=N,
                      terms=case["dw_terms"] if N > 1 else None)
        compare.array("db", db, case["db"], batch_size=N,
                      terms=case["db_terms"] if N > 1 else None)


# ---------------------------------------------------------------------------- max pooling

@verdict("nb03.max_pool_forward", forbid=["course_lib.layers.max_pool_forward_naive",
                                          "course_lib.layers.max_pool_forward_fast"], timeout=20)
def max_pool_forward(case_data, student_forward):
    """Each output is the largest value of its window."""
    for number, case in enumerate(case_data, 1):
        x, pool_param = case["x"], case["pool_param"]
        compare.case(number, x=x, pool_param=pool_param)
        got = _returns_pair(student_forward(x.copy(), dict(pool_param)), "max_pool_forward_naive")
        mistakes = case["mistakes"]
        hints = [(mistakes["square_height"], "the window width is taken from pool_height: windows "
                  "are pool_height x pool_width, and need not be square."),
                 (mistakes["square_width"], "the window height is taken from pool_width: windows "
                  "are pool_height x pool_width."),
                 (mistakes["unstrided"], "your windows start 1 pixel apart instead of "
                  f"S = {pool_param['stride']}: output (i, j) reads rows i*S .. i*S + HH - 1."),
                 (mistakes["window_too_small"], "your windows are one row and one column too small: "
                  "the slice i*S : i*S + HH already includes HH rows (the end is excluded)."),
                 (mistakes["mean"], "your output is the MEAN of each window (average pooling); max "
                  "pooling keeps the largest value: .max()."),
                 (mistakes["across_channels"], "your maximum is taken over all channels at once: "
                  "pool every channel separately, x[n, c, rows, cols].max().")]
        _array_with_hints("out", got, case["out"], hints)


def _gather(index):
    """Max pooling near the case's x (no ties): each output is the entry of x at `index`."""
    return lambda x_: x_.reshape(-1)[index]


@verdict("nb03.max_pool_backward", forbid=["course_lib.layers.max_pool_backward_naive",
                                           "course_lib.layers.max_pool_backward_fast"], timeout=20)
def max_pool_backward(case_data, student_backward):
    """All of each output's gradient goes to the position of its window's maximum."""
    for number, case in enumerate(case_data, 1):
        x, pool_param, dout = case["x"], case["pool_param"], case["dout"]
        compare.case(number, x=x, pool_param=pool_param)
        got = student_backward(dout.copy(), (x.copy(), dict(pool_param)))
        mistakes = case["mistakes"]
        hints = [(mistakes["swapped"], "each gradient goes to the wrong pixel of its window: the "
                  "row and the column of the maximum are swapped. np.argmax gives a flat index; "
                  "np.unravel_index(index, window.shape) turns it into (row, column)."),
                 (mistakes["overwritten"], "where windows overlap, a pixel that is the maximum of "
                  "several windows must collect all their gradients: use += instead of =."),
                 (mistakes["spread"], "each dout reaches EVERY pixel of its window; only the maximum "
                  "(np.argmax of the window) gets it, the other pixels get 0."),
                 (mistakes["averaged"], "each dout is shared out evenly over its window, as in "
                  "average pooling; in max pooling all of it goes to the window's maximum."),
                 (mistakes["unshifted"], "the gradient lands at the maximum's position INSIDE its "
                  "window, as if every window started at (0, 0): add the window's offset, row "
                  "i*S + r, column j*S + s."),
                 (mistakes["window_assigned"], "you assign a whole window of dx (mask * dout) with =: "
                  "where windows overlap, this erases the gradients earlier windows put there; "
                  "add (+=) instead.")]
        _array_with_hints("dx", got, case["dx"], hints)
        compare.gradient("dx", got, _gather(case["max_index"]), x, dout)


# ---------------------------------------------------------------------------- receptive field

_FIELD_MISTAKES = [
    ("own_stride", "you multiplied each layer's extra taps by the strides of the layers up to and "
                   "INCLUDING itself. A layer's own stride only spaces out the layers after it: use "
                   "the product of the strides of the earlier layers."),
    ("no_strides", "that is the field with every stride 1: each layer's extra taps are spaced by the "
                   "product of the strides of the layers before it."),
    ("no_dilation", "the dilations are ignored: a dilated layer spans dilation * (k - 1) + 1 "
                    "pixels, so it adds dilation * (k - 1), not k - 1."),
    ("from_zero", "that is one too few: start from 1 (a single output pixel sees 1 pixel) and add "
                  "each layer's extra taps."),
    ("kernel_sum", "you added whole kernel sizes; stacking a layer adds its span MINUS 1 (neighbouring "
                   "windows overlap): r = 1 + sum of (span - 1) * jump."),
    ("dilation_times_kernel", "a dilated kernel spans dilation * (k - 1) + 1 pixels, not "
                              "dilation * k."),
]


def _field_mistake(got, case):
    """Fail naming the wrong formula that gives `got`, if one does."""
    wrong = {"own_stride": case["own_stride"], **case["wrong"]}
    for key, explanation in _FIELD_MISTAKES:
        if got == wrong[key]:
            compare.true(False, f"receptive_field returned {got}, expected {case['field']}: "
                                + explanation)


@verdict("nb03.receptive_field", forbid=["course_lib.geometry.receptive_field"], timeout=20)
def receptive_field(case_data, student_receptive_field):
    """r = 1 + sum_l (k_l - 1) prod_{i<l} s_i, with k_l the dilated kernel size."""
    for number, case in enumerate(case_data, 1):
        stack, expected = case["layers"], case["field"]
        compare.case(number, layers=stack)
        got = student_receptive_field(list(stack))
        compare.true(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
                     f"receptive_field should return an int, got {got!r} ({type(got).__name__})")
        if got != expected:
            _field_mistake(got, case)
        compare.scalar("receptive field", got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------------------- transposed conv

def _adjoint_message(got, case, left, right):
    """Explain a failed adjoint test, naming the usual mistake when the output shows it."""
    lines = ["conv_transpose_forward is not the adjoint (transpose) of the convolution with the "
             f"same weights: for a random probe image p, <conv_transpose(x), p> = {left:.10g} but "
             f"<x, conv(p)> = {right:.10g}; they must be equal.",
             "  (zero biases; conv uses w read as conv weights (F, C, HH, WW) = (C_in, F_out, HH, WW))"]
    S, _, _ = _settings(case["conv_param"])
    if _matches(got, case["flipped"]):
        lines.append("  diagnosis: your kernel is flipped. Each input pixel paints w[c] as it is "
                     "(w[c, :, k, l] lands at row i*S + k*D, column j*S + l*D), no flip.")
    elif case["unstrided"] is not None and _matches(got, case["unstrided"]):
        lines.append(f"  diagnosis: the kernel copies are painted 1 pixel apart instead of "
                     f"S = {S}: input pixel (i, j) paints from row i*S, column j*S.")
    elif case["undilated"] is not None and _matches(got, case["undilated"]):
        lines.append(f"  diagnosis: the dilation D = {case['conv_param']['dilation']} is ignored: the "
                     "taps of each painted copy are D pixels apart (slice step D).")
    return "\n".join(lines)


@verdict("nb03.conv_transpose_forward", forbid=_FORBID_CONV_TRANSPOSE, timeout=30)
def conv_transpose_forward(case_data, student_forward):
    """<conv_transpose(y), x> == <y, conv(x)> for every x (zero biases), then the full output."""
    for number, case in enumerate(case_data, 1):
        y, w, b, conv_param, x_shape = (case[key] for key in ("y", "w", "b", "conv_param", "x_shape"))
        compare.case(number, x=y, w=w, conv_param=conv_param)
        no_bias = np.zeros(w.shape[1])
        got = _returns_pair(student_forward(y.copy(), w.copy(), no_bias, dict(conv_param)),
                            "conv_transpose_forward")
        if isinstance(got, np.ndarray) and got.shape == case["uncropped_shape"] != x_shape:
            _fail("out", f"out has shape {got.shape}, expected {x_shape}: you returned the whole "
                  f"padded canvas; cut P = {case['conv_param']['pad']} rows and columns off each "
                  "side, as the padding of the convolution it transposes.")
        compare.true(isinstance(got, np.ndarray) and got.shape == x_shape,
                     f"out should have shape {x_shape} (the shape of the input of the convolution "
                     f"it transposes: H_out = (H - 1) S - 2P + D (HH - 1) + 1), got "
                     f"{getattr(got, 'shape', type(got).__name__)}")
        for probe in case["probes"]:
            left, right = float(np.sum(got * probe["x"])), float(np.sum(y * probe["conv"]))
            if not np.isclose(left, right, rtol=1e-6, atol=1e-9):
                compare.true(False, _adjoint_message(got, case, left, right))
        with_bias = _returns_pair(student_forward(y.copy(), w.copy(), b.copy(), dict(conv_param)),
                                  "conv_transpose_forward")
        _array_with_hints("out (with bias)", with_bias, case["out"], [
            (got, "the bias is missing: add b[f] to every pixel of output channel f, once, after "
                  "the painting.")])


# ---------------------------------------------------------------------------- im2col

def _best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _loop_cost(x, w, b, count):
    """What the naive loops cost on this computer: `count` Python steps, each one slice of x
    times a filter, summed, plus a bias. Always the same slice and filter, so this computes
    no convolution: only the time of one, to compare the vectorised forward with."""
    result = np.empty(count)
    rows, cols = w.shape[2], w.shape[3]
    for step in range(count):
        result[step] = np.sum(x[0, :, 0:rows:1, 0:cols:1] * w[0]) + b[0]
    return result


SPEED_FACTOR = 5  # the vectorised forward must beat the naive loops at least this many times


@verdict("nb03.im2col_conv", forbid=_FORBID_IM2COL, timeout=40)
def im2col_conv(case_data, student_im2col, student_forward):
    """cols in the documented layout, the forward equal to the naive one, and much faster."""
    for number, case in enumerate(case_data["cases"], 1):
        x, w, b, conv_param = case["x"], case["w"], case["b"], case["conv_param"]
        HH, WW = w.shape[2:]
        compare.case(number, x=x, HH=HH, WW=WW, conv_param=conv_param)
        cols = student_im2col(x.copy(), HH, WW, dict(conv_param))
        _array_with_hints("cols", cols, case["cols"], [
            (case["cols_memory_order"], "your entries are in (n, i, j, c, kh, kw) memory order: "
             "build the array as (C, HH, WW, N, H_out, W_out) (or transpose to that order) BEFORE "
             "the reshape, which never moves entries between axes."),
            (case["cols_transposed"], "cols is transposed: one ROW per filter tap (c, kh, kw), one "
             "COLUMN per output position (n, i, j)."),
            (case["cols_channels_last"], "your rows are in (kh, kw, c) order; the channel comes "
             "FIRST: row c * HH * WW + kh * WW + kw, the order of w.reshape(F, -1). Put the C axis "
             "before the kernel axes before the reshape."),
            (case["cols_unstrided"], f"your windows start 1 pixel apart instead of S = "
             f"{conv_param['stride']}: take every S-th pixel (slice step S) from kh * D on.")])
        compare.case(number, x=x, w=w, conv_param=conv_param)
        got = _returns_pair(student_forward(x.copy(), w.copy(), b.copy(), dict(conv_param)),
                            "conv_forward_im2col")
        _array_with_hints("out", got, case["out"], [
            (case["out_filter_major"], "the product w_rows @ cols is ordered (F, N, H_out, W_out): "
             "reshape it to that shape and then transpose(1, 0, 2, 3); reshaping straight to "
             "(N, F, ...) mixes samples and filters."),
            (case["out_no_bias"], "the bias is missing: add b[f] to row f of the product."),
            (case["out_w_channels_last"], "your filter rows are in (kh, kw, c) order, cols' rows "
             "in (c, kh, kw): reshape w (F, C, HH, WW) straight to (F, C * HH * WW), no transpose.")])
    speed = case_data["speed"]
    x, w, b, conv_param = speed["x"], speed["w"], speed["b"], speed["conv_param"]
    compare.case("speed", x=x, w=w, conv_param=conv_param)
    naive = _best_time(lambda: _loop_cost(x, w, b, speed["outputs"]), 2)
    fast = _best_time(lambda: student_forward(x, w, b, dict(conv_param)), 5)
    compare.true(fast * SPEED_FACTOR <= naive,
                 f"conv_forward_im2col took {fast * 1e3:.1f} ms, the naive loops "
                 f"{naive * 1e3:.1f} ms: it should be at least {SPEED_FACTOR} times faster. "
                 "Loop only over the HH * WW kernel offsets (never over output positions) "
                 "and do the arithmetic in one matrix multiply.")
