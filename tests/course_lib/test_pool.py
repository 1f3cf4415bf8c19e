"""Max and average pooling: gradients, fast == naive (ties included), worked examples, errors."""
import numpy as np
import pytest
from hypothesis import given, settings

from course_lib.layers import (
    avg_pool_backward_fast,
    avg_pool_backward_naive,
    avg_pool_forward_fast,
    avg_pool_forward_naive,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
from support.strategies import assert_gradients_match, distinct, pool_configs, positive, seeds

MAX = {"naive": (max_pool_forward_naive, max_pool_backward_naive),
       "fast": (max_pool_forward_fast, max_pool_backward_fast)}
AVG = {"naive": (avg_pool_forward_naive, avg_pool_backward_naive),
       "fast": (avg_pool_forward_fast, avg_pool_backward_fast)}
ALL = {f"max_{k}": v for k, v in MAX.items()} | {f"avg_{k}": v for k, v in AVG.items()}

SYLLABUS_X = np.array([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]], dtype=float).reshape(1, 1, 4, 4)
POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}


def _out_shape(x_shape, pool_param):
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return x_shape[:2] + ((x_shape[2] - HH) // S + 1, (x_shape[3] - WW) // S + 1)


@pytest.mark.parametrize("kind", ALL)
@settings(max_examples=25, deadline=None, derandomize=True)
@given(config=pool_configs(), seed=seeds)
def test_backward_matches_finite_differences(kind, config, seed):
    forward, backward = ALL[kind]
    x_shape, pool_param = config
    rng = np.random.default_rng(seed)
    # Distinct, well-separated values: max pooling is differentiable there.
    x, dout = distinct(rng, x_shape), positive(rng, _out_shape(x_shape, pool_param))
    assert_gradients_match(forward, backward, (x,), pool_param, dout, ("x",))


def _assert_fast_equals_naive(table, x, pool_param, rng):
    (forward_naive, backward_naive), (forward_fast, backward_fast) = table["naive"], table["fast"]
    out_naive, cache_naive = forward_naive(x, pool_param)
    out_fast, cache_fast = forward_fast(x, pool_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=1e-12, atol=1e-14)
    dout = rng.normal(size=out_naive.shape)
    np.testing.assert_allclose(
        backward_fast(dout, cache_fast), backward_naive(dout, cache_naive), rtol=1e-12, atol=1e-14
    )


@pytest.mark.parametrize("table", [MAX, AVG], ids=["max", "avg"])
@settings(max_examples=40, deadline=None, derandomize=True)
@given(config=pool_configs(), seed=seeds)
def test_fast_equals_naive(table, config, seed):
    x_shape, pool_param = config
    rng = np.random.default_rng(seed)
    _assert_fast_equals_naive(table, rng.normal(size=x_shape), pool_param, rng)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(config=pool_configs(), seed=seeds)
def test_max_pool_fast_equals_naive_with_ties(config, seed):
    x_shape, pool_param = config
    rng = np.random.default_rng(seed)
    _assert_fast_equals_naive(MAX, rng.integers(0, 2, size=x_shape).astype(float), pool_param, rng)


@pytest.mark.parametrize("table", [MAX, AVG], ids=["max", "avg"])
@pytest.mark.parametrize("size", [1, 2, 3])
def test_fast_equals_naive_on_exact_tiling(table, size):
    # stride == pool size and the pools tile the input: the fast path's reshape branch.
    rng = np.random.default_rng(size)
    pool_param = {"pool_height": size, "pool_width": size, "stride": size}
    _assert_fast_equals_naive(table, rng.normal(size=(2, 3, 2 * size, 3 * size)), pool_param, rng)


@pytest.mark.parametrize("kind", MAX)
def test_syllabus_max_pool_example(kind):
    forward, backward = MAX[kind]
    out, cache = forward(SYLLABUS_X, POOL_2X2)
    np.testing.assert_array_equal(out[0, 0], [[6, 8], [3, 4]])
    dx = backward(np.array([[10.0, 20.0], [30.0, 40.0]]).reshape(1, 1, 2, 2), cache)
    expected = np.zeros((4, 4))
    expected[1, 1], expected[1, 3], expected[2, 0], expected[3, 3] = 10, 20, 30, 40
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("kind", AVG)
def test_syllabus_matrix_average_pooled(kind):
    forward, backward = AVG[kind]
    out, cache = forward(SYLLABUS_X, POOL_2X2)
    np.testing.assert_allclose(out[0, 0], [[13 / 4, 21 / 4], [2, 2]], rtol=1e-15)
    dx = backward(np.array([[4.0, 8.0], [12.0, 16.0]]).reshape(1, 1, 2, 2), cache)
    np.testing.assert_array_equal(dx[0, 0], np.kron([[1, 2], [3, 4]], np.ones((2, 2))))


@pytest.mark.parametrize("kind", MAX)
def test_ties_route_to_the_first_maximum_in_row_major_order(kind):
    forward, backward = MAX[kind]
    x = np.array([[1.0, 3.0], [3.0, 3.0]]).reshape(1, 1, 2, 2)
    _, cache = forward(x, POOL_2X2)
    dx = backward(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 1], [0, 0]])


@pytest.mark.parametrize("kind", MAX)
def test_overlapping_pools_sum_at_a_shared_maximum(kind):
    # 2x2 pools with stride 1 on a 3x3 image whose maximum is the centre: all four windows
    # pick it, so its gradient is the sum of the four upstream gradients.
    forward, backward = MAX[kind]
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
    out, cache = forward(x, {"pool_height": 2, "pool_width": 2, "stride": 1})
    np.testing.assert_array_equal(out[0, 0], np.full((2, 2), 9.0))
    dx = backward(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


@pytest.mark.parametrize("kind", AVG)
def test_non_square_overlapping_average(kind):
    forward, _ = AVG[kind]
    x = np.arange(12.0).reshape(1, 1, 3, 4)
    out, _ = forward(x, {"pool_height": 3, "pool_width": 2, "stride": 1})
    # Column pairs (0,1), (1,2), (2,3) over all three rows: means 4.5, 5.5, 6.5.
    np.testing.assert_allclose(out[0, 0], [[4.5, 5.5, 6.5]], rtol=1e-15)


@pytest.mark.parametrize("kind", ALL)
def test_inputs_are_not_mutated(kind):
    forward, backward = ALL[kind]
    rng = np.random.default_rng(2)
    x, dout = rng.normal(size=(2, 2, 5, 5)), rng.normal(size=(2, 2, 2, 2))
    x_copy, dout_copy = x.copy(), dout.copy()
    _, cache = forward(x, {"pool_height": 3, "pool_width": 3, "stride": 2})
    backward(dout, cache)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(dout, dout_copy)


# ------------------------------------------------------------------ test the tester


def _max_pool_backward_overwriting(dout, cache):
    """Wrong on purpose: overlapping windows overwrite (=) instead of accumulating (+=)."""
    x, pool_param = cache
    S, WW = pool_param["stride"], pool_param["pool_width"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[0, 0, i * S : i * S + pool_param["pool_height"], j * S : j * S + WW]
            k = np.argmax(window)
            dx[0, 0, i * S + k // WW, j * S + k % WW] = dout[0, 0, i, j]
    return dx


def test_gradient_check_catches_overwriting_overlapping_pools():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 9.0, 5.0], [6.0, 7.0, 8.0]]).reshape(1, 1, 3, 3)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 1}
    dout = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2)
    forward = max_pool_forward_naive
    assert_gradients_match(forward, max_pool_backward_naive, (x,), pool_param, dout, ("x",))
    with pytest.raises(AssertionError, match="dx: relative error"):
        assert_gradients_match(forward, _max_pool_backward_overwriting, (x,), pool_param, dout, ("x",))


# ------------------------------------------------------------------ bad input

BAD = [
    ("x not 4-D", (np.zeros((4, 4)), POOL_2X2), ValueError, r"x must have shape \(N, C, H, W\), got shape \(4, 4\)"),
    ("pool_param not a dict", (SYLLABUS_X, (2, 2, 2)), TypeError, "pool_param must be a dict"),
    ("no pool_width", (SYLLABUS_X, {"pool_height": 2, "stride": 2}), ValueError,
     r"pool_param is missing key\(s\) \['pool_width'\]"),
    ("no stride", (SYLLABUS_X, {"pool_height": 2, "pool_width": 2}), ValueError,
     r"pool_param is missing key\(s\) \['stride'\]"),
    ("pool larger than input", (SYLLABUS_X, {"pool_height": 5, "pool_width": 2, "stride": 1}), ValueError,
     r"x of shape \(1, 1, 4, 4\) does not fit pool_param.*kernel larger"),
    ("stride does not tile", (SYLLABUS_X, {"pool_height": 3, "pool_width": 3, "stride": 2}), ValueError,
     r"x of shape \(1, 1, 4, 4\) does not fit pool_param.*stride does not tile"),
    ("zero stride", (SYLLABUS_X, {"pool_height": 2, "pool_width": 2, "stride": 0}), ValueError,
     r"pool_param\['stride'\] must be >= 1"),
]


@pytest.mark.parametrize("kind", ALL)
@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_raises_naming_the_argument(kind, case):
    forward, _ = ALL[kind]
    _, args, error, message = case
    with pytest.raises(error, match=message):
        forward(*args)


@pytest.mark.parametrize("kind", ALL)
def test_dout_of_wrong_shape_is_refused(kind):
    forward, backward = ALL[kind]
    _, cache = forward(SYLLABUS_X, POOL_2X2)
    with pytest.raises(ValueError, match=r"dout must have shape \(1, 1, 2, 2\), got shape \(1, 1, 4, 4\)"):
        backward(np.zeros((1, 1, 4, 4)), cache)
