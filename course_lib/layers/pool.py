"""Max and average pooling over each activation map: naive loops and vectorised fast paths.

Shapes: x (N, C, H, W); out (N, C, H_out, W_out) with H_out = (H - HH) // S + 1 and
W_out = (W - WW) // S + 1, where pool_param = {'pool_height': HH, 'pool_width': WW,
'stride': S}. Pools may overlap (S < HH) or be non-square; S must tile the input exactly.

Ties in max pooling: the whole gradient goes to the FIRST maximum of the window in
row-major order (top row first, then left to right), as np.argmax picks it. Naive and
fast paths follow the same rule, so their gradients agree exactly even on ties.

Fast paths: when the pools tile the input without overlap (S == HH == WW, H % HH == 0,
W % WW == 0) a reshape to (N, C, H_out, HH, W_out, WW) exposes every window as two
axes; otherwise a loop over the HH * WW pool offsets works on strided slices of the whole
batch at once (with S == HH == WW these slices are exactly the reshape's window axes).
"""
import numpy as np

from course_lib._arguments import require_keys, require_ndim, require_positive_int, require_shape
from course_lib.geometry import conv_output_size


def check_pool_inputs(x, pool_param):
    """Validate x and pool_param; return (HH, WW, S, H_out, W_out)."""
    require_ndim("x", x, ("N", "C", "H", "W"))
    require_keys("pool_param", pool_param, ("pool_height", "pool_width", "stride"))
    HH = require_positive_int("pool_param['pool_height']", pool_param["pool_height"])
    WW = require_positive_int("pool_param['pool_width']", pool_param["pool_width"])
    S = require_positive_int("pool_param['stride']", pool_param["stride"])
    H, W = x.shape[2:]
    try:
        H_out = conv_output_size(H, HH, S, 0)
        W_out = conv_output_size(W, WW, S, 0)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"x of shape {x.shape} does not fit pool_param {pool_param}: {err}"
        ) from None
    return HH, WW, S, H_out, W_out


def _check_dout(dout, x, pool_param):
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    require_shape("dout", dout, x.shape[:2] + (H_out, W_out))
    return HH, WW, S, H_out, W_out


def _each_window(out_shape, HH, WW, S):
    """Yield (n, c, i, j, rows, cols) for every output (n, c, i, j) of shape out_shape
    (N, C, H_out, W_out); rows and cols are the slices of the input its window reads."""
    for n, c, i, j in np.ndindex(*out_shape):
        yield n, c, i, j, slice(i * S, i * S + HH), slice(j * S, j * S + WW)


def _pool_forward_naive(x, pool_param, reduce):
    """Loop over every window of x (N, C, H, W) and reduce it (np.max or np.mean) to one value."""
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x, dtype=np.float64)
    out = np.empty(x.shape[:2] + (H_out, W_out))
    for n, c, i, j, rows, cols in _each_window(out.shape, HH, WW, S):
        out[n, c, i, j] = reduce(x[n, c, rows, cols])
    return out, (x, pool_param)


def _offset_slices(ph, pw, S, H_out, W_out):
    """Rows and columns holding pixel (ph, pw) of every window, as strided slices."""
    return slice(ph, ph + S * (H_out - 1) + 1, S), slice(pw, pw + S * (W_out - 1) + 1, S)


def _tiles_exactly(x, HH, WW, S):
    H, W = x.shape[2:]
    return S == HH == WW and H % HH == 0 and W % WW == 0


def _as_blocks(a, HH, WW):
    """View a (N, C, H, W) as (N, C, H // HH, HH, W // WW, WW): one block per window."""
    N, C, H, W = a.shape
    return a.reshape(N, C, H // HH, HH, W // WW, WW)


def _reduce_blocks(x, HH, WW, combine):
    """Fold every non-overlapping HH x WW block of x (N, C, H, W) with a binary ufunc.

    combine: np.maximum or np.add. Returns shape (N, C, H // HH, W // WW).
    Folding the window axes one slice at a time (HH + WW elementwise passes) is an order
    of magnitude faster than numpy's .max(axis=(3, 5)), which reduces along short strided axes.
    """
    blocks = _as_blocks(x, HH, WW)
    over_rows = blocks[:, :, :, 0].copy()  # (N, C, H_out, W_out, WW)
    for ph in range(1, HH):
        combine(over_rows, blocks[:, :, :, ph], out=over_rows)
    out = over_rows[..., 0].copy()
    for pw in range(1, WW):
        combine(out, over_rows[..., pw], out=out)
    return out


def _reduce_offsets(x, HH, WW, S, H_out, W_out, combine):
    """Fold the HH * WW strided offset slices of x (N, C, H, W) with a binary ufunc.

    Works for any stride, including overlapping pools. Returns shape (N, C, H_out, W_out).
    """
    out = None
    for ph in range(HH):
        for pw in range(WW):
            rows, cols = _offset_slices(ph, pw, S, H_out, W_out)
            if out is None:
                out = x[:, :, rows, cols].copy()
            else:
                combine(out, x[:, :, rows, cols], out=out)
    return out


def _reduce_windows(x, HH, WW, S, H_out, W_out, combine):
    """Fold every pooling window of x (N, C, H, W) with a binary ufunc, by the faster path."""
    if _tiles_exactly(x, HH, WW, S):
        return _reduce_blocks(x, HH, WW, combine)
    return _reduce_offsets(x, HH, WW, S, H_out, W_out, combine)


# ---------------------------------------------------------------- max pooling, naive


def max_pool_forward_naive(x, pool_param):
    """Max pooling by explicit loops over samples, channels and output positions.

    x: input, shape (N, C, H, W); pool_param: {'pool_height': HH, 'pool_width': WW, 'stride': S}.
    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param).
    """
    return _pool_forward_naive(x, pool_param, np.max)


def max_pool_backward_naive(dout, cache):
    """Route each output's gradient to the first maximum of its window (row-major order).

    dout: shape (N, C, H_out, W_out); cache: (x, pool_param). Returns dx, shape (N, C, H, W).
    """
    x, pool_param = cache
    HH, WW, S, _, _ = _check_dout(dout, x, pool_param)
    dx = np.zeros_like(x)
    for n, c, i, j, rows, cols in _each_window(dout.shape, HH, WW, S):
        first_max = np.argmax(x[n, c, rows, cols])  # flat, row-major index
        dx[n, c, i * S + first_max // WW, j * S + first_max % WW] += dout[n, c, i, j]
    return dx


# ---------------------------------------------------------------- max pooling, fast


def max_pool_forward_fast(x, pool_param):
    """Vectorised max pooling; same arguments, output and tie rule as max_pool_forward_naive.

    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param, out).
    """
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x, dtype=np.float64)
    out = _reduce_windows(x, HH, WW, S, H_out, W_out, np.maximum)
    # The cache keeps its own copy: the caller may modify the returned out in place.
    return out, (x, pool_param, out.copy())


def max_pool_backward_fast(dout, cache):
    """Vectorised gradient of max pooling: visit the pool offsets in row-major order and hand
    each window's gradient to the first offset that holds its maximum.

    dout: shape (N, C, H_out, W_out); cache: (x, pool_param, out). Returns dx, shape (N, C, H, W).
    """
    x, pool_param, out = cache
    HH, WW, S, H_out, W_out = _check_dout(dout, x, pool_param)
    dx = np.zeros_like(x)
    unclaimed = np.ones(out.shape, dtype=bool)  # windows whose maximum is not yet routed
    for ph in range(HH):
        for pw in range(WW):
            rows, cols = _offset_slices(ph, pw, S, H_out, W_out)
            is_first_max = (x[:, :, rows, cols] == out) & unclaimed
            # += because overlapping windows can share a maximum.
            dx[:, :, rows, cols] += dout * is_first_max
            unclaimed &= ~is_first_max
    return dx


# ---------------------------------------------------------------- average pooling, naive


def avg_pool_forward_naive(x, pool_param):
    """Average pooling by explicit loops over samples, channels and output positions.

    x: input, shape (N, C, H, W); pool_param: {'pool_height': HH, 'pool_width': WW, 'stride': S}.
    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param).
    """
    return _pool_forward_naive(x, pool_param, np.mean)


def avg_pool_backward_naive(dout, cache):
    """Share each output's gradient equally among the HH * WW pixels of its window.

    dout: shape (N, C, H_out, W_out); cache: (x, pool_param). Returns dx, shape (N, C, H, W).
    """
    x, pool_param = cache
    HH, WW, S, _, _ = _check_dout(dout, x, pool_param)
    dx = np.zeros_like(x)
    for n, c, i, j, rows, cols in _each_window(dout.shape, HH, WW, S):
        dx[n, c, rows, cols] += dout[n, c, i, j] / (HH * WW)
    return dx


# ---------------------------------------------------------------- average pooling, fast


def avg_pool_forward_fast(x, pool_param):
    """Vectorised average pooling; same arguments and output as avg_pool_forward_naive.

    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param).
    """
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x, dtype=np.float64)
    total = _reduce_windows(x, HH, WW, S, H_out, W_out, np.add)
    return total / (HH * WW), (x, pool_param)


def avg_pool_backward_fast(dout, cache):
    """Vectorised gradient of average pooling.

    dout: shape (N, C, H_out, W_out); cache: (x, pool_param). Returns dx, shape (N, C, H, W).
    """
    x, pool_param = cache
    HH, WW, S, H_out, W_out = _check_dout(dout, x, pool_param)
    share = dout / (HH * WW)
    if _tiles_exactly(x, HH, WW, S):
        N, C = x.shape[:2]
        blocks = np.broadcast_to(share[:, :, :, None, :, None], (N, C, H_out, HH, W_out, WW))
        return blocks.reshape(x.shape)
    dx = np.zeros_like(x)
    for ph in range(HH):
        for pw in range(WW):
            rows, cols = _offset_slices(ph, pw, S, H_out, W_out)
            dx[:, :, rows, cols] += share
    return dx
