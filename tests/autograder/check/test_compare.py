"""autograder.check.compare: correct answers pass; each usual mistake fails with its diagnosis."""
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autograder.check import compare
from autograder.check.compare import WrongAnswer


@pytest.fixture(autouse=True)
def fresh_run():
    compare.start_run()


def failure_of(helper, *args, **kwargs):
    """The message of the WrongAnswer raised by helper(*args, **kwargs)."""
    with pytest.raises(WrongAnswer) as info:
        helper(*args, **kwargs)
    return str(info.value)


def reference_dw(seed=0, num_samples=4, input_dim=3, out_dim=5):
    """(x, dout, dw = x.T @ dout, per-sample terms of dw) for a small affine layer."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((num_samples, input_dim))
    dout = rng.standard_normal((num_samples, out_dim))
    terms = x[:, :, None] * dout[:, None, :]
    return x, dout, x.T @ dout, terms


# ---------------------------------------------------------------------------- array

def test_array_accepts_the_right_answer_and_float_noise():
    _, _, dw, _ = reference_dw()
    compare.array("dw", dw.copy(), dw)
    compare.array("dw", dw * (1 + 1e-12), dw)


def test_message_names_output_case_relative_error_and_worst_element():
    expected = np.array([[1.0, 2.0], [3.0, 4.0]])
    got = expected.copy()
    got[1, 0] = 3.5
    compare.case(2, x=np.zeros((2, 3)), stride=1)
    message = failure_of(compare.array, "dw", got, expected)
    assert message.startswith("dw is wrong (case 2: x (2, 3), stride=1)")
    assert "relative error 7.69e-02" in message  # 0.5 / 6.5
    assert "worst element dw[1, 0]: expected 3, got 3.5" in message
    assert "1 of 4 checked entries are wrong" in message


def test_explicit_case_overrides_the_current_case():
    compare.case(1)
    message = failure_of(compare.array, "db", np.ones(2), np.zeros(2), case="N=3, M=2")
    assert "(N=3, M=2)" in message


def test_square_transposed_answer_is_diagnosed():
    _, _, dw, _ = reference_dw(input_dim=5)
    assert "dw is transposed" in failure_of(compare.array, "dw", dw.T.copy(), dw)


def test_non_square_transposed_answer_is_a_shape_error_with_transpose_diagnosis():
    _, _, dw, _ = reference_dw()
    message = failure_of(compare.array, "dw", dw.T.copy(), dw)
    assert "shape: expected (3, 5), got (5, 3)" in message
    assert "dw.T is exactly right" in message


@pytest.mark.parametrize("factor, phrase", [
    (2.0, "2 times too large"),
    (0.5, "2 times too small"),
    (-1.0, "wrong sign everywhere"),
    (-2.0, "wrong sign and is 2 times too large"),
    (3.7, "off by a constant factor: got ≈ 3.7 × expected"),
])
def test_constant_factors_are_named(factor, phrase):
    _, _, dw, _ = reference_dw()
    assert phrase in failure_of(compare.array, "dw", factor * dw, dw)


def test_factor_of_batch_size_is_called_sum_versus_mean():
    _, _, dw, _ = reference_dw(num_samples=4)
    too_large = failure_of(compare.array, "dw", 4 * dw, dw, batch_size=4)
    assert "4 times too large (N = 4)" in too_large and "mean instead of sum" in too_large
    too_small = failure_of(compare.array, "dw", dw / 4, dw, batch_size=4)
    assert "4 times too small (N = 4)" in too_small
    assert "batch size?" in failure_of(compare.array, "dw", 4 * dw, dw)


def test_unreduced_batch_axis_is_diagnosed_as_missing_sum():
    _, _, dw, terms = reference_dw()
    message = failure_of(compare.array, "dw", terms, dw)
    assert "shape: expected (3, 5), got (4, 3, 5)" in message
    assert "forgot to sum over the batch" in message


def test_one_samples_term_is_diagnosed_with_terms():
    _, dout, _, _ = reference_dw()
    db = dout.sum(axis=0)
    assert "sample 0's contribution only" in failure_of(
        compare.array, "db", dout[0].copy(), db, terms=dout)
    assert "the last sample's contribution only" in failure_of(
        compare.array, "db", dout[-1].copy(), db, terms=dout)


def test_keepdims_shape_says_reshape_fixes_it():
    _, dout, _, _ = reference_dw()
    db = dout.sum(axis=0)
    message = failure_of(compare.array, "db", dout.sum(axis=0, keepdims=True), db)
    assert "expected (5,), got (1, 5)" in message
    assert "db.reshape((5,)) fixes it" in message


def test_other_shape_mismatch_reports_both_shapes():
    message = failure_of(compare.array, "out", np.zeros((2, 7)), np.zeros((3, 4)))
    assert "shape: expected (3, 4), got (2, 7)" in message


@pytest.mark.parametrize("bad, word", [(np.nan, "NaN"), (np.inf, "inf")])
def test_nan_and_inf_are_reported_with_position(bad, word):
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 2] = bad
    message = failure_of(compare.array, "probs", got, expected)
    assert f"contains {word} at 1 of 6 entries (first at probs[1, 2])" in message
    assert "overflow in exp" in message


@pytest.mark.parametrize("container", [list, tuple])
def test_list_or_tuple_instead_of_array(container):
    message = failure_of(compare.array, "out", container([1.0, 2.0]), np.array([1.0, 2.0]))
    assert f"is a {container.__name__} of length 2, not a numpy array" in message


def test_none_returned():
    assert "forget a `return`" in failure_of(compare.array, "dx", None, np.zeros(3))


def test_integer_dtype_is_refused_even_with_right_values():
    message = failure_of(compare.array, "out", np.array([1, 2]), np.array([1.0, 2.0]))
    assert "dtype int64 (integers)" in message


def test_all_zero_gradient_and_wrong_mask_are_diagnosed():
    expected = np.array([4.0, 0.0, 5.0, 0.0])
    assert "all zeros" in failure_of(compare.array, "dx", np.zeros(4), expected)
    leaky_mask = np.array([4.0, -1.0, 5.0, 9.0])
    assert "wrong exactly where the expected value is 0" in failure_of(
        compare.array, "dx", leaky_mask, expected)


# ---------------------------------------------------------------------------- scalar

def test_scalar_accepts_numbers_and_zero_d_arrays():
    compare.scalar("loss", 2.302585092994046, np.log(10))
    compare.scalar("loss", np.float64(np.log(10)), np.log(10))
    compare.scalar("loss", np.array(np.log(10)), np.log(10))


def test_scalar_failures():
    assert "expected 2, got 8" in failure_of(compare.scalar, "loss", 8.0, 2.0)
    assert "4 times too large (N = 4)" in failure_of(compare.scalar, "loss", 8.0, 2.0, batch_size=4)
    assert "array of shape (3,)" in failure_of(compare.scalar, "loss", np.ones(3), 3.0)
    assert "is nan" in failure_of(compare.scalar, "loss", float("nan"), 1.0)
    assert "forget a `return`" in failure_of(compare.scalar, "loss", None, 1.0)


# ---------------------------------------------------------------------------- gradient

def cubic(x):
    return float(np.sum(x * x * x))


def test_gradient_accepts_the_analytic_gradient_and_leaves_x_alone():
    x = np.random.default_rng(1).standard_normal((3, 4))
    x_before = x.copy()
    compare.gradient("dx", 3 * x ** 2, cubic, x)
    np.testing.assert_array_equal(x, x_before)


def test_gradient_with_upstream_array():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    dout = rng.standard_normal((4, 5))
    compare.gradient("dx", dout @ w.T, lambda x: x @ w, x, dout)
    message = failure_of(compare.gradient, "dx", 2 * dout @ w.T, lambda x: x @ w, x, dout)
    assert "centered finite differences" in message and "2 times too large" in message


def test_gradient_diagnoses_transpose_and_wrong_shape():
    rng = np.random.default_rng(3)
    x, w = rng.standard_normal((4, 4)), rng.standard_normal((4, 4))
    dout = rng.standard_normal((4, 4))
    dw = x.T @ dout
    assert "dw is transposed" in failure_of(compare.gradient, "dw", dw.T.copy(),
                                            lambda w: x @ w, w, dout)
    message = failure_of(compare.gradient, "dx", np.zeros(16), cubic, x)
    assert "expected (4, 4)" in message and "reshape" in message


def test_gradient_reports_nan():
    x = np.ones(3)
    got = np.array([3.0, np.nan, 3.0])
    assert "contains NaN" in failure_of(compare.gradient, "dx", got, cubic, x)


def test_large_gradient_is_sampled_and_fast():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((200, 300))
    start = time.perf_counter()
    compare.gradient("dx", 3 * x ** 2, cubic, x)
    assert time.perf_counter() - start < 1.0
    wrong = 3 * x ** 2
    wrong[0, 0] += 1.0  # the first entry is always among the sampled ones
    message = failure_of(compare.gradient, "dx", wrong, cubic, x)
    assert "at 40 of 60000 entries" in message and "worst element dx[0, 0]" in message


def test_sampled_entries_are_seeded():
    first = compare._sample_entries(1000, 10, seed=0)
    np.testing.assert_array_equal(first, compare._sample_entries(1000, 10, seed=0))
    assert len(set(first)) == 10 and first[0] == 0 and first[-1] == 999


# ---------------------------------------------------------------------------- raises / true / cases

def strict_sqrt(value):
    if value < 0:
        raise ValueError("value must be >= 0")
    return value ** 0.5


def test_raises():
    compare.raises(ValueError, strict_sqrt, -1.0)
    compare.raises((TypeError, ValueError), strict_sqrt, -1.0, match=">= 0")
    assert "but it returned 1.0" in failure_of(compare.raises, ValueError, strict_sqrt, 1.0)
    assert "raised ValueError" in failure_of(compare.raises, TypeError, strict_sqrt, -1.0)
    assert "does not mention" in failure_of(compare.raises, ValueError, strict_sqrt, -1.0,
                                            match="positive")


def test_true():
    compare.true(True, "never shown")
    compare.case("sanity", N=3)
    assert failure_of(compare.true, False, "out must be a tuple") == \
        "out must be a tuple\n  (sanity: N=3)"


def test_cases_are_counted_once_per_label():
    compare.case(1, x=np.zeros(2))
    compare.case(2, x=np.zeros(3))
    compare.array("a", np.zeros(1), np.zeros(1), case="extra")
    compare.array("a", np.zeros(1), np.zeros(1), case="extra")
    assert compare.cases_seen() == 3
    compare.start_run()
    assert compare.cases_seen() == 0


# ---------------------------------------------------------------------------- sweeps

shapes = st.lists(st.integers(1, 5), min_size=1, max_size=3).map(tuple)


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2 ** 16),
       factor=st.sampled_from([2.0, 0.5, -1.0, 3.0, 1 / 3]))
def test_any_scaled_answer_fails_and_names_a_factor(shape, seed, factor):
    expected = np.random.default_rng(seed).uniform(0.5, 2.0, size=shape)
    message = failure_of(compare.array, "out", factor * expected, expected)
    assert "worst element out[" in message
    assert any(p in message for p in ("times too", "wrong sign"))


@settings(max_examples=30, deadline=None)
@given(shape=shapes, seed=st.integers(0, 2 ** 16))
def test_any_right_answer_passes_array_and_gradient(shape, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    compare.array("out", x.copy(), x)
    compare.gradient("dx", 3 * x ** 2, cubic, x)


def test_gradient_of_a_non_contiguous_input_is_still_measured():
    # A transposed (Fortran-ordered) x: the finite differences must still see the nudges.
    x = np.arange(1.0, 7.0).reshape(2, 3).T
    compare.gradient("dx", 2 * x, lambda v: np.sum(v ** 2), x)
    with pytest.raises(compare.WrongAnswer):
        compare.gradient("dx", np.zeros_like(x), lambda v: np.sum(v ** 2), x)


def test_the_relative_error_and_the_worst_element_name_their_entries_when_they_differ():
    # entry 0: small values, relative error 1; entry 1: the largest excess over the tolerance
    expected = np.array([0.0, 10.0])
    got = np.array([1e-3, 13.0])
    with pytest.raises(compare.WrongAnswer) as failure:
        compare.array("dw", got, expected)
    message = str(failure.value)
    assert "relative error 1.00e+00 (allowed: rtol=1e-06, atol=1e-09), largest at dw[0]: expected 0, got 0.001" in message
    assert "worst element (furthest outside the tolerance) dw[1]: expected 10, got 13" in message
