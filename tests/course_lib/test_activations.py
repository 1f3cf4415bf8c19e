"""Tests for course_lib.layers.activations: relu, leaky_relu, sigmoid, tanh (forward/backward)."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import eval_numerical_gradient_array, rel_error
from course_lib.layers import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)

GRAD_TOL = 1e-7

any_shapes = st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple)
seeds = st.integers(0, 2**32 - 1)

ACTIVATIONS = {
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "tanh": (tanh_forward, tanh_backward),
}


def away_from_kink(shape, seed):
    """Random x with 0.1 <= |x| <= 3, so no entry sits within h of the ReLU kink at 0."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.1, 3.0, shape) * rng.choice([-1.0, 1.0], shape)


def backward_error(forward, backward, x, dout):
    """Relative error of backward's dx against centered differences of forward."""
    _, cache = forward(x)
    dx = backward(dout, cache)
    assert dx.shape == x.shape
    numerical = eval_numerical_gradient_array(lambda v: forward(v)[0], x, dout)
    return rel_error(dx, numerical)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@settings(max_examples=25, deadline=None, derandomize=True)
@given(shape=any_shapes, seed=seeds)
def test_backward_matches_finite_differences(name, shape, seed):
    forward, backward = ACTIVATIONS[name]
    x = away_from_kink(shape, seed)
    dout = np.random.default_rng(seed + 1).standard_normal(shape)
    assert backward_error(forward, backward, x, dout) < GRAD_TOL


@settings(max_examples=25, deadline=None, derandomize=True)
@given(shape=any_shapes, seed=seeds, negative_slope=st.floats(0.0, 0.5))
def test_leaky_relu_backward_for_any_slope(shape, seed, negative_slope):
    x = away_from_kink(shape, seed)
    dout = np.random.default_rng(seed + 1).standard_normal(shape)

    def forward(v):
        return leaky_relu_forward(v, negative_slope=negative_slope)

    assert backward_error(forward, leaky_relu_backward, x, dout) < GRAD_TOL


def test_syllabus_relu_example():
    """SYLLABUS §2: ReLU on [1, -2, 3, -1], upstream [4, -1, 5, 9]."""
    z, cache = relu_forward(np.array([1.0, -2.0, 3.0, -1.0]))
    np.testing.assert_array_equal(z, [1, 0, 3, 0])
    dx = relu_backward(np.array([4.0, -1.0, 5.0, 9.0]), cache)
    np.testing.assert_array_equal(dx, [4, 0, 5, 0])


def test_relu_slope_at_zero_is_zero():
    _, cache = relu_forward(np.array([0.0]))
    np.testing.assert_array_equal(relu_backward(np.array([1.0]), cache), [0.0])


def test_leaky_relu_values():
    out, cache = leaky_relu_forward(np.array([2.0, -3.0, 0.0]), negative_slope=0.1)
    np.testing.assert_allclose(out, [2.0, -0.3, 0.0], rtol=0, atol=1e-15)
    dx = leaky_relu_backward(np.array([5.0, 5.0, 5.0]), cache)
    np.testing.assert_allclose(dx, [5.0, 0.5, 0.5], rtol=0, atol=1e-15)
    default_out, _ = leaky_relu_forward(np.array([-100.0]))
    np.testing.assert_allclose(default_out, [-1.0], rtol=1e-15)  # default slope 0.01


def test_syllabus_sigmoid_neuron_values():
    """SYLLABUS §1: sigma(1) ~ 0.73, sigma'(1) = (1 - sigma(1)) sigma(1) ~ 0.20."""
    out, cache = sigmoid_forward(np.array([1.0]))
    # 1 / (1 + e^-1) with e^-1 = 0.36787944117144233
    np.testing.assert_allclose(out, [0.7310585786300049], rtol=1e-15)
    # 0.7310585786300049 * 0.2689414213699951
    np.testing.assert_allclose(sigmoid_backward(np.array([1.0]), cache), [0.19661193324148185], rtol=1e-14)


def test_sigmoid_and_tanh_are_stable_for_huge_inputs():
    x = np.array([-1000.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s, s_cache = sigmoid_forward(x)
        t, t_cache = tanh_forward(x)
        ds = sigmoid_backward(np.ones(2), s_cache)
        dt = tanh_backward(np.ones(2), t_cache)
    np.testing.assert_array_equal(s, [0.0, 1.0])
    np.testing.assert_array_equal(t, [-1.0, 1.0])
    np.testing.assert_array_equal(ds, [0.0, 0.0])
    np.testing.assert_array_equal(dt, [0.0, 0.0])


def test_sigmoid_keeps_relative_precision_for_negative_inputs():
    # sigma(-40) = e^-40 / (1 + e^-40) = e^-40 to double precision; 0.5 * (1 + tanh(-20)) would give 0
    out, _ = sigmoid_forward(np.array([-40.0]))
    assert rel_error(out, [4.248354255291589e-18]) < 1e-14


def test_sigmoid_matches_definition_for_moderate_inputs():
    x = np.linspace(-30, 30, 61)
    out, _ = sigmoid_forward(x)
    np.testing.assert_allclose(out, 1 / (1 + np.exp(-x)), rtol=1e-14)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_integer_input_gives_float64(name):
    forward, _ = ACTIVATIONS[name]
    out, _ = forward(np.array([-2, 0, 3]))
    assert out.dtype == np.float64


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_inputs_are_not_mutated(name):
    forward, backward = ACTIVATIONS[name]
    x = away_from_kink((3, 4), seed=0)
    dout = np.random.default_rng(1).standard_normal((3, 4))
    x_copy, dout_copy = x.copy(), dout.copy()
    _, cache = forward(x)
    backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_lists_are_refused(name):
    forward, backward = ACTIVATIONS[name]
    with pytest.raises(TypeError, match="^x must be a numpy array, got list"):
        forward([1.0, -2.0])
    _, cache = forward(np.array([1.0, -2.0]))
    with pytest.raises(TypeError, match="^dout must be a numpy array, got list"):
        backward([1.0, 1.0], cache)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_dout_shape_must_match_x(name):
    forward, backward = ACTIVATIONS[name]
    _, cache = forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=re.escape("dout must have shape (2, 3), got shape (3, 2)")):
        backward(np.zeros((3, 2)), cache)


def test_negative_slope_must_be_a_number():
    with pytest.raises(TypeError, match="^negative_slope must be a real number"):
        leaky_relu_forward(np.zeros(2), negative_slope="0.1")


# ---- test the tester: the finite-difference comparison catches wrong backwards ---------


def sigmoid_backward_missing_factor(dout, cache):
    return dout * cache  # forgot the (1 - out) factor


def tanh_backward_unsquared(dout, cache):
    return dout * (1 - cache)  # 1 - out instead of 1 - out**2


def relu_backward_flipped_mask(dout, cache):
    return dout * (cache < 0)


def leaky_relu_backward_no_slope(dout, cache):
    x, _ = cache
    return dout * (x > 0)  # treats leaky ReLU as plain ReLU


@pytest.mark.parametrize(
    "forward,wrong_backward",
    [
        (sigmoid_forward, sigmoid_backward_missing_factor),
        (tanh_forward, tanh_backward_unsquared),
        (relu_forward, relu_backward_flipped_mask),
        (lambda v: leaky_relu_forward(v, negative_slope=0.2), leaky_relu_backward_no_slope),
    ],
)
def test_gradient_check_catches_wrong_backward(forward, wrong_backward):
    x = away_from_kink((4, 5), seed=3)
    dout = np.random.default_rng(4).standard_normal((4, 5))
    assert backward_error(forward, wrong_backward, x, dout) > 1e-2
