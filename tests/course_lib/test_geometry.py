"""Output sizes and receptive fields, checked by hand and against real course_lib convolutions."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.geometry import conv_output_size, receptive_field
from course_lib.layers import conv_backward_fast, conv_forward_fast
from support.strategies import conv_configs


@pytest.mark.parametrize("S, expected", [(1, 5), (2, 3)])
def test_syllabus_7x7_input_3x3_filter(S, expected):
    assert conv_output_size(7, 3, S, 0) == expected


def test_stride_3_does_not_fit_7x7_with_3x3():
    with pytest.raises(ValueError, match=r"stride does not tile.*W=7, F=3, S=3, P=0.*\(W - F \+ 2P\) = 4"):
        conv_output_size(7, 3, 3, 0)


@pytest.mark.parametrize("F", [3, 5, 7])
@pytest.mark.parametrize("W", [7, 28, 32])
def test_half_padding_keeps_the_size(F, W):
    assert conv_output_size(W, F, 1, (F - 1) // 2) == W


def test_repeated_5x5_without_padding_shrinks_32_28_24():
    sizes = [32]
    for _ in range(2):
        sizes.append(conv_output_size(sizes[-1], 5, 1, 0))
    assert sizes == [32, 28, 24]


def test_dilation_enlarges_the_kernel():
    assert conv_output_size(7, 3, 1, 0, dilation=2) == 3  # effective kernel 5


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"kernel larger than the padded input.*effective F=5.*W \+ 2P = 4"):
        conv_output_size(2, 3, 1, 1, dilation=2)


@pytest.mark.parametrize("args, error, name", [
    ((7.0, 3, 1, 0), TypeError, "W"), ((7, 0, 1, 0), ValueError, "F"),
    ((7, 3, 0, 0), ValueError, "S"), ((7, 3, 1, -1), ValueError, "P"),
])
def test_bad_arguments_are_named(args, error, name):
    with pytest.raises(error, match=f"^{name} must be"):
        conv_output_size(*args)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(config=conv_configs())
def test_output_size_matches_the_conv_layer(config):
    x_shape, w_shape, conv_param = config
    out, _ = conv_forward_fast(np.zeros(x_shape), np.zeros(w_shape), np.zeros(w_shape[0]), conv_param)
    S, P, D = conv_param["stride"], conv_param["pad"], conv_param["dilation"]
    assert out.shape[2] == conv_output_size(x_shape[2], w_shape[2], S, P, D)
    assert out.shape[3] == conv_output_size(x_shape[3], w_shape[3], S, P, D)


# ------------------------------------------------------------------ receptive fields


def empirical_receptive_field(layers):
    """Span of the input region that one output of a conv stack depends on, found by
    backpropagating a one-hot gradient through course_lib convolutions with all-ones weights
    (positive weights: nothing cancels, so every pixel the output reads gets a non-zero
    gradient). A span, not a count: a dilated kernel skips pixels inside its field."""
    size = 3  # final output 3x3; walk back to the input size that produces it exactly
    for kernel, stride, *dilation in reversed(layers):
        size = (size - 1) * stride + (dilation[0] if dilation else 1) * (kernel - 1) + 1
    activation, caches = np.ones((1, 1, size, size)), []
    for kernel, stride, *dilation in layers:
        conv_param = {"stride": stride, "pad": 0, "dilation": dilation[0] if dilation else 1}
        activation, cache = conv_forward_fast(activation, np.ones((1, 1, kernel, kernel)), np.zeros(1), conv_param)
        caches.append(cache)
    grad = np.zeros_like(activation)
    grad[0, 0, 1, 1] = 1.0
    for cache in reversed(caches):
        grad, _, _ = conv_backward_fast(grad, cache)
    rows = np.flatnonzero(grad[0, 0].any(axis=1))
    cols = np.flatnonzero(grad[0, 0].any(axis=0))
    assert rows[-1] - rows[0] == cols[-1] - cols[0], "square kernels should give a square field"
    return rows[-1] - rows[0] + 1


@pytest.mark.parametrize("layers, by_hand", [
    # 1 + (3-1)*1 + (3-1)*1 + (5-1)*(1*2) = 13
    ([(3, 1), (3, 2), (5, 1)], 13),
    # 1 + 2 + (5-1)*1 + 2*1 = 9, the middle 3x3 dilated by 2 acting like a 5x5
    ([(3, 1), (3, 1, 2), (3, 2)], 9),
    # three 3x3 stride 1 see as far as one 7x7
    ([(3, 1), (3, 1), (3, 1)], 7),
])
def test_receptive_field_three_layer_stack(layers, by_hand):
    assert receptive_field(layers) == by_hand
    assert empirical_receptive_field(layers) == by_hand


layer_tuples = st.tuples(st.integers(1, 4), st.integers(1, 2), st.integers(1, 2))


@settings(max_examples=15, deadline=None, derandomize=True)
@given(layers=st.lists(layer_tuples, min_size=1, max_size=3))
def test_receptive_field_formula_matches_backpropagation(layers):
    assert receptive_field(layers) == empirical_receptive_field(layers)


def test_receptive_field_rejects_malformed_layers():
    with pytest.raises(TypeError, match=r"layers\[1\] must be a \(kernel, stride\)"):
        receptive_field([(3, 1), 3])
    with pytest.raises(ValueError, match=r"layers\[0\] stride must be >= 1"):
        receptive_field([(3, 0)])
