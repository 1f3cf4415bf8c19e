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

from autograder import compare
from autograder.registry import exercise
from course_lib import geometry, layers
from course_lib.layers import conv as conv_module

# One forbidden name per exercise: the course_lib function that IS the answer.
_FORBID_CONV_FORWARD = ["course_lib.layers.conv_forward_naive"]
_FORBID_CONV_BACKWARD = ["course_lib.layers.conv_backward_naive"]
_FORBID_CONV_TRANSPOSE = ["course_lib.layers.conv_transpose_forward"]
# course_lib's conv_forward_fast calls im2col, so this also forbids conv_forward_fast.
_FORBID_IM2COL = ["course_lib.layers.conv.im2col"]


def _returns_pair(result, name):
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"{name} must return the pair (out, cache), got {type(result).__name__}"
                 + (f" of length {len(result)}" if isinstance(result, tuple) else ""))
    return result[0]


def _conv_param_text(S, P, D):
    param = {"stride": S, "pad": P}
    if D != 1:
        param["dilation"] = D
    return param


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
        if expected is None:
            compare.raises(ValueError, student_conv_output_size, W, F, S, P, D)
            continue
        got = student_conv_output_size(W, F, S, P, D)
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
                      rng.standard_normal(w_shape[0]), _conv_param_text(S, P, D)))
    return cases


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
        compare.array("out", got, expected)


# ---------------------------------------------------------------------------- conv backward

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
        compare.gradient("dx", dx, lambda x_: layers.conv_forward_naive(x_, w, b, conv_param)[0],
                         x, dout)
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


@exercise("nb03.max_pool_forward", forbid=["course_lib.layers.max_pool_forward_naive"], timeout=20)
def max_pool_forward(rng, hidden, student_forward):
    """Each output is the largest value of its window."""
    for number, (x, pool_param) in enumerate(_pool_cases(rng, hidden), 1):
        compare.case(number, x=x, pool_param=pool_param)
        expected, _ = layers.max_pool_forward_naive(x, pool_param)
        if number == 1 and not hidden:
            expected = np.array([[[[6.0, 8.0], [3.0, 4.0]]]])  # the lecture's answer
        got = _returns_pair(student_forward(x.copy(), dict(pool_param)), "max_pool_forward_naive")
        compare.array("out", got, expected)


@exercise("nb03.max_pool_backward", forbid=["course_lib.layers.max_pool_backward_naive"], timeout=20)
def max_pool_backward(rng, hidden, student_backward):
    """All of each output's gradient goes to the position of its window's maximum."""
    for number, (x, pool_param) in enumerate(_pool_cases(rng, hidden), 1):
        compare.case(number, x=x, pool_param=pool_param)
        out, cache = layers.max_pool_forward_naive(x, pool_param)
        dout = rng.standard_normal(out.shape)
        expected = layers.max_pool_backward_naive(dout, cache)
        got = student_backward(dout.copy(), (x.copy(), dict(pool_param)))
        compare.gradient("dx", got, lambda x_: layers.max_pool_forward_naive(x_, pool_param)[0],
                         x, dout)
        compare.array("dx", got, expected)


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
        compare.scalar("receptive field", got, expected, rtol=0, atol=0)


# ---------------------------------------------------------------------------- transposed conv

def _transpose_cases(rng, hidden):
    """(y, w, b, conv_param, x_shape): y is shaped like the output of a convolution of an
    x_shape input with w, shape (C_in=F, F_out=C, HH, WW) read as conv weights (F, C, HH, WW)."""
    configs = ([_random_conv_config(rng) for _ in range(4)] if hidden else
               [((1, 1, 4, 4), (1, 1, 3, 3), 1, 0, 1), *_CONV_CONFIGS_VISIBLE])
    cases = []
    for x_shape, w_shape, S, P, D in configs:
        conv_param = _conv_param_text(S, P, D)
        H_out = geometry.conv_output_size(x_shape[2], w_shape[2], S, P, D)
        W_out = geometry.conv_output_size(x_shape[3], w_shape[3], S, P, D)
        y = rng.standard_normal((x_shape[0], w_shape[0], H_out, W_out))
        cases.append((y, rng.standard_normal(w_shape), rng.standard_normal(w_shape[1]),
                      conv_param, x_shape))
    return cases


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
            compare.scalar(f"<conv_transpose(x), probe {probe + 1}> (adjoint test: it must equal "
                           "<x, conv(probe)>)", float(np.sum(got * x)), float(np.sum(y * conv_of_x)))
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
        compare.array("cols", cols, _reference_im2col(x, HH, WW, conv_param))
        compare.case(number, x=x, w=w, conv_param=conv_param)
        expected, _ = layers.conv_forward_naive(x, w, b, conv_param)
        got = _returns_pair(student_forward(x.copy(), w.copy(), b.copy(), dict(conv_param)),
                            "conv_forward_im2col")
        compare.array("out", got, expected)
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
