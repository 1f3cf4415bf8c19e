"""Max and average pooling over each activation map: naive loops and vectorised fast paths.

Shapes: x (N, C, H, W); out (N, C, H_out, W_out) with H_out = (H - HH) // S + 1 and
W_out = (W - WW) // S + 1, where pool_param = {'pool_height': HH, 'pool_width': WW,
'stride': S}. Pools may overlap (S < HH) or be non-square; S must tile the input exactly.

Ties in max pooling: the whole gradient goes to the FIRST maximum of the window in
row-major order (top row first, then left to right), as np.argmax picks it. Naive and
fast paths follow the same rule, so their gradients agree exactly even on ties.

Fast paths, one for every pool_param: a loop over the HH * WW pixels of the window, each
step working on that pixel of every window at once. `_each_window_pixel` first copies the
strided slice holding it into a contiguous buffer, because numpy's ufuncs (maximum, >, +)
are SIMD only on contiguous operands and run 5-10x slower on strided slices, while a
strided copy costs about one contiguous pass; `.max(axis=(3, 5))` on the (N, C, H_out, HH,
W_out, WW) reshape of a tiled input is slower still (short strided reduction axes).
Max pooling records the row-major index of each window's first maximum, so its backward
routes every gradient with one comparison per pixel; `_add_to_windows` writes the
per-pixel gradients back into the image. Every temporary is output-sized: on a large
batch a fresh input-sized one costs more in page faults than its arithmetic.
"""
import numpy as np

from course_lib._arguments import require_keys, require_ndim, require_positive_int, require_shape
# looked up when called: notebook 03's student edition plugs in the student's own conv_output_size
from course_lib import geometry


def check_pool_inputs(x, pool_param):
    """Validate x, shape (N, C, H, W), and pool_param; return (HH, WW, S, H_out, W_out)."""
    require_ndim("x", x, ("N", "C", "H", "W"))
    require_keys("pool_param", pool_param, ("pool_height", "pool_width", "stride"))
    HH = require_positive_int("pool_param['pool_height']", pool_param["pool_height"])
    WW = require_positive_int("pool_param['pool_width']", pool_param["pool_width"])
    S = require_positive_int("pool_param['stride']", pool_param["stride"])
    H, W = x.shape[2:]
    try:
        H_out = geometry.conv_output_size(H, HH, S, 0)
        W_out = geometry.conv_output_size(W, WW, S, 0)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"x of shape {x.shape} does not fit pool_param {pool_param}: {err}"
        ) from None
    return HH, WW, S, H_out, W_out


def _check_dout(dout, x, pool_param):
    """Validate dout against the pooling of x (N, C, H, W): it must have shape (N, C, H_out, W_out)."""
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


def _window_offsets(HH, WW, S, H_out, W_out):
    """For each pixel (ph, pw) of the window, in row-major order: the (rows, cols) slices
    of the input that hold that pixel of every window."""
    return [(slice(ph, ph + S * (H_out - 1) + 1, S), slice(pw, pw + S * (W_out - 1) + 1, S))
            for ph in range(HH) for pw in range(WW)]


def _each_window_pixel(x, HH, WW, S, H_out, W_out):
    """Yield pixel (ph, pw) of every window of x (N, C, H, W), for each (ph, pw) in
    row-major order, as a contiguous array of shape (N, C, H_out, W_out).

    The same buffer is yielded each time: use it before asking for the next pixel.
    """
    pixel = np.empty(x.shape[:2] + (H_out, W_out))
    for rows, cols in _window_offsets(HH, WW, S, H_out, W_out):
        np.copyto(pixel, x[:, :, rows, cols])
        yield pixel


def _add_to_windows(x_shape, HH, WW, S, H_out, W_out, gradient_of_pixel):
    """Adjoint of _each_window_pixel: put each window pixel's gradient back on the input pixel
    it was copied from.

    x_shape: (N, C, H, W). gradient_of_pixel(k) returns the gradient of pixel k (row-major)
    of every window, shape (N, C, H_out, W_out); it is called once per k, in order, so it
    may reuse one buffer. Returns dx, shape x_shape: zero where no window reads, summed
    where windows overlap.
    """
    # Windows that tile the input (S == HH == WW) write every pixel exactly once.
    dx = np.empty(x_shape) if S == HH == WW else np.zeros(x_shape)
    overlapping = S < HH or S < WW
    for k, (rows, cols) in enumerate(_window_offsets(HH, WW, S, H_out, W_out)):
        if overlapping:
            dx[:, :, rows, cols] += gradient_of_pixel(k)
        else:
            # Disjoint windows: every pixel gets at most one value, and a strided copy is
            # twice as fast as a strided += (which must read the target too).
            dx[:, :, rows, cols] = gradient_of_pixel(k)
    return dx


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

    x: input, shape (N, C, H, W); pool_param: {'pool_height': HH, 'pool_width': WW, 'stride': S}.
    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param, first_max), with
    first_max, shape (N, C, H_out, W_out), the row-major index in its window (ph * WW + pw)
    of each window's first maximum.
    """
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x, dtype=np.float64)
    pixels = _each_window_pixel(x, HH, WW, S, H_out, W_out)
    out = next(pixels).copy()
    first_max = np.zeros(out.shape, dtype=np.min_scalar_type(HH * WW - 1))
    is_new_max = np.empty(out.shape, dtype=bool)
    for k, pixel in enumerate(pixels, start=1):
        # Strictly greater: on a tie the earlier pixel stays the first maximum. k grows, so
        # max(first_max, k * is_new_max) moves the index to k exactly where pixel k is a new max.
        np.greater(pixel, out, out=is_new_max)
        np.maximum(first_max, is_new_max * first_max.dtype.type(k), out=first_max)
        np.maximum(out, pixel, out=out)
    return out, (x, pool_param, first_max)


def max_pool_backward_fast(dout, cache):
    """Vectorised gradient of max pooling: each window's gradient goes to its first maximum.

    dout: upstream gradient, shape (N, C, H_out, W_out); cache: (x, pool_param, first_max)
    from max_pool_forward_fast. Returns dx, shape (N, C, H, W).
    """
    x, pool_param, first_max = cache
    HH, WW, S, H_out, W_out = _check_dout(dout, x, pool_param)
    gradient = np.empty(first_max.shape)  # of pixel k of every window, reused for each k
    return _add_to_windows(x.shape, HH, WW, S, H_out, W_out,
                           lambda k: np.multiply(first_max == k, dout, out=gradient))


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

    x: input, shape (N, C, H, W); pool_param: {'pool_height': HH, 'pool_width': WW, 'stride': S}.
    Returns out, shape (N, C, H_out, W_out), and cache = (x, pool_param).
    """
    HH, WW, S, H_out, W_out = check_pool_inputs(x, pool_param)
    x = np.asarray(x, dtype=np.float64)
    pixels = _each_window_pixel(x, HH, WW, S, H_out, W_out)
    total = next(pixels).copy()
    for pixel in pixels:
        total += pixel
    total /= HH * WW
    return total, (x, pool_param)


def avg_pool_backward_fast(dout, cache):
    """Vectorised gradient of average pooling: every pixel of a window gets 1 / (HH * WW)
    of the window's gradient.

    dout: upstream gradient, shape (N, C, H_out, W_out); cache: (x, pool_param).
    Returns dx, shape (N, C, H, W).
    """
    x, pool_param = cache
    HH, WW, S, H_out, W_out = _check_dout(dout, x, pool_param)
    share = dout / (HH * WW)  # the same for every pixel of the window
    return _add_to_windows(x.shape, HH, WW, S, H_out, W_out, lambda k: share)
