"""Tests for course_lib.layers.dense: affine_forward / affine_backward."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.gradcheck import eval_numerical_gradient_array, rel_error
from course_lib.layers import affine_backward, affine_forward

GRAD_TOL = 1e-7

# x: (N, d_1, ..., d_k) with k in 1..3, small sizes so every entry is checked numerically
input_shapes = st.tuples(
    st.integers(1, 4), st.lists(st.integers(1, 3), min_size=1, max_size=3)
).map(lambda t: (t[0], *t[1]))
seeds = st.integers(0, 2**32 - 1)


def random_affine_problem(x_shape, num_outputs, seed):
    """Random float64 x (x_shape), w (D, M), b (M,) and dout (N, M)."""
    rng = np.random.default_rng(seed)
    input_dim = int(np.prod(x_shape[1:]))
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal((input_dim, num_outputs))
    b = rng.standard_normal(num_outputs)
    dout = rng.standard_normal((x_shape[0], num_outputs))
    return x, w, b, dout


def affine_gradient_errors(backward, x, w, b, dout):
    """Relative error of each gradient returned by `backward` against centered differences."""
    _, cache = affine_forward(x, w, b)
    dx, dw, db = backward(dout, cache)
    numerical = {
        "dx": eval_numerical_gradient_array(lambda v: affine_forward(v, w, b)[0], x, dout),
        "dw": eval_numerical_gradient_array(lambda v: affine_forward(x, v, b)[0], w, dout),
        "db": eval_numerical_gradient_array(lambda v: affine_forward(x, w, v)[0], b, dout),
    }
    analytic = {"dx": dx, "dw": dw, "db": db}
    for name in analytic:
        assert analytic[name].shape == numerical[name].shape, name
    return {name: rel_error(analytic[name], numerical[name]) for name in analytic}


@settings(max_examples=40, deadline=None, derandomize=True)
@given(x_shape=input_shapes, num_outputs=st.integers(1, 4), seed=seeds)
def test_affine_backward_matches_finite_differences(x_shape, num_outputs, seed):
    x, w, b, dout = random_affine_problem(x_shape, num_outputs, seed)
    errors = affine_gradient_errors(affine_backward, x, w, b, dout)
    assert max(errors.values()) < GRAD_TOL, errors


@settings(max_examples=20, deadline=None, derandomize=True)
@given(x_shape=input_shapes, num_outputs=st.integers(1, 4), seed=seeds)
def test_affine_forward_flattens_each_example(x_shape, num_outputs, seed):
    x, w, b, _ = random_affine_problem(x_shape, num_outputs, seed)
    out, _ = affine_forward(x, w, b)
    assert out.shape == (x_shape[0], num_outputs)
    # row n of the output only depends on example n: compare with a per-example dot product
    for n in range(x_shape[0]):
        np.testing.assert_allclose(out[n], x[n].ravel() @ w + b, rtol=1e-12, atol=1e-12)


def test_syllabus_matrix_multiply_example():
    """SYLLABUS §2: y = x w with zero bias, then dL/dx = dL/dy wᵀ and dL/dw = xᵀ dL/dy."""
    x = np.array([[2, 1, -3], [-3, 4, 2]], dtype=np.float64)
    w = np.array([[3, 2, 1, -1], [2, 1, 3, 2], [3, 2, 1, -2]], dtype=np.float64)
    dy = np.array([[2, 3, -3, 9], [-8, 1, 4, 6]], dtype=np.float64)

    y, cache = affine_forward(x, w, np.zeros(4))
    np.testing.assert_array_equal(y, [[-1, -1, 2, 6], [5, 2, 11, 7]])

    dx, dw, db = affine_backward(dy, cache)
    np.testing.assert_array_equal(dx, [[0, 16, -9], [-24, 9, -30]])
    # xᵀ dL/dy by hand, row d of xᵀ is column d of x:
    #   d=0:  2*[2, 3, -3, 9] - 3*[-8, 1, 4, 6] = [ 28,  3, -18,   0]
    #   d=1:  1*[2, 3, -3, 9] + 4*[-8, 1, 4, 6] = [-30,  7,  13,  33]
    #   d=2: -3*[2, 3, -3, 9] + 2*[-8, 1, 4, 6] = [-22, -7,  17, -15]
    np.testing.assert_array_equal(dw, [[28, 3, -18, 0], [-30, 7, 13, 33], [-22, -7, 17, -15]])
    # column sums of dL/dy
    np.testing.assert_array_equal(db, [-6, 4, 1, 15])


def test_integer_inputs_give_float64():
    x = np.array([[2, 1, -3], [-3, 4, 2]])
    w = np.ones((3, 2), dtype=np.int64)
    out, _ = affine_forward(x, w, np.zeros(2, dtype=np.int64))
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 0], [3, 3]])


def test_inputs_are_not_mutated():
    x, w, b, dout = random_affine_problem((3, 2, 2), 5, seed=0)
    copies = [a.copy() for a in (x, w, b, dout)]
    _, cache = affine_forward(x, w, b)
    affine_backward(dout, cache)
    for original, copy in zip((x, w, b, dout), copies):
        np.testing.assert_array_equal(original, copy)


# ---- bad input -------------------------------------------------------------------------


def test_w_rows_must_match_flattened_input():
    x = np.zeros((2, 3, 4))  # D = 12
    with pytest.raises(ValueError, match=re.escape("w must have shape (12, *), got shape (5, 3)")):
        affine_forward(x, np.zeros((5, 3)), np.zeros(3))


def test_w_must_be_two_dimensional():
    with pytest.raises(ValueError, match=r"^w must have shape \(D, M\)"):
        affine_forward(np.zeros((2, 3)), np.zeros(3), np.zeros(3))


def test_b_shape_must_be_m():
    with pytest.raises(ValueError, match=r"^b must have shape \(4,\), got shape \(1, 4\)"):
        affine_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros((1, 4)))


def test_x_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"^x must have shape \(N, d_1, \.\.\., d_k\)"):
        affine_forward(np.zeros(3), np.zeros((3, 4)), np.zeros(4))


@pytest.mark.parametrize("position,name", [(0, "x"), (1, "w"), (2, "b")])
def test_lists_are_refused(position, name):
    args = [np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4)]
    args[position] = args[position].tolist()
    with pytest.raises(TypeError, match=rf"^{name} must be a numpy array, got list"):
        affine_forward(*args)


def test_dout_shape_must_match_out():
    _, cache = affine_forward(np.zeros((2, 3)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ValueError, match=re.escape("dout must have shape (2, 4), got shape (4, 2)")):
        affine_backward(np.zeros((4, 2)), cache)
    with pytest.raises(TypeError, match="^dout must be a numpy array"):
        affine_backward([[0.0] * 4] * 2, cache)


# ---- test the tester: the finite-difference comparison catches wrong backwards ---------


def transposed_dw_backward(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T, db


def batch_mean_db_backward(dout, cache):
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)  # forgot that b is added to every row: sum, not mean


def halved_dx_backward(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return 0.5 * dx, dw, db


@pytest.mark.parametrize(
    "wrong_backward,wrong_grad",
    [(transposed_dw_backward, "dw"), (batch_mean_db_backward, "db"), (halved_dx_backward, "dx")],
)
def test_gradient_check_catches_wrong_backward(wrong_backward, wrong_grad):
    x, w, b, dout = random_affine_problem((3, 4), 4, seed=1)  # D = M so dw.T has dw's shape
    errors = affine_gradient_errors(wrong_backward, x, w, b, dout)
    assert errors[wrong_grad] > 1e-2, errors
    assert all(err < GRAD_TOL for name, err in errors.items() if name != wrong_grad), errors
