"""Exercise checks of notebook 03 (convolution and pooling, from loops to fast).

nb03.conv_output_size       student(W, F, S, P, dilation=1) -> int; ValueError when it does not fit
nb03.conv_forward_naive     student(x, w, b, conv_param) -> (out, cache); stride, pad, dilation
nb03.conv_backward_naive    student(dout, cache) -> (dx, dw, db) with cache = (x, w, b, conv_param)
nb03.max_pool_forward       student(x, pool_param) -> (out, cache)
nb03.max_pool_backward      student(dout, cache) -> dx with cache = (x, pool_param)
nb03.receptive_field        student(layers) -> int, layers: (kernel, stride[, dilation]) tuples
nb03.conv_transpose_forward student(x, w, b, conv_param) -> (out, cache); checked as the adjoint
                            of a convolution, then against course_lib
nb03.im2col_conv            student im2col(x, HH, WW, conv_param) -> cols and
                            conv_forward_im2col(x, w, b, conv_param) -> (out, cache); must match
                            the naive forward and be much faster than it

Expected values are hand-worked literals (the lecture examples) or come from course_lib's
reference layers; hidden cases draw random shapes and (fitting) configurations from rng.
Every checked input is small so that a student's loops finish in well under a second.
"""
import time

import numpy as np

from autograder.check import compare
from autograder.check.registry import exercise
from course_lib import geometry, layers
from course_lib.layers import conv as conv_module

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


def _conv_param(S, P, D):
    """conv_param dict for stride S, pad P and dilation D (the key left out when D = 1)."""
    param = {"stride": S, "pad": P}
    if D != 1:
        param["dilation"] = D
    return param


def _matches(got, candidate):
    """True when the student's output has candidate's shape and values."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return got.shape == candidate.shape and np.allclose(got, candidate, rtol=1e-6, atol=1e-9)


def _array_with_hints(name, got, expected, variants, **kwargs):
    """compare.array, plus a diagnosis when `got` equals one of the usual wrong answers.

    variants: list of (candidate array, explanation) computed from the case's inputs.
    """
    try:
        compare.array(name, got, expected, **kwargs)
    except compare.WrongAnswer as failure:
        for candidate, explanation in variants:
            if candidate is not None and _matches(got, candidate):
                raise compare.WrongAnswer(f"{failure}\n  diagnosis: {explanation}") from None
        raise


# ---------------------------------------------------------------------------- output size

_SIZE_CASES_VISIBLE = [
    # (W, F, S, P, dilation, expected or None when it does not fit)
    (7, 3, 1, 0, 1, 5), (7, 3, 2, 0, 1, 3), (7, 3, 3, 0, 1, None),
    (32, 5, 1, 2, 1, 32), (32, 5, 1, 0, 1, 28), (28, 5, 1, 0, 1, 24),
    (56, 1, 1, 0, 1, 56), (7, 3, 1, 0, 2, 3), (5, 7, 1, 0, 1, None), (5, 7, 1, 1, 1, 1),
]


def _random_size_cases(rng):
    cases = []
    while len(cases) < 12:
        W, F = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        S, P, D = int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        span = D * (F - 1) + 1
        fits = span <= W + 2 * P and (W - span + 2 * P) % S == 0
        # keep about half of the cases fitting, half not
        if fits == (len(cases) % 2 == 0):
            cases.append((W, F, S, P, D, (W - span + 2 * P) // S + 1 if fits else None))
    return cases


@exercise("nb03.conv_output_size", forbid=["course_lib.geometry.conv_output_size"], timeout=20)
def conv_output_size(rng, hidden, student_conv_output_size):
    """(W - D(F-1) - 1 + 2P) / S + 1 as an int, ValueError for configurations that do not fit."""
    cases = _random_size_cases(rng) if hidden else _SIZE_CASES_VISIBLE
    for number, (W, F, S, P, D, expected) in enumerate(cases, 1):
        compare.case(number, W=W, F=F, S=S, P=P, dilation=D)
        span = D * (F - 1) + 1
        if expected is None:
            why = (f"the kernel spans {span} pixels but the padded input has only W + 2P = {W + 2 * P}"
                   if span > W + 2 * P else
                   f"W - span + 2P = {W - span + 2 * P} is not a multiple of S = {S}")
            try:
                compare.raises(ValueError, student_conv_output_size, W, F, S, P, D)
            except compare.WrongAnswer as failure:
                raise compare.WrongAnswer(f"{failure}\n  this configuration does not fit: {why}, "
                                           "so conv_output_size must raise ValueError.") from None
            continue
        got = student_conv_output_size(W, F, S, P, D)
        if D > 1 and got == (W - F + 2 * P) // S + 1 and got != expected:
            compare.true(False, f"conv_output_size returned {got}, the size for an undilated kernel; "
                                f"with dilation {D} the kernel spans D (F - 1) + 1 = {span} pixels: "
                                "use the span in place of F.")
        compare.true(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
                     f"conv_output_size should return an int, got {got!r} "
                     f"({type(got).__name__}): use // once you know S divides the numerator.")
        compare.scalar("output size", got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------------------- conv forward

def _random_conv_config(rng, max_out=3):
    """Small (x shape, w shape, S, P, D) that fit exactly, drawn at random."""
    while True:
        N, C, F = (int(v) for v in rng.integers(1, 4, size=3))
        HH, WW = (int(v) for v in rng.integers(1, 4, size=2))
        S, D = int(rng.integers(1, 3)), int(rng.integers(1, 3))
        P = int(rng.integers(0, 3))
        H_out, W_out = (int(v) for v in rng.integers(1, max_out + 1, size=2))
        H = S * (H_out - 1) + D * (HH - 1) + 1 - 2 * P
        W = S * (W_out - 1) + D * (WW - 1) + 1 - 2 * P
        if H >= 1 and W >= 1 and P < D * (max(HH, WW) - 1) + 1:
            return (N, C, H, W), (F, C, HH, WW), S, P, D


_CONV_CONFIGS_VISIBLE = [
    ((2, 3, 5, 5), (2, 3, 3, 3), 2, 1, 1),   # stride 2 with zero-padding
    ((1, 2, 4, 6), (3, 2, 2, 3), 1, 0, 1),   # non-square input and kernel
    ((2, 1, 5, 5), (2, 1, 3, 3), 1, 2, 2),   # dilation 2
    ((1, 2, 7, 7), (1, 2, 3, 3), 3, 1, 1),   # stride 3, (7 - 3 + 2) / 3 + 1 = 3
]


def _conv_cases(rng, hidden):
    """(x, w, b, conv_param) tuples; the first visible one is worked by hand in the notebook."""
    configs = [_random_conv_config(rng) for _ in range(5)] if hidden else _CONV_CONFIGS_VISIBLE
    cases = []
    for x_shape, w_shape, S, P, D in configs:
        cases.append((rng.standard_normal(x_shape), rng.standard_normal(w_shape),
                      rng.standard_normal(w_shape[0]), _conv_param(S, P, D)))
    return cases


def _conv_forward_mistakes(x, w, b, conv_param, expected):
    """(wrong output, explanation) pairs for the usual mistakes of a conv forward pass."""
    S, P, D = conv_module.read_conv_param(conv_param)
    H_out, W_out = expected.shape[2:]
    mistakes = [
        (layers.conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)[0],
         "your output is a convolution with the kernel flipped; the layer is a cross-correlation: "
         "multiply x_pad[n, c, i*S + k*D, j*S + l*D] by w[f, c, k, l], no flip."),
        (expected - b.reshape(1, -1, 1, 1), "the bias b[f] is missing: add it to every output."),
    ]
    if S > 1:
        unstrided = layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": P, "dilation": D})[0]
        mistakes.append((unstrided[:, :, :H_out, :W_out],
                         f"your windows start 1 pixel apart instead of S = {S}: "
                         "output (i, j) reads the window starting at row i*S, column j*S."))
    if D > 1:
        # Undilated windows at the same starts: stride 1, then every S-th output.
        undilated = layers.conv_forward_naive(x, w, b, {"stride": 1, "pad": P})[0][:, :, ::S, ::S]
        mistakes.append((undilated[:, :, :H_out, :W_out],
                         f"the dilation D = {D} is ignored: the taps of a window are D pixels apart "
                         "(slice step D)."))
    return mistakes


@exercise("nb03.conv_forward_naive", forbid=_FORBID_CONV_FORWARD, timeout=30)
def conv_forward_naive(rng, hidden, student_forward):
    """Student forward vs course_lib's, including a hand-worked 3x3 example."""
    if not hidden:
        x = np.arange(9.0).reshape(1, 1, 3, 3)
        compare.case("3x3 image 0..8, one 2x2 filter of ones, bias 1", x=x, stride=1, pad=0)
        out = _returns_pair(student_forward(x, np.ones((1, 1, 2, 2)), np.ones(1),
                                            {"stride": 1, "pad": 0}), "conv_forward_naive")
        compare.array("out", out, np.array([[[[9.0, 13.0], [21.0, 25.0]]]]))
    for number, (x, w, b, conv_param) in enumerate(_conv_cases(rng, hidden), 1):
        compare.case(number, x=x, w=w, conv_param=conv_param)
        expected, _ = layers.conv_forward_naive(x, w, b, conv_param)
        got = _returns_pair(student_forward(x.copy(), w.copy(), b.copy(), dict(conv_param)),
                            "conv_forward_naive")
        _array_with_hints("out", got, expected, _conv_forward_mistakes(x, w, b, conv_param, expected))


# ---------------------------------------------------------------------------- conv backward

def _dx_padding_hint(dx, dout, x, w, conv_param):
    """Explain a dx cropped from the wrong place of the padded gradient, else None."""
    S, P, D = conv_module.read_conv_param(conv_param)
    if P == 0:
        return None
    H, W = x.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    _, cache = layers.conv_forward_naive(x_pad, w, np.zeros(w.shape[0]),
                                         {"stride": S, "pad": 0, "dilation": D})
    dx_pad = layers.conv_backward_naive(dout, cache)[0]
    for rows, cols in [(slice(0, H), slice(0, W)), (slice(2 * P, None), slice(2 * P, None))]:
        if _matches(dx, dx_pad[:, :, rows, cols]):
            return (f"you cut the wrong part out of the padded gradient: the input sits at rows "
                    f"and columns P .. P + H - 1 of x_pad (P = {P}), so dx = dx_pad[:, :, P:P+H, P:P+W].")
    return None


@exercise("nb03.conv_backward_naive", forbid=_FORBID_CONV_BACKWARD, timeout=30)
def conv_backward_naive(rng, hidden, student_backward):
    """dx, dw, db against course_lib's reference, dx also against finite differences."""
    for number, (x, w, b, conv_param) in enumerate(_conv_cases(rng, hidden), 1):
        compare.case(number, x=x, w=w, conv_param=conv_param)
        out, cache = layers.conv_forward_naive(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape)
        expected = layers.conv_backward_naive(dout, cache)
        got = student_backward(dout.copy(), (x.copy(), w.copy(), b.copy(), dict(conv_param)))
        compare.true(isinstance(got, tuple) and len(got) == 3,
                     f"conv_backward_naive must return the tuple (dx, dw, db), got "
                     f"{type(got).__name__}")
        dx, dw, db = got
        try:
            compare.gradient("dx", dx, lambda x_: layers.conv_forward_naive(x_, w, b, conv_param)[0],
                             x, dout)
        except compare.WrongAnswer as failure:
            hint = _dx_padding_hint(dx, dout, x, w, conv_param)
            if hint:
                raise compare.WrongAnswer(f"{failure}\n  diagnosis: {hint}") from None
            raise
        compare.array("dx", dx, expected[0])
        compare.array("dw", dw, expected[1], batch_size=x.shape[0])
        compare.array("db", db, expected[2], batch_size=x.shape[0])


# ---------------------------------------------------------------------------- max pooling

LECTURE_POOL_INPUT = np.array([[1.0, 1.0, 2.0, 4.0], [5.0, 6.0, 7.0, 8.0],
                               [3.0, 2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0]])

_POOL_CONFIGS_VISIBLE = [
    ((2, 3, 4, 6), 2, 2, 2),   # the usual 2x2, stride 2
    ((1, 2, 5, 5), 3, 3, 1),   # overlapping 3x3 windows, stride 1
    ((1, 1, 4, 7), 2, 3, 1),   # non-square 2x3 windows
]


def _distinct_values(rng, shape):
    """Random values with no ties, so that every window has a single maximum."""
    size = int(np.prod(shape))
    return (rng.permutation(size) + rng.uniform(0.1, 0.9, size=size)).reshape(shape) / size * 4 - 2


def _random_pool_config(rng):
    HH, WW, S = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.integers(1, 3))
    H_out, W_out = (int(v) for v in rng.integers(1, 4, size=2))
    N, C = (int(v) for v in rng.integers(1, 3, size=2))
    return (N, C, S * (H_out - 1) + HH, S * (W_out - 1) + WW), HH, WW, S


def _pool_cases(rng, hidden):
    """(x, pool_param) tuples; visible ones start with the lecture's 4x4 example."""
    configs = [_random_pool_config(rng) for _ in range(5)] if hidden else _POOL_CONFIGS_VISIBLE
    cases = [] if hidden else [(LECTURE_POOL_INPUT.reshape(1, 1, 4, 4),
                                {"pool_height": 2, "pool_width": 2, "stride": 2})]
    for shape, HH, WW, S in configs:
        cases.append((_distinct_values(rng, shape),
                      {"pool_height": HH, "pool_width": WW, "stride": S}))
    return cases


def _pool_windows_max(x, HH, WW, S, out_shape):
    """Max over HH x WW windows S apart, cut to out_shape (a wrong pooling, for diagnoses).
    Windows running over the border are clipped, as numpy slices are."""
    N, C, H_out, W_out = out_shape
    out = np.empty(out_shape)
    for i in range(H_out):
        for j in range(W_out):
            out[:, :, i, j] = x[:, :, i * S:i * S + HH, j * S:j * S + WW].max(axis=(2, 3))
    return out


def _routed(x, dout, pool_param, swap=False, accumulate=True):
    """Max-pool gradient with the maximum's row and column optionally swapped, or written with
    = instead of += (wrong variants, for diagnoses); None when a swap leaves the input."""
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(dout.shape):
        window = x[n, c, i * S:i * S + HH, j * S:j * S + WW]
        r, s = np.unravel_index(np.argmax(window), window.shape)
        if swap:
            r, s = s, r
        row, col = i * S + r, j * S + s
        if row >= x.shape[2] or col >= x.shape[3]:
            return None
        dx[n, c, row, col] = dx[n, c, row, col] + dout[n, c, i, j] if accumulate else dout[n, c, i, j]
    return dx


@exercise("nb03.max_pool_forward", forbid=["course_lib.layers.max_pool_forward_naive",
                                           "course_lib.layers.max_pool_forward_fast"], timeout=20)
def max_pool_forward(rng, hidden, student_forward):
    """Each output is the largest value of its window."""
    for number, (x, pool_param) in enumerate(_pool_cases(rng, hidden), 1):
        compare.case(number, x=x, pool_param=pool_param)
        expected, _ = layers.max_pool_forward_naive(x, pool_param)
        if number == 1 and not hidden:
            expected = np.array([[[[6.0, 8.0], [3.0, 4.0]]]])  # the lecture's answer
        got = _returns_pair(student_forward(x.copy(), dict(pool_param)), "max_pool_forward_naive")
        HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
        mistakes = [(_pool_windows_max(x, HH, HH, S, expected.shape), "the window width is taken from "
                     "pool_height: windows are pool_height x pool_width, and need not be square."),
                     (_pool_windows_max(x, WW, WW, S, expected.shape), "the window height is taken "
                      "from pool_width: windows are pool_height x pool_width."),
                     (_pool_windows_max(x, HH, WW, 1, expected.shape), "your windows start 1 pixel "
                      f"apart instead of S = {S}: output (i, j) reads rows i*S .. i*S + HH - 1.")]
        _array_with_hints("out", got, expected, mistakes)


@exercise("nb03.max_pool_backward", forbid=["course_lib.layers.max_pool_backward_naive",
                                            "course_lib.layers.max_pool_backward_fast"], timeout=20)
def max_pool_backward(rng, hidden, student_backward):
    """All of each output's gradient goes to the position of its window's maximum."""
    for number, (x, pool_param) in enumerate(_pool_cases(rng, hidden), 1):
        compare.case(number, x=x, pool_param=pool_param)
        out, cache = layers.max_pool_forward_naive(x, pool_param)
        dout = rng.standard_normal(out.shape)
        expected = layers.max_pool_backward_naive(dout, cache)
        got = student_backward(dout.copy(), (x.copy(), dict(pool_param)))
        mistakes = [(_routed(x, dout, pool_param, swap=True), "each gradient goes to the wrong pixel of "
                     "its window: the row and the column of the maximum are swapped. np.argmax gives "
                     "a flat index; np.unravel_index(index, window.shape) turns it into (row, column)."),
                    (_routed(x, dout, pool_param, accumulate=False), "where windows overlap, a pixel "
                     "that is the maximum of several windows must collect all their gradients: "
                     "use += instead of =.")]
        _array_with_hints("dx", got, expected, mistakes)
        compare.gradient("dx", got, lambda x_: layers.max_pool_forward_naive(x_, pool_param)[0],
                         x, dout)


# ---------------------------------------------------------------------------- receptive field

_FIELD_CASES_VISIBLE = [
    ([(3, 1)], 3),
    ([(3, 1), (3, 1), (3, 1)], 7),                      # three 3x3 convs see 7x7
    ([(5, 1), (2, 2), (5, 1), (2, 2)], 16),             # conv-pool-conv-pool
    ([(3, 2), (3, 2), (3, 2)], 15),                     # strides multiply
    ([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 15),            # dilations 1, 2, 4
    ([(1, 1), (1, 1)], 1),                              # 1x1 convs add nothing
]


def _random_stack(rng):
    stack = []
    for _ in range(int(rng.integers(2, 6))):
        kernel, stride = int(rng.integers(1, 6)), int(rng.integers(1, 4))
        if rng.random() < 0.3:
            stack.append((kernel, stride, int(rng.integers(1, 4))))
        else:
            stack.append((kernel, stride))
    return stack


def _field_with_own_stride(stack):
    """The usual wrong formula: prod over i <= l instead of i < l."""
    field, jump = 1, 1
    for layer in stack:
        jump *= layer[1]
        field += (layer[2] if len(layer) == 3 else 1) * (layer[0] - 1) * jump
    return field


@exercise("nb03.receptive_field", forbid=["course_lib.geometry.receptive_field"], timeout=20)
def receptive_field(rng, hidden, student_receptive_field):
    """r = 1 + sum_l (k_l - 1) prod_{i<l} s_i, with k_l the dilated kernel size."""
    if hidden:
        cases = [(stack, geometry.receptive_field(stack)) for stack in
                 (_random_stack(rng) for _ in range(8))]
    else:
        cases = _FIELD_CASES_VISIBLE
    for number, (stack, expected) in enumerate(cases, 1):
        compare.case(number, layers=stack)
        got = student_receptive_field(list(stack))
        compare.true(isinstance(got, (int, np.integer)) and not isinstance(got, bool),
                     f"receptive_field should return an int, got {got!r} ({type(got).__name__})")
        if got != expected and got == _field_with_own_stride(stack):
            compare.true(False, f"receptive_field returned {got}, expected {expected}: you multiplied "
                                "each layer's extra taps by the strides of the layers up to and "
                                "INCLUDING itself. A layer's own stride only spaces out the layers "
                                "after it: use the product of the strides of the earlier layers.")
        compare.scalar("receptive field", got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------------------- transposed conv

def _transpose_cases(rng, hidden):
    """(y, w, b, conv_param, x_shape): y is shaped like the output of a convolution of an
    x_shape input with w, shape (C_in=F, F_out=C, HH, WW) read as conv weights (F, C, HH, WW)."""
    configs = ([_random_conv_config(rng) for _ in range(4)] if hidden else
               [((1, 1, 4, 4), (1, 1, 3, 3), 1, 0, 1), *_CONV_CONFIGS_VISIBLE])
    cases = []
    for x_shape, w_shape, S, P, D in configs:
        conv_param = _conv_param(S, P, D)
        H_out = geometry.conv_output_size(x_shape[2], w_shape[2], S, P, D)
        W_out = geometry.conv_output_size(x_shape[3], w_shape[3], S, P, D)
        y = rng.standard_normal((x_shape[0], w_shape[0], H_out, W_out))
        cases.append((y, rng.standard_normal(w_shape), rng.standard_normal(w_shape[1]),
                      conv_param, x_shape))
    return cases


def _adjoint_message(got, y, w, conv_param, left, right):
    """Explain a failed adjoint test, naming the usual mistake when the output shows it."""
    lines = ["conv_transpose_forward is not the adjoint (transpose) of the convolution with the "
             f"same weights: for a random probe image p, <conv_transpose(x), p> = {left:.10g} but "
             f"<x, conv(p)> = {right:.10g}; they must be equal.",
             "  (zero biases; conv uses w read as conv weights (F, C, HH, WW) = (C_in, F_out, HH, WW))"]
    S, P, D = conv_module.read_conv_param(conv_param)
    no_bias = np.zeros(w.shape[1])
    flipped = layers.conv_transpose_forward(y, w[:, :, ::-1, ::-1].copy(), no_bias, conv_param)[0]
    if _matches(got, flipped):
        lines.append("  diagnosis: your kernel is flipped. Each input pixel paints w[c] as it is "
                     "(w[c, :, k, l] lands at row i*S + k*D, column j*S + l*D), no flip.")
    elif S > 1:
        full = (y.shape[2] - 1) + D * (w.shape[2] - 1) + 1, (y.shape[3] - 1) + D * (w.shape[3] - 1) + 1
        if got.shape[2] <= full[0] - 2 * P and got.shape[3] <= full[1] - 2 * P:
            unstrided = layers.conv_transpose_forward(y, w, no_bias, {"stride": 1, "pad": P, "dilation": D})[0]
            if _matches(got, unstrided[:, :, :got.shape[2], :got.shape[3]]):
                lines.append(f"  diagnosis: the kernel copies are painted 1 pixel apart instead of "
                             f"S = {S}: input pixel (i, j) paints from row i*S, column j*S.")
    return "\n".join(lines)


@exercise("nb03.conv_transpose_forward", forbid=_FORBID_CONV_TRANSPOSE, timeout=30)
def conv_transpose_forward(rng, hidden, student_forward):
    """<conv_transpose(y), x> == <y, conv(x)> for every x (zero biases), then the full output."""
    for number, (y, w, b, conv_param, x_shape) in enumerate(_transpose_cases(rng, hidden), 1):
        compare.case(number, x=y, w=w, conv_param=conv_param)
        no_bias = np.zeros(w.shape[1])
        got = _returns_pair(student_forward(y.copy(), w.copy(), no_bias, dict(conv_param)),
                            "conv_transpose_forward")
        compare.true(isinstance(got, np.ndarray) and got.shape == x_shape,
                     f"out should have shape {x_shape} (the shape of the input of the convolution "
                     f"it transposes: H_out = (H - 1) S - 2P + D (HH - 1) + 1), got "
                     f"{getattr(got, 'shape', type(got).__name__)}")
        for probe in range(2):
            x = rng.standard_normal(x_shape)
            conv_of_x, _ = layers.conv_forward_fast(x, w, np.zeros(w.shape[0]), conv_param)
            left, right = float(np.sum(got * x)), float(np.sum(y * conv_of_x))
            if not np.isclose(left, right, rtol=1e-6, atol=1e-9):
                compare.true(False, _adjoint_message(got, y, w, conv_param, left, right))
        expected, _ = layers.conv_transpose_forward(y, w, b, conv_param)
        with_bias = _returns_pair(student_forward(y.copy(), w.copy(), b.copy(), dict(conv_param)),
                                  "conv_transpose_forward")
        compare.array("out (with bias)", with_bias, expected)


# ---------------------------------------------------------------------------- im2col

def _reference_im2col(x, HH, WW, conv_param):
    S, P, D = conv_module.read_conv_param(conv_param)
    H_out = geometry.conv_output_size(x.shape[2], HH, S, P, D)
    W_out = geometry.conv_output_size(x.shape[3], WW, S, P, D)
    return conv_module.im2col(conv_module.pad_channels_first(x, P), HH, WW, S, D, H_out, W_out)


def _best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


SPEED_FACTOR = 5  # the vectorised forward must beat the naive loops at least this many times


@exercise("nb03.im2col_conv", forbid=_FORBID_IM2COL, timeout=40)
def im2col_conv(rng, hidden, student_im2col, student_forward):
    """cols in the documented layout, the forward equal to the naive one, and much faster."""
    for number, (x, w, b, conv_param) in enumerate(_conv_cases(rng, hidden), 1):
        HH, WW = w.shape[2:]
        compare.case(number, x=x, HH=HH, WW=WW, conv_param=conv_param)
        cols = student_im2col(x.copy(), HH, WW, dict(conv_param))
        expected_cols = _reference_im2col(x, HH, WW, conv_param)
        _array_with_hints("cols", cols, expected_cols, [
            (expected_cols.T.reshape(expected_cols.shape), "your entries are in (n, i, j, c, kh, kw) "
             "memory order: build the array as (C, HH, WW, N, H_out, W_out) (or transpose to that "
             "order) BEFORE the reshape, which never moves entries between axes."),
            (expected_cols.T, "cols is transposed: one ROW per filter tap (c, kh, kw), one COLUMN "
             "per output position (n, i, j).")])
        compare.case(number, x=x, w=w, conv_param=conv_param)
        expected, _ = layers.conv_forward_naive(x, w, b, conv_param)
        got = _returns_pair(student_forward(x.copy(), w.copy(), b.copy(), dict(conv_param)),
                            "conv_forward_im2col")
        F_N_order = expected.transpose(1, 0, 2, 3).reshape(expected.shape)
        _array_with_hints("out", got, expected, [
            (F_N_order, "the product w_rows @ cols is ordered (F, N, H_out, W_out): reshape it to "
             "that shape and then transpose(1, 0, 2, 3); reshaping straight to (N, F, ...) mixes "
             "samples and filters.")])
    x = rng.standard_normal((4, 3, 16, 16))
    w = rng.standard_normal((6, 3, 3, 3))
    b = rng.standard_normal(6)
    conv_param = {"stride": 1, "pad": 1}
    compare.case("speed", x=x, w=w, conv_param=conv_param)
    naive = _best_time(lambda: layers.conv_forward_naive(x, w, b, conv_param), 2)
    fast = _best_time(lambda: student_forward(x, w, b, dict(conv_param)), 5)
    compare.true(fast * SPEED_FACTOR <= naive,
                 f"conv_forward_im2col took {fast * 1e3:.1f} ms, the naive loops "
                 f"{naive * 1e3:.1f} ms: it should be at least {SPEED_FACTOR} times faster. "
                 "Loop only over the HH * WW kernel offsets (never over output positions) "
                 "and do the arithmetic in one matrix multiply.")
