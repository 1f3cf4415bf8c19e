"""Cases of notebook 03's exercises (instructor side): inputs and the reference's answers.

Expected values are the lecture's hand-worked numbers or come from course_lib's reference
layers; hidden cases draw random shapes and (fitting) configurations from rng, in the same
order as the checks always did. Everything a verdict's diagnosis compares against (the
output of a flipped kernel, a gradient routed to the swapped pixel, ...) is computed here
and named by a key; verdicts.py holds the explanations. The forward passes a gradient
check differentiates are described as data: a convolution by its per-sample Jacobian, a
max pooling by the flat index of each window's maximum.
"""
import numpy as np

from autograder.exercises.casebook import cases
from course_lib import geometry, layers  # the reference answers
from course_lib.layers import conv as conv_module

# ---------------------------------------------------------------------------- output size

_SIZE_CASES_VISIBLE = [
    # (W, F, S, P, dilation, expected or None when it does not fit)
    (7, 3, 1, 0, 1, 5), (7, 3, 2, 0, 1, 3), (7, 3, 3, 0, 1, None),
    (32, 5, 1, 2, 1, 32), (32, 5, 1, 0, 1, 28), (28, 5, 1, 0, 1, 24),
    (56, 1, 1, 0, 1, 56), (7, 3, 1, 0, 2, 3), (5, 7, 1, 0, 1, None), (5, 7, 1, 1, 1, 1),
]


def _random_size_cases(rng):
    drawn = []
    while len(drawn) < 12:
        W, F = int(rng.integers(1, 40)), int(rng.integers(1, 8))
        S, P, D = int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 4))
        span = D * (F - 1) + 1
        fits = span <= W + 2 * P and (W - span + 2 * P) % S == 0
        # keep about half of the cases fitting, half not
        if fits == (len(drawn) % 2 == 0):
            drawn.append((W, F, S, P, D, (W - span + 2 * P) // S + 1 if fits else None))
    return drawn


@cases("nb03.conv_output_size", answered_by=["course_lib.geometry.conv_output_size"])
def conv_output_size(rng, hidden):
    """W, F, S, P, D; the size (None: must raise) and the numbers the messages quote."""
    result = []
    for W, F, S, P, D, expected in (_random_size_cases(rng) if hidden else _SIZE_CASES_VISIBLE):
        span = D * (F - 1) + 1
        result.append({"W": W, "F": F, "S": S, "P": P, "D": D, "expected": expected,
                       "span": span, "padded": W + 2 * P, "numerator": W - span + 2 * P,
                       "too_large": span > W + 2 * P,
                       "undilated": (W - F + 2 * P) // S + 1,  # the size that ignores D
                       # the sizes of the usual wrong formulas, for the diagnoses
                       "no_plus_one": (W - span + 2 * P) // S,
                       "pad_once": (W - span + P) // S + 1,
                       "no_stride": W - span + 2 * P + 1})
    return result


# ---------------------------------------------------------------------------- conv forward

def _conv_param(S, P, D):
    """conv_param dict for stride S, pad P and dilation D (the key left out when D = 1)."""
    param = {"stride": S, "pad": P}
    if D != 1:
        param["dilation"] = D
    return param


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
    drawn = []
    for x_shape, w_shape, S, P, D in configs:
        drawn.append((rng.standard_normal(x_shape), rng.standard_normal(w_shape),
                      rng.standard_normal(w_shape[0]), _conv_param(S, P, D)))
    return drawn


def _reference_conv(x, w, b, conv_param):
    return layers.conv_forward_naive(x, w, b, conv_param)[0]


def _forward_mistakes(x, w, b, conv_param, expected):
    """Outputs of the usual mistakes of a conv forward pass, by name (None: not possible here)."""
    S, P, D = conv_module.read_conv_param(conv_param)
    H_out, W_out = expected.shape[2:]
    bias = b.reshape(1, -1, 1, 1)
    mistakes = {"flipped": _reference_conv(x, w[:, :, ::-1, ::-1], b, conv_param),
                "no_bias": expected - bias, "unstrided": None, "undilated": None,
                # only channel 0 of x and w: the sum over channels left out
                "first_channel": _reference_conv(x[:, :1], w[:, :1], b, conv_param),
                # b[f] added once per channel (inside the loop over c)
                "bias_per_channel": expected + (x.shape[1] - 1) * bias}
    if S > 1:
        every_pixel = _reference_conv(x, w, b, {"stride": 1, "pad": P, "dilation": D})
        mistakes["unstrided"] = every_pixel[:, :, :H_out, :W_out]
    if D > 1:
        # Undilated windows at the same starts: stride 1, then every S-th output.
        plain = _reference_conv(x, w, b, {"stride": 1, "pad": P})[:, :, ::S, ::S]
        mistakes["undilated"] = plain[:, :, :H_out, :W_out]
    return mistakes


_CONV_FORWARD_ANSWERS = ["course_lib.layers.conv_forward_naive",   # the loops
                         "course_lib.layers.conv_forward_fast"]    # im2col and one product


@cases("nb03.conv_forward_naive", answered_by=_CONV_FORWARD_ANSWERS)
def conv_forward_naive(rng, hidden):
    """The hand-worked 3x3 example (visible only), then random inputs and the reference output."""
    hand = None
    if not hidden:
        hand = {"x": np.arange(9.0).reshape(1, 1, 3, 3), "w": np.ones((1, 1, 2, 2)), "b": np.ones(1),
                "conv_param": {"stride": 1, "pad": 0}, "out": np.array([[[[9.0, 13.0], [21.0, 25.0]]]])}
        hand["mistakes"] = _forward_mistakes(hand["x"], hand["w"], hand["b"], hand["conv_param"],
                                             hand["out"])
    drawn = []
    for x, w, b, conv_param in _conv_cases(rng, hidden):
        expected = _reference_conv(x, w, b, conv_param)
        drawn.append({"x": x, "w": w, "b": b, "conv_param": conv_param, "out": expected,
                      "mistakes": _forward_mistakes(x, w, b, conv_param, expected)})
    return {"hand": hand, "cases": drawn}


# ---------------------------------------------------------------------------- conv backward

def _per_sample_jacobian(x_shape, w, conv_param):
    """J, shape (F * H_out * W_out, C * H * W): out[n].ravel() = J @ x[n].ravel() + bias."""
    size = int(np.prod(x_shape[1:]))
    basis = np.eye(size).reshape(size, *x_shape[1:])
    images = _reference_conv(basis, w, np.zeros(w.shape[0]), conv_param)
    return images.reshape(size, -1).T.copy()


def _padding_crops(x, w, dout, conv_param):
    """dx cut from the wrong places of the padded gradient (None without padding)."""
    S, P, D = conv_module.read_conv_param(conv_param)
    if P == 0:
        return None
    H, W = x.shape[2:]
    padded = np.pad(x, [(0, 0), (0, 0), (P, P), (P, P)])
    _, cache = layers.conv_forward_naive(padded, w, np.zeros(w.shape[0]),
                                         {"stride": S, "pad": 0, "dilation": D})
    full = layers.conv_backward_naive(dout, cache)[0]
    return [full[:, :, 0:H, 0:W], full[:, :, 2 * P:, 2 * P:]]


def _dx_overwritten(x, w, dout, conv_param):
    """dx of the loops n, f, i, j written with = instead of += (a wrong variant, for diagnoses)."""
    S, P, D = conv_module.read_conv_param(conv_param)
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    dx_pad = np.zeros((x.shape[0], x.shape[1], H + 2 * P, W + 2 * P))
    for n, f, i, j in np.ndindex(*dout.shape):
        dx_pad[n, :, i * S:i * S + D * (HH - 1) + 1:D, j * S:j * S + D * (WW - 1) + 1:D] = \
            dout[n, f, i, j] * w[f]
    return dx_pad[:, :, P:P + H, P:P + W]


@cases("nb03.conv_backward_naive", answered_by=["course_lib.layers.conv_backward_naive"])
def conv_backward_naive(rng, hidden):
    """Inputs, dout, the reference's dx, dw, db, and the forward as a per-sample Jacobian."""
    drawn = []
    for x, w, b, conv_param in _conv_cases(rng, hidden):
        out, cache = layers.conv_forward_naive(x, w, b, conv_param)
        dout = rng.standard_normal(out.shape)
        dx, dw, db = layers.conv_backward_naive(dout, cache)
        drawn.append({"x": x, "w": w, "b": b, "conv_param": conv_param, "dout": dout,
                      "dx": dx, "dw": dw, "db": db,
                      "jacobian": _per_sample_jacobian(x.shape, w, conv_param),
                      # each sample's contribution to dw and db (rows), for "sum over the batch"
                      "dw_terms": np.stack([layers.conv_backward_naive(
                          dout[n:n + 1], (x[n:n + 1], w, b, conv_param))[1].ravel()
                          for n in range(x.shape[0])]),
                      "db_terms": dout.sum(axis=(2, 3)),
                      "dx_overwritten": _dx_overwritten(x, w, dout, conv_param),
                      "dx_flipped": layers.conv_backward_naive(
                          dout, (x, w[:, :, ::-1, ::-1].copy(), b, conv_param))[0],
                      "padding_crops": _padding_crops(x, w, dout, conv_param)})
    return drawn


# ---------------------------------------------------------------------------- max pooling

LECTURE_POOL_INPUT = np.array([[1.0, 1.0, 2.0, 4.0], [5.0, 6.0, 7.0, 8.0],
                               [3.0, 2.0, 1.0, 0.0], [1.0, 2.0, 3.0, 4.0]])
LECTURE_POOL_OUTPUT = np.array([[[[6.0, 8.0], [3.0, 4.0]]]])

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
    drawn = [] if hidden else [(LECTURE_POOL_INPUT.reshape(1, 1, 4, 4),
                                {"pool_height": 2, "pool_width": 2, "stride": 2})]
    for shape, HH, WW, S in configs:
        drawn.append((_distinct_values(rng, shape),
                      {"pool_height": HH, "pool_width": WW, "stride": S}))
    return drawn


def _window_sizes(pool_param):
    return pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]


def _clipped_window_max(x, rows_per_window, cols_per_window, step, out_shape):
    """Max over windows `step` apart, cut to out_shape (a wrong pooling, for diagnoses).
    Windows running over the border are clipped, as numpy slices are."""
    result = np.empty(out_shape)
    for i, j in np.ndindex(*out_shape[2:]):
        top, left = i * step, j * step
        result[:, :, i, j] = x[:, :, top:top + rows_per_window, left:left + cols_per_window].max(axis=(2, 3))
    return result


def _window_mean(x, pool_param, out_shape):
    """Average pooling (a wrong pooling, for diagnoses)."""
    HH, WW, S = _window_sizes(pool_param)
    result = np.empty(out_shape)
    for i, j in np.ndindex(*out_shape[2:]):
        result[:, :, i, j] = x[:, :, i * S:i * S + HH, j * S:j * S + WW].mean(axis=(2, 3))
    return result


def _pool_backward_variants(x, dout, pool_param):
    """dx of three wrong max-pool backward passes, by name: the gradient spread over the whole
    window, the same divided by the window size, and the maximum's position inside its window
    used as a position in x (the window's offset i*S, j*S left out; None when it leaves x)."""
    HH, WW, S = _window_sizes(pool_param)
    rows, cols = _window_argmax(x, pool_param, dout.shape)
    spread, unshifted, masked = np.zeros(x.shape), np.zeros(x.shape), np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        spread[n, c, i * S:i * S + HH, j * S:j * S + WW] += dout[n, c, i, j]
        unshifted[n, c, rows[n, c, i, j] - i * S, cols[n, c, i, j] - j * S] += dout[n, c, i, j]
        window = np.zeros((HH, WW))
        window[rows[n, c, i, j] - i * S, cols[n, c, i, j] - j * S] = dout[n, c, i, j]
        masked[n, c, i * S:i * S + HH, j * S:j * S + WW] = window   # = on the whole window
    return {"spread": spread, "averaged": spread / (HH * WW), "unshifted": unshifted,
            "window_assigned": masked}


def _window_argmax(x, pool_param, out_shape):
    """(row, col) in x of each window's maximum, two int arrays of shape out_shape."""
    HH, WW, S = _window_sizes(pool_param)
    rows, cols = np.zeros(out_shape, dtype=np.int64), np.zeros(out_shape, dtype=np.int64)
    for index in np.ndindex(*out_shape):
        sample, channel, i, j = index
        flat = int(np.argmax(x[sample, channel, i * S:i * S + HH, j * S:j * S + WW]))
        rows[index], cols[index] = i * S + flat // WW, j * S + flat % WW
    return rows, cols


def _misrouted(x, dout, pool_param, swap, accumulate):
    """Max-pool gradient with the maximum's row and column swapped inside its window, or
    written with = instead of += (wrong variants, for diagnoses); None when a swap leaves x."""
    HH, WW, S = _window_sizes(pool_param)
    rows, cols = _window_argmax(x, pool_param, dout.shape)
    result = np.zeros(x.shape)
    for n, c, i, j in np.ndindex(*dout.shape):
        r, s = rows[n, c, i, j] - i * S, cols[n, c, i, j] - j * S
        if swap:
            r, s = s, r
        target = (n, c, i * S + r, j * S + s)
        if target[2] >= x.shape[2] or target[3] >= x.shape[3]:
            return None
        result[target] = (result[target] if accumulate else 0.0) + dout[n, c, i, j]
    return result


_POOL_FORWARD_ANSWERS = ["course_lib.layers.max_pool_forward_naive",   # the loops
                         "course_lib.layers.max_pool_forward_fast",    # a loop over window pixels
                         "course_lib.layers.pool._pool_forward_naive"]  # the loops, np.max an argument


@cases("nb03.max_pool_forward", answered_by=_POOL_FORWARD_ANSWERS)
def max_pool_forward(rng, hidden):
    """x, pool_param, the pooled output, and the outputs of three usual mistakes."""
    drawn = []
    for number, (x, pool_param) in enumerate(_pool_cases(rng, hidden), 1):
        expected, _ = layers.max_pool_forward_naive(x, pool_param)
        if number == 1 and not hidden:
            expected = LECTURE_POOL_OUTPUT.copy()  # the lecture's answer
        HH, WW, S = _window_sizes(pool_param)
        drawn.append({"x": x, "pool_param": pool_param, "out": expected, "mistakes": {
            "square_height": _clipped_window_max(x, HH, HH, S, expected.shape),
            "square_width": _clipped_window_max(x, WW, WW, S, expected.shape),
            "unstrided": _clipped_window_max(x, HH, WW, 1, expected.shape),
            "window_too_small": (_clipped_window_max(x, HH - 1, WW - 1, S, expected.shape)
                                 if HH > 1 and WW > 1 else None),
            "mean": _window_mean(x, pool_param, expected.shape),
            "across_channels": np.broadcast_to(
                _clipped_window_max(x.max(axis=1, keepdims=True), HH, WW, S,
                                    (x.shape[0], 1, *expected.shape[2:])), expected.shape).copy()}})
    return drawn


@cases("nb03.max_pool_backward", answered_by=["course_lib.layers.max_pool_backward_naive"])
def max_pool_backward(rng, hidden):
    """x, dout, the reference's dx, two misrouted gradients, and where each maximum sits."""
    drawn = []
    for x, pool_param in _pool_cases(rng, hidden):
        out, cache = layers.max_pool_forward_naive(x, pool_param)
        dout = rng.standard_normal(out.shape)
        rows, cols = _window_argmax(x, pool_param, out.shape)
        drawn.append({"x": x, "pool_param": pool_param, "dout": dout,
                      "dx": layers.max_pool_backward_naive(dout, cache),
                      # near x (no ties), max pooling picks these entries: out = x.ravel()[index]
                      "max_index": np.ravel_multi_index(
                          (*np.indices(out.shape)[:2], rows, cols), x.shape),
                      "mistakes": {"swapped": _misrouted(x, dout, pool_param, True, True),
                                   "overwritten": _misrouted(x, dout, pool_param, False, False),
                                   **_pool_backward_variants(x, dout, pool_param)}})
    return drawn


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


def _field_counting_own_stride(stack):
    """The usual wrong formula: each kernel scaled by the strides up to and including its own."""
    total, spacing = 1, 1
    for entry in stack:
        spacing *= entry[1]
        total += (entry[0] - 1) * (entry[2] if len(entry) == 3 else 1) * spacing
    return total


def _wrong_fields(stack):
    """The fields of the other usual wrong formulas, by name."""
    kernels = [entry[0] for entry in stack]
    strides = [entry[1] for entry in stack]
    dilations = [entry[2] if len(entry) == 3 else 1 for entry in stack]
    jumps = np.cumprod([1] + strides[:-1]).tolist()   # strides of the earlier layers
    return {
        "no_strides": 1 + sum(d * (k - 1) for k, d in zip(kernels, dilations)),
        "no_dilation": 1 + sum((k - 1) * s for k, s in zip(kernels, jumps)),
        "from_zero": sum(d * (k - 1) * s for k, d, s in zip(kernels, dilations, jumps)),
        "kernel_sum": sum(d * (k - 1) * s + 1 for k, d, s in zip(kernels, dilations, jumps)),
        "dilation_times_kernel": 1 + sum((d * k - 1) * s for k, d, s in zip(kernels, dilations, jumps)),
    }


@cases("nb03.receptive_field", answered_by=["course_lib.geometry.receptive_field"])
def receptive_field(rng, hidden):
    """Stacks of (kernel, stride[, dilation]), their field, and the usual wrong field."""
    if hidden:
        stacks = [(stack, geometry.receptive_field(stack)) for stack in
                  (_random_stack(rng) for _ in range(8))]
    else:
        stacks = _FIELD_CASES_VISIBLE
    return [{"layers": stack, "field": field, "own_stride": _field_counting_own_stride(stack),
             "wrong": _wrong_fields(stack)}
            for stack, field in stacks]


# ---------------------------------------------------------------------------- transposed conv

def _transpose_cases(rng, hidden):
    """(y, w, b, conv_param, x_shape): y is shaped like the output of a convolution of an
    x_shape input with w, shape (C_in=F, F_out=C, HH, WW) read as conv weights (F, C, HH, WW)."""
    configs = ([_random_conv_config(rng) for _ in range(4)] if hidden else
               [((1, 1, 4, 4), (1, 1, 3, 3), 1, 0, 1), *_CONV_CONFIGS_VISIBLE])
    drawn = []
    for x_shape, w_shape, S, P, D in configs:
        conv_param = _conv_param(S, P, D)
        H_out = geometry.conv_output_size(x_shape[2], w_shape[2], S, P, D)
        W_out = geometry.conv_output_size(x_shape[3], w_shape[3], S, P, D)
        y = rng.standard_normal((x_shape[0], w_shape[0], H_out, W_out))
        drawn.append((y, rng.standard_normal(w_shape), rng.standard_normal(w_shape[1]),
                      conv_param, x_shape))
    return drawn


def _repainted(y, w, conv_param, x_shape, stride, dilation):
    """The kernel copies painted with another stride or dilation on the right canvas (size of
    the output plus 2P), cut at P as the layer does, zero bias (a wrong variant, for diagnoses)."""
    P = conv_param["pad"]
    painted, _ = layers.conv_transpose_forward(y, w, np.zeros(w.shape[1]),
                                               {"stride": stride, "pad": 0, "dilation": dilation})
    canvas = np.zeros((x_shape[0], x_shape[1], x_shape[2] + 2 * P, x_shape[3] + 2 * P))
    rows, cols = min(painted.shape[2], canvas.shape[2]), min(painted.shape[3], canvas.shape[3])
    canvas[:, :, :rows, :cols] = painted[:, :, :rows, :cols]
    return canvas[:, :, P:P + x_shape[2], P:P + x_shape[3]]


def _unstrided_transpose(y, w, conv_param, x_shape):
    """Copies painted 1 pixel apart instead of S (None when S = 1)."""
    S, _, D = conv_module.read_conv_param(conv_param)
    return None if S == 1 else _repainted(y, w, conv_param, x_shape, 1, D)


def _undilated_transpose(y, w, conv_param, x_shape):
    """Copies painted with adjacent taps, D ignored (None when D = 1)."""
    S, _, D = conv_module.read_conv_param(conv_param)
    return None if D == 1 else _repainted(y, w, conv_param, x_shape, S, 1)


@cases("nb03.conv_transpose_forward", answered_by=["course_lib.layers.conv_transpose_forward"])
def conv_transpose_forward(rng, hidden):
    """y, w, b; two probe images with their convolutions (for the adjoint test); the output
    with bias; the zero-bias outputs of a flipped kernel and of an unstrided painting."""
    drawn = []
    for y, w, b, conv_param, x_shape in _transpose_cases(rng, hidden):
        probes = []
        for _ in range(2):
            probe = rng.standard_normal(x_shape)
            convolved, _ = layers.conv_forward_fast(probe, w, np.zeros(w.shape[0]), conv_param)
            probes.append({"x": probe, "conv": convolved})
        zero_bias = np.zeros(w.shape[1])
        drawn.append({
            "y": y, "w": w, "b": b, "conv_param": conv_param, "x_shape": tuple(x_shape),
            "probes": probes, "out": layers.conv_transpose_forward(y, w, b, conv_param)[0],
            "flipped": layers.conv_transpose_forward(y, w[:, :, ::-1, ::-1].copy(), zero_bias,
                                                     conv_param)[0],
            "unstrided": _unstrided_transpose(y, w, conv_param, x_shape),
            "undilated": _undilated_transpose(y, w, conv_param, x_shape),
            # the padded canvas returned whole: P rows and columns too many on each side
            "uncropped_shape": (x_shape[0], x_shape[1], x_shape[2] + 2 * conv_param["pad"],
                                x_shape[3] + 2 * conv_param["pad"])})
    return drawn


# ---------------------------------------------------------------------------- im2col

def _reference_cols(x, HH, WW, conv_param):
    S, P, D = conv_module.read_conv_param(conv_param)
    H_out = geometry.conv_output_size(x.shape[2], HH, S, P, D)
    W_out = geometry.conv_output_size(x.shape[3], WW, S, P, D)
    return conv_module.im2col(conv_module.pad_channels_first(x, P), HH, WW, S, D, H_out, W_out)


def _unstrided_cols(x, HH, WW, conv_param, out_shape):
    """cols of windows 1 pixel apart instead of S (the first H_out x W_out of them), or None."""
    S, P, D = conv_module.read_conv_param(conv_param)
    if S == 1:
        return None
    every = _reference_cols(x, HH, WW, {"stride": 1, "pad": P, "dilation": D})
    N, _, H_out, W_out = out_shape
    H1 = x.shape[2] + 2 * P - D * (HH - 1)
    W1 = x.shape[3] + 2 * P - D * (WW - 1)
    return every.reshape(-1, N, H1, W1)[:, :, :H_out, :W_out].reshape(every.shape[0], -1)


_IM2COL_ANSWERS = ["course_lib.layers.conv.im2col",              # the layout, by kernel offsets
                   "course_lib.layers.conv_forward_fast",         # im2col and one product
                   "course_lib.layers.conv_transpose_backward"]   # its dx: the same, for dout


@cases("nb03.im2col_conv", answered_by=_IM2COL_ANSWERS)
def im2col_conv(rng, hidden):
    """Inputs, the reference's cols and output, the usual wrong layouts, and a speed case
    (a batch of 4 16x16 images with 3 channels, 6 filters of 3x3)."""
    drawn = []
    for x, w, b, conv_param in _conv_cases(rng, hidden):
        cols = _reference_cols(x, w.shape[2], w.shape[3], conv_param)
        expected = _reference_conv(x, w, b, conv_param)
        C, (F, _, HH, WW) = x.shape[1], w.shape
        w_taps_last = w.transpose(0, 2, 3, 1).reshape(F, -1)   # filter rows in (kh, kw, c) order
        drawn.append({"x": x, "w": w, "b": b, "conv_param": conv_param, "cols": cols, "out": expected,
                      "cols_memory_order": cols.T.reshape(cols.shape), "cols_transposed": cols.T.copy(),
                      # rows in (kh, kw, c) order instead of (c, kh, kw)
                      "cols_channels_last": cols.reshape(C, HH, WW, -1).transpose(1, 2, 0, 3)
                                                .reshape(cols.shape),
                      "cols_unstrided": _unstrided_cols(x, HH, WW, conv_param, expected.shape),
                      "out_filter_major": expected.transpose(1, 0, 2, 3).reshape(expected.shape),
                      "out_no_bias": expected - b.reshape(1, -1, 1, 1),
                      "out_w_channels_last": (w_taps_last @ cols + b[:, None]).reshape(
                          F, x.shape[0], *expected.shape[2:]).transpose(1, 0, 2, 3)})
    x = rng.standard_normal((4, 3, 16, 16))
    w = rng.standard_normal((6, 3, 3, 3))
    b = rng.standard_normal(6)
    conv_param = {"stride": 1, "pad": 1}
    outputs = _reference_conv(x, w, b, conv_param).size
    return {"cases": drawn, "speed": {"x": x, "w": w, "b": b, "conv_param": conv_param,
                                      "outputs": int(outputs)}}
