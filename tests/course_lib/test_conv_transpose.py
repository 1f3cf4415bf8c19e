"""Transposed convolution: the adjoint of a convolution, gradients, worked examples, errors."""
import numpy as np
import pytest
from hypothesis import given, settings

from course_lib.layers import (
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    conv_transpose_backward,
    conv_transpose_forward,
)
from support.strategies import assert_gradients_match, conv_configs, positive, seeds


def _conv_out_shape(x_shape, w_shape, conv_param):
    out, _ = conv_forward_fast(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0]), conv_param)
    return out.shape


@settings(max_examples=30, deadline=None, derandomize=True)
@given(config=conv_configs(), seed=seeds)
def test_equals_the_input_gradient_of_a_convolution(config, seed):
    x_shape, w_shape, conv_param = config
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    out, cache = conv_forward_naive(x, w, b, conv_param)
    dout = rng.normal(size=out.shape)
    dx, _, _ = conv_backward_naive(dout, cache)
    # The conv's (F, C, HH, WW) weights read as (C_in=F, F_out=C, HH, WW).
    upsampled, _ = conv_transpose_forward(dout, w, np.zeros(x_shape[1]), conv_param)
    np.testing.assert_allclose(upsampled, dx, rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)
@given(config=conv_configs(), seed=seeds)
def test_adjoint_identity(config, seed):
    # <conv(x), y> = <x, conv_transpose(y)> with zero biases.
    x_shape, w_shape, conv_param = config
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    y = rng.normal(size=_conv_out_shape(x_shape, w_shape, conv_param))
    conv_x, _ = conv_forward_naive(x, w, np.zeros(w_shape[0]), conv_param)
    transposed_y, _ = conv_transpose_forward(y, w, np.zeros(x_shape[1]), conv_param)
    assert transposed_y.shape == x.shape
    np.testing.assert_allclose(np.sum(conv_x * y), np.sum(x * transposed_y), rtol=1e-10, atol=1e-12)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(config=conv_configs(), seed=seeds)
def test_backward_matches_finite_differences(config, seed):
    x_shape, w_shape, conv_param = config
    rng = np.random.default_rng(seed)
    # Transposed conv maps the conv's output shape back to its input shape.
    x = positive(rng, _conv_out_shape(x_shape, w_shape, conv_param))
    w, b = positive(rng, w_shape), positive(rng, x_shape[1:2])
    dout = positive(rng, x_shape)
    assert_gradients_match(conv_transpose_forward, conv_transpose_backward, (x, w, b), conv_param, dout, "xwb")


def test_a_single_pixel_paints_the_kernel():
    w = np.arange(6.0).reshape(1, 1, 2, 3)
    out, _ = conv_transpose_forward(np.full((1, 1, 1, 1), 2.0), w, np.array([1.0]), {"stride": 1, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], [[1, 3, 5], [7, 9, 11]])


@pytest.mark.parametrize(
    "stride, expected",
    [(2, [[1, 1, 2, 2], [1, 1, 2, 2]]),  # copies side by side
     (1, [[1, 3, 2], [1, 3, 2]])],       # copies overlap and add
)
def test_stride_spaces_the_kernel_copies(stride, expected):
    x = np.array([1.0, 2.0]).reshape(1, 1, 1, 2)
    out, _ = conv_transpose_forward(x, np.ones((1, 1, 2, 2)), np.zeros(1), {"stride": stride, "pad": 0})
    np.testing.assert_array_equal(out[0, 0], expected)


@pytest.mark.parametrize(
    "H, HH, conv_param, H_out",
    [(3, 3, {"stride": 2, "pad": 1}, 5),                  # (3-1)*2 - 2 + 2 + 1
     (4, 3, {"stride": 1, "pad": 0, "dilation": 2}, 8),   # 3 + 2*2 + 1
     (2, 4, {"stride": 2, "pad": 1}, 4),                  # 2 - 2 + 3 + 1 (the usual 2x upsampler)
     (5, 1, {"stride": 3, "pad": 0}, 13)],                # 4*3 + 1
)
def test_output_size_follows_pytorch(H, HH, conv_param, H_out):
    out, _ = conv_transpose_forward(np.ones((1, 2, H, H)), np.ones((2, 3, HH, HH)), np.zeros(3), conv_param)
    assert out.shape == (1, 3, H_out, H_out)


def test_padding_crops_the_border():
    # Stride 1, 3x3 ones on a 1x1 input is a 3x3 patch; pad 1 keeps only its centre.
    out, _ = conv_transpose_forward(np.ones((1, 1, 1, 1)), np.ones((1, 1, 3, 3)), np.zeros(1), {"stride": 1, "pad": 1})
    np.testing.assert_array_equal(out, np.ones((1, 1, 1, 1)))


def test_inputs_are_not_mutated():
    rng = np.random.default_rng(4)
    x, w, b, dout = rng.normal(size=(2, 3, 3, 3)), rng.normal(size=(3, 2, 3, 3)), rng.normal(size=2), rng.normal(size=(2, 2, 5, 5))
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = conv_transpose_forward(x, w, b, {"stride": 2, "pad": 1})
    conv_transpose_backward(dout, cache)
    for original, copy in zip((x, w, b, dout), copies):
        np.testing.assert_array_equal(original, copy)


def test_gradient_check_catches_a_wrong_backward():
    # Wrong on purpose: dw from the un-transposed product (C_in and F_out axes swapped back).
    def wrong_backward(dout, cache):
        dx, dw, db = conv_transpose_backward(dout, cache)
        return dx, dw.transpose(1, 0, 2, 3).reshape(dw.shape), db

    rng = np.random.default_rng(5)
    x, w, b = positive(rng, (1, 2, 3, 3)), positive(rng, (2, 2, 2, 2)), positive(rng, (2,))
    dout = positive(rng, (1, 2, 6, 6))
    conv_param = {"stride": 2, "pad": 0}
    assert_gradients_match(conv_transpose_forward, conv_transpose_backward, (x, w, b), conv_param, dout, "xwb")
    with pytest.raises(AssertionError, match="dw: relative error"):
        assert_gradients_match(conv_transpose_forward, wrong_backward, (x, w, b), conv_param, dout, "xwb")


X, W_, B = np.zeros((2, 3, 4, 4)), np.zeros((3, 5, 3, 3)), np.zeros(5)
GOOD = {"stride": 2, "pad": 1}
BAD = [
    ("x not 4-D", (np.zeros((3, 4, 4)), W_, B, GOOD), ValueError, r"x must have shape \(N, C_in, H, W\)"),
    ("channels differ", (X, np.zeros((2, 5, 3, 3)), B, GOOD), ValueError,
     r"w must have shape \(C_in=3, F_out, HH, WW\).*\(2, 5, 3, 3\)"),
    ("b wrong shape", (X, W_, np.zeros(3), GOOD), ValueError, r"b must have shape \(5,\), got shape \(3,\)"),
    ("pad crops everything", (np.zeros((1, 3, 1, 1)), W_, B, {"stride": 1, "pad": 2}), ValueError,
     r"conv_param\['pad'\] = 2 crops the whole output"),
    ("conv_param not a dict", (X, W_, B, None), TypeError, "conv_param must be a dict"),
    ("no stride", (X, W_, B, {"pad": 0}), ValueError, r"conv_param is missing key\(s\) \['stride'\]"),
    ("no pad", (X, W_, B, {"stride": 1}), ValueError, r"conv_param is missing key\(s\) \['pad'\]"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_raises_naming_the_argument(case):
    _, args, error, message = case
    with pytest.raises(error, match=message):
        conv_transpose_forward(*args)


def test_dout_of_wrong_shape_is_refused():
    _, cache = conv_transpose_forward(X, W_, B, GOOD)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 5, 7, 7\), got shape \(2, 5, 8, 8\)"):
        conv_transpose_backward(np.zeros((2, 5, 8, 8)), cache)
