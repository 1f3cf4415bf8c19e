"""The fast paths of issue 18 against the naive loops: pooling through window-pixel rows
(windows that tile, overlap or leave gaps, ties included) and the convolution backward that
builds dx a chunk of samples at a time (7x7 kernels, chunks that do not divide the batch)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.layers import (
    avg_pool_backward_fast,
    avg_pool_backward_naive,
    avg_pool_forward_fast,
    avg_pool_forward_naive,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
from course_lib.layers import conv as conv_module
from support.strategies import assert_gradients_match, positive, seeds

RTOL, ATOL = 1e-12, 1e-13

# ------------------------------------------------------------------ pooling


def _pool_param(HH, WW, S):
    return {"pool_height": HH, "pool_width": WW, "stride": S}


# (x shape, pool_param): windows that tile exactly, and odd sizes where they do not.
TILED = [((2, 3, 8, 8), _pool_param(2, 2, 2)), ((1, 2, 9, 6), _pool_param(3, 3, 3)),
         ((2, 1, 4, 4), _pool_param(4, 4, 4)), ((3, 2, 5, 7), _pool_param(1, 1, 1))]
NOT_TILED = [((2, 2, 7, 7), _pool_param(3, 3, 2)),   # overlapping, odd size
             ((1, 3, 9, 9), _pool_param(2, 2, 1)),   # overlapping, stride 1
             ((2, 2, 8, 8), _pool_param(2, 2, 3)),   # gaps between windows
             ((2, 1, 7, 8), _pool_param(3, 2, 2)),   # non-square, overlapping rows only
             ((1, 2, 8, 9), _pool_param(2, 3, 3)),   # non-square, stride = width only
             ((2, 2, 5, 5), _pool_param(1, 1, 2))]   # 1x1 windows with gaps
CONFIGS = TILED + NOT_TILED
IDS = [f"{shape[2]}x{shape[3]}-pool{p['pool_height']}x{p['pool_width']}-s{p['stride']}" for shape, p in CONFIGS]


def _pools_agree(fast, naive, x, pool_param, dout):
    out_fast, cache_fast = fast[0](x, pool_param)
    out_naive, cache_naive = naive[0](x, pool_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=RTOL, atol=ATOL)
    dx_fast, dx_naive = fast[1](dout, cache_fast), naive[1](dout, cache_naive)
    np.testing.assert_allclose(dx_fast, dx_naive, rtol=RTOL, atol=ATOL)
    return dx_fast, dx_naive


MAX = ((max_pool_forward_fast, max_pool_backward_fast), (max_pool_forward_naive, max_pool_backward_naive))
AVG = ((avg_pool_forward_fast, avg_pool_backward_fast), (avg_pool_forward_naive, avg_pool_backward_naive))


def _out_shape(x_shape, pool_param):
    HH, WW, S = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    return x_shape[:2] + ((x_shape[2] - HH) // S + 1, (x_shape[3] - WW) // S + 1)


@pytest.mark.parametrize("x_shape, pool_param", CONFIGS, ids=IDS)
@pytest.mark.parametrize("table", [MAX, AVG], ids=["max", "avg"])
def test_pool_fast_equals_naive(table, x_shape, pool_param):
    rng = np.random.default_rng(0)
    x, dout = rng.normal(size=x_shape), rng.normal(size=_out_shape(x_shape, pool_param))
    _pools_agree(*table, x, pool_param, dout)


@pytest.mark.parametrize("x_shape, pool_param", CONFIGS, ids=IDS)
def test_max_pool_ties_go_to_the_first_maximum_exactly(x_shape, pool_param):
    # Values 0..2: most windows hold their maximum two or more times.
    rng = np.random.default_rng(1)
    x = rng.integers(0, 3, size=x_shape).astype(float)
    dout = rng.integers(1, 5, size=_out_shape(x_shape, pool_param)).astype(float)
    dx_fast, dx_naive = _pools_agree(*MAX, x, pool_param, dout)
    np.testing.assert_array_equal(dx_fast, dx_naive)


@pytest.mark.parametrize("table", [MAX, AVG], ids=["max", "avg"])
@settings(max_examples=40, deadline=None, derandomize=True)
@given(size=st.integers(1, 3), rows=st.integers(1, 3), cols=st.integers(1, 3), ties=st.booleans(), seed=seeds)
def test_tiling_pools_of_any_size_agree_with_naive(table, size, rows, cols, ties, seed):
    rng = np.random.default_rng(seed)
    x_shape = (2, 2, rows * size, cols * size)
    x = rng.integers(0, 2, size=x_shape).astype(float) if ties else rng.normal(size=x_shape)
    dout = rng.normal(size=(2, 2, rows, cols))
    _pools_agree(*table, x, _pool_param(size, size, size), dout)


@pytest.mark.parametrize("position, expected", [
    # A window whose four pixels are all equal: the top-left one.
    ([[5.0, 5.0], [5.0, 5.0]], [[1, 0], [0, 0]]),
    # The maximum at (0, 1) and (1, 0): row-major order puts (0, 1) first.
    ([[0.0, 7.0], [7.0, 1.0]], [[0, 1], [0, 0]]),
    # The maximum at (1, 0) and (1, 1): (1, 0).
    ([[0.0, 1.0], [7.0, 7.0]], [[0, 0], [1, 0]]),
])
def test_max_pool_tie_examples(position, expected):
    x = np.tile(np.array(position), (2, 3)).reshape(1, 1, 4, 6)  # six identical 2x2 windows
    out, cache = max_pool_forward_fast(x, _pool_param(2, 2, 2))
    dx = max_pool_backward_fast(np.ones(out.shape), cache)
    np.testing.assert_array_equal(dx[0, 0], np.tile(np.array(expected, dtype=float), (2, 3)))


def test_max_pool_all_equal_overlapping_windows_sum_on_their_first_pixels():
    # 3x3 windows, stride 1, on a constant 4x4 image: each window's first pixel is its top-left.
    x = np.full((1, 1, 4, 4), 2.0)
    _, cache = max_pool_forward_fast(x, _pool_param(3, 3, 1))
    dx = max_pool_backward_fast(np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 1, 2, 2), cache)
    expected = np.zeros((4, 4))
    expected[:2, :2] = [[1, 2], [3, 4]]
    np.testing.assert_array_equal(dx[0, 0], expected)


@pytest.mark.parametrize("table", [MAX, AVG], ids=["max", "avg"])
def test_pool_backward_can_run_twice_and_ignores_changes_to_out(table):
    (forward, backward), _ = table
    rng = np.random.default_rng(2)
    x, dout = rng.normal(size=(2, 3, 6, 6)), rng.normal(size=(2, 3, 3, 3))
    out, cache = forward(x, _pool_param(2, 2, 2))
    first = backward(dout, cache)
    out[...] = 0.0  # a caller reusing the output buffer must not change the gradient
    np.testing.assert_array_equal(backward(dout, cache), first)


def test_pool_fast_paths_accept_integer_and_float32_input():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 9, size=(2, 2, 4, 4))
    for table in (MAX, AVG):
        for values in (x, x.astype(np.float32)):
            dout = rng.normal(size=(2, 2, 2, 2))
            _pools_agree(*table, values, _pool_param(2, 2, 2), dout)


# ------------------------------------------------------------------ convolution, large kernels


def _conv_problem(x_shape, w_shape, conv_param, seed, values=positive):
    rng = np.random.default_rng(seed)
    x, w, b = values(rng, x_shape), values(rng, w_shape), values(rng, w_shape[:1])
    out, _ = conv_forward_naive(x, w, b, conv_param)
    return x, w, b, values(rng, out.shape)


def _convs_agree(x, w, b, conv_param, dout):
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=RTOL, atol=ATOL)
    for name, fast, naive in zip(("dx", "dw", "db"), conv_backward_fast(dout, cache_fast),
                                 conv_backward_naive(dout, cache_naive)):
        np.testing.assert_allclose(fast, naive, rtol=RTOL, atol=ATOL, err_msg=name)


def _normal(rng, shape):
    return rng.normal(size=shape)


LARGE_KERNELS = [
    ((3, 3, 9, 9), (4, 3, 7, 7), {"stride": 1, "pad": 3}),                    # CS231n's first layer, small
    ((2, 2, 11, 9), (3, 2, 7, 5), {"stride": 2, "pad": 2}),                   # non-square, strided
    ((2, 1, 12, 12), (2, 1, 7, 7), {"stride": 1, "pad": 3, "dilation": 2}),   # dilated: spans 13 pixels
    ((5, 2, 6, 6), (3, 2, 7, 7), {"stride": 1, "pad": 1}),                    # kernel wider than the image
]


@pytest.mark.parametrize("x_shape, w_shape, conv_param", LARGE_KERNELS)
@pytest.mark.parametrize("chunk_bytes", [None, 1, "two samples"])
def test_large_kernel_conv_fast_equals_naive(monkeypatch, x_shape, w_shape, conv_param, chunk_bytes):
    # None: the real chunk size (one chunk here); 1: one sample per chunk; two samples per
    # chunk leaves a shorter last chunk when N is odd.
    x, w, b, dout = _conv_problem(x_shape, w_shape, conv_param, seed=4, values=_normal)
    if chunk_bytes == "two samples":
        chunk_bytes = 2 * 8 * w[0].size * dout[0, 0].size  # 8 bytes * C*HH*WW * H_out*W_out per sample
    if chunk_bytes is not None:
        monkeypatch.setattr(conv_module, "_DX_CHUNK_BYTES", chunk_bytes)
    _convs_agree(x, w, b, conv_param, dout)


def test_large_kernel_conv_backward_matches_finite_differences(monkeypatch):
    monkeypatch.setattr(conv_module, "_DX_CHUNK_BYTES", 1)  # one sample per chunk
    conv_param = {"stride": 1, "pad": 3}
    x, w, b, dout = _conv_problem((2, 2, 5, 5), (2, 2, 7, 7), conv_param, seed=5)
    assert_gradients_match(conv_forward_fast, conv_backward_fast, (x, w, b), conv_param, dout, ("x", "w", "b"))


def test_conv_chunks_do_not_depend_on_the_chunk_size(monkeypatch):
    conv_param = {"stride": 1, "pad": 3}
    x, w, b, dout = _conv_problem((7, 3, 8, 8), (4, 3, 7, 7), conv_param, seed=6, values=_normal)
    _, cache = conv_forward_fast(x, w, b, conv_param)
    whole = conv_backward_fast(dout, cache)
    for chunk_bytes in (1, 3 * 8 * 3 * 49 * 64, 10**9):  # 1 sample, 3 samples (7 = 3 + 3 + 1), all
        monkeypatch.setattr(conv_module, "_DX_CHUNK_BYTES", chunk_bytes)
        for got, expected in zip(conv_backward_fast(dout, cache), whole):
            np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


def test_conv_backward_can_run_twice_on_one_cache():
    conv_param = {"stride": 1, "pad": 3}
    x, w, b, dout = _conv_problem((2, 3, 8, 8), (4, 3, 7, 7), conv_param, seed=7, values=_normal)
    _, cache = conv_forward_fast(x, w, b, conv_param)
    first = conv_backward_fast(dout, cache)
    for got, expected in zip(conv_backward_fast(dout, cache), first):
        np.testing.assert_array_equal(got, expected)
