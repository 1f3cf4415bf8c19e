"""Convolution layer: gradients by finite differences, fast == naive, worked examples, errors."""
import numpy as np
import pytest
from hypothesis import given, settings

from course_lib.layers import (
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
)
from course_lib.layers.conv import col2im
from support.strategies import assert_gradients_match, conv_configs, positive, seeds

IMPLEMENTATIONS = {
    "naive": (conv_forward_naive, conv_backward_naive),
    "fast": (conv_forward_fast, conv_backward_fast),
}


def _positive_problem(config, seed):
    x_shape, w_shape, conv_param = config
    rng = np.random.default_rng(seed)
    x, w, b = positive(rng, x_shape), positive(rng, w_shape), positive(rng, w_shape[:1])
    out, _ = conv_forward_fast(x, w, b, conv_param)
    return x, w, b, conv_param, positive(rng, out.shape)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
@settings(max_examples=30, deadline=None, derandomize=True)
@given(config=conv_configs(), seed=seeds)
def test_backward_matches_finite_differences(kind, config, seed):
    forward, backward = IMPLEMENTATIONS[kind]
    x, w, b, conv_param, dout = _positive_problem(config, seed)
    assert_gradients_match(forward, backward, (x, w, b), conv_param, dout, ("x", "w", "b"))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(config=conv_configs(), seed=seeds)
def test_fast_equals_naive(config, seed):
    x_shape, w_shape, conv_param = config
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[:1])
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=1e-10, atol=1e-12)
    dout = rng.normal(size=out_naive.shape)
    for name, fast, naive in zip(
        ("dx", "dw", "db"), conv_backward_fast(dout, cache_fast), conv_backward_naive(dout, cache_naive)
    ):
        np.testing.assert_allclose(fast, naive, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
def test_cross_correlation_not_convolution(kind):
    # out[i, j] = x[2i, 2j] - x[2i+1, 2j+1] = -5 on arange(16); a flipped kernel would give +5.
    forward, _ = IMPLEMENTATIONS[kind]
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
    out, _ = forward(x, w, np.array([0.5]), {"stride": 2, "pad": 0})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), -4.5))


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
def test_dilation_spreads_the_taps(kind):
    # 2x2 kernel of ones, dilation 2 on arange(25) as 5x5: taps at (0,0), (0,2), (2,0), (2,2).
    forward, _ = IMPLEMENTATIONS[kind]
    x = np.arange(25.0).reshape(1, 1, 5, 5)
    out, _ = forward(x, np.ones((1, 1, 2, 2)), np.zeros(1), {"stride": 1, "pad": 0, "dilation": 2})
    expected = np.array([[24, 28, 32], [44, 48, 52], [64, 68, 72]], dtype=float)
    np.testing.assert_array_equal(out[0, 0], expected)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
def test_padding_adds_zero_border(kind):
    # 3x3 kernel of ones with pad 1 on a 2x2 image of ones: every output sees all 4 pixels.
    forward, _ = IMPLEMENTATIONS[kind]
    out, _ = forward(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3)), np.zeros(1), {"stride": 1, "pad": 1})
    np.testing.assert_array_equal(out, np.full((1, 1, 2, 2), 4.0))


def test_syllabus_example_32x32x3_ten_5x5_filters():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 32, 32))
    w, b = rng.normal(size=(10, 3, 5, 5)), np.zeros(10)
    out, _ = conv_forward_fast(x, w, b, {"stride": 1, "pad": 2})
    assert out.shape == (2, 10, 32, 32)
    assert w.size + b.size == 760  # (5*5*3 + 1) per filter, ten filters


def test_syllabus_example_six_5x5_filters_shrink_to_28():
    out, _ = conv_forward_fast(np.zeros((1, 3, 32, 32)), np.zeros((6, 3, 5, 5)), np.zeros(6), {"stride": 1, "pad": 0})
    assert out.shape == (1, 6, 28, 28)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
def test_inputs_are_not_mutated(kind):
    forward, backward = IMPLEMENTATIONS[kind]
    rng = np.random.default_rng(1)
    x, w, b = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=3)
    dout = rng.normal(size=(2, 3, 3, 3))
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = forward(x, w, b, {"stride": 2, "pad": 1})
    backward(dout, cache)
    for original, copy in zip((x, w, b, dout), copies):
        np.testing.assert_array_equal(original, copy)


# ------------------------------------------------------------------ test the tester


def _backward_ignoring_padding(dout, cache):
    """Wrong on purpose: crops the padded input-gradient at 0 instead of P."""
    x, w, b, conv_param, cols = cache
    _, dw, db = conv_backward_fast(dout, cache)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    S, P = conv_param["stride"], conv_param["pad"]
    H_out, W_out = dout.shape[2:]
    dcols = w.reshape(F, -1).T @ dout.transpose(1, 0, 2, 3).reshape(F, -1)
    dx_pad = col2im(dcols, (C, N, H + 2 * P, W + 2 * P), HH, WW, S, 1, H_out, W_out)
    return dx_pad[:, :, :H, :W].transpose(1, 0, 2, 3), dw, db


def _backward_with_flipped_kernel(dout, cache):
    """Wrong on purpose: a true convolution's input-gradient (kernel rotated by 180 degrees)."""
    x, w, b, conv_param, cols = cache
    _, dw, db = conv_backward_fast(dout, cache)
    dx, _, _ = conv_backward_fast(dout, (x, w[:, :, ::-1, ::-1], b, conv_param, cols))
    return dx, dw, db


@pytest.mark.parametrize("wrong_backward", [_backward_ignoring_padding, _backward_with_flipped_kernel])
def test_gradient_check_catches_wrong_backward(wrong_backward):
    config = ((1, 2, 5, 5), (2, 2, 3, 3), {"stride": 1, "pad": 1})
    x, w, b, conv_param, dout = _positive_problem(config, seed=3)
    assert_gradients_match(conv_forward_fast, conv_backward_fast, (x, w, b), conv_param, dout, "xwb")
    with pytest.raises(AssertionError, match="dx: relative error"):
        assert_gradients_match(conv_forward_fast, wrong_backward, (x, w, b), conv_param, dout, "xwb")


# ------------------------------------------------------------------ bad input

X, W_, B = np.zeros((2, 3, 7, 7)), np.zeros((4, 3, 3, 3)), np.zeros(4)
GOOD = {"stride": 1, "pad": 1}

BAD_FORWARD = [
    ("x not 4-D", (np.zeros((3, 7, 7)), W_, B, GOOD), ValueError, r"x must have shape \(N, C, H, W\).*\(3, 7, 7\)"),
    ("x not an array", (X.tolist(), W_, B, GOOD), TypeError, "x must be a numpy array"),
    ("channels differ", (X, np.zeros((4, 2, 3, 3)), B, GOOD), ValueError, r"w must have shape \(F, C=3, HH, WW\).*\(4, 2, 3, 3\)"),
    ("b wrong shape", (X, W_, np.zeros(5), GOOD), ValueError, r"b must have shape \(4,\).*\(5,\)"),
    ("kernel larger than padded input", (np.zeros((1, 3, 2, 2)), np.zeros((4, 3, 5, 5)), B, {"stride": 1, "pad": 1}),
     ValueError, "x and w do not fit conv_param .* along the height.*kernel larger than the padded input"),
    ("stride does not tile", (X, W_, B, {"stride": 3, "pad": 0}), ValueError,
     "x and w do not fit conv_param .*stride does not tile.*not divisible by S = 3"),
    ("conv_param not a dict", (X, W_, B, [1, 1]), TypeError, "conv_param must be a dict"),
    ("no stride", (X, W_, B, {"pad": 1}), ValueError, r"conv_param is missing key\(s\) \['stride'\]"),
    ("no pad", (X, W_, B, {"stride": 1}), ValueError, r"conv_param is missing key\(s\) \['pad'\]"),
    ("zero stride", (X, W_, B, {"stride": 0, "pad": 1}), ValueError, r"conv_param\['stride'\] must be >= 1"),
    ("float pad", (X, W_, B, {"stride": 1, "pad": 1.5}), TypeError, r"conv_param\['pad'\] must be an integer"),
]


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", BAD_FORWARD, ids=[c[0] for c in BAD_FORWARD])
def test_bad_input_raises_naming_the_argument(kind, case):
    forward, _ = IMPLEMENTATIONS[kind]
    _, args, error, message = case
    with pytest.raises(error, match=message):
        forward(*args)


@pytest.mark.parametrize("kind", IMPLEMENTATIONS)
def test_dout_of_wrong_shape_is_refused(kind):
    forward, backward = IMPLEMENTATIONS[kind]
    _, cache = forward(X, W_, B, GOOD)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 4, 7, 7\), got shape \(2, 4, 5, 5\)"):
        backward(np.zeros((2, 4, 5, 5)), cache)
