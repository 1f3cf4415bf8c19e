"""2-D convolution layer (cross-correlation, PyTorch semantics): naive loops and a fast GEMM path.

Shapes: x (N, C, H, W); w (F, C, HH, WW); b (F,); out (N, F, H_out, W_out) with
H_out = (H + 2P - D * (HH - 1) - 1) // S + 1 (likewise W_out), where conv_param holds
'stride' S, 'pad' P and optionally 'dilation' D (default 1).

The fast path follows "Deep Learning from Scratch": `im2col` loops over the HH * WW kernel
offsets (few) rather than the output positions (many), copying one strided slice of the
padded image per offset, and a single matrix multiply does all the arithmetic. `col2im`
is its adjoint, used for the input gradient and by conv_transpose. The backward builds the
input gradient a few samples at a time (see _DX_CHUNK_BYTES), so that large kernels do not
send a second im2col-sized matrix through memory.
"""
import numpy as np

from course_lib._arguments import (
    require_keys,
    require_ndim,
    require_positive_int,
    require_shape,
)
# looked up when called: notebook 03's student edition plugs in the student's own conv_output_size
from course_lib import geometry


def read_conv_param(conv_param):
    """Validated (S, P, D) from conv_param = {'stride': S, 'pad': P, optional 'dilation': D}."""
    require_keys("conv_param", conv_param, ("stride", "pad"))
    S = require_positive_int("conv_param['stride']", conv_param["stride"])
    P = require_positive_int("conv_param['pad']", conv_param["pad"], minimum=0)
    D = require_positive_int("conv_param['dilation']", conv_param.get("dilation", 1))
    return S, P, D


def _output_size(axis, size, kernel, conv_param):
    """conv_output_size along one axis, with the failing arguments named in the error."""
    S, P, D = read_conv_param(conv_param)
    try:
        return geometry.conv_output_size(size, kernel, S, P, D)
    except (TypeError, ValueError) as err:
        raise ValueError(f"x and w do not fit conv_param {conv_param} along the {axis}: {err}") from None


def check_conv_inputs(x, w, b, conv_param):
    """Validate a convolution's arguments; return (S, P, D, H_out, W_out).

    x: shape (N, C, H, W); w: shape (F, C, HH, WW); b: shape (F,); conv_param as in read_conv_param.
    """
    require_ndim("x", x, ("N", "C", "H", "W"))
    require_ndim("w", w, ("F", "C", "HH", "WW"))
    N, C, H, W = x.shape
    F, C_w, HH, WW = w.shape
    if C_w != C:
        raise ValueError(
            f"w must have shape (F, C={C}, HH, WW) to match the C={C} channels of x, "
            f"got shape {w.shape}"
        )
    require_shape("b", b, (F,))
    S, P, D = read_conv_param(conv_param)
    H_out = _output_size("height (x H, w HH)", H, HH, conv_param)
    W_out = _output_size("width (x W, w WW)", W, WW, conv_param)
    return S, P, D, H_out, W_out


def _as_float(*arrays):
    return tuple(np.asarray(a, dtype=np.float64) for a in arrays)


def conv_forward_naive(x, w, b, conv_param):
    """Convolution by explicit loops over samples, filters and output positions.

    x: input, shape (N, C, H, W); w: filters, shape (F, C, HH, WW); b: biases, shape (F,);
    conv_param: {'stride': S, 'pad': P} plus optional 'dilation': D.
    Returns out, shape (N, F, H_out, W_out), and cache = (x, w, b, conv_param).
    """
    S, P, D, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    x, w, b = _as_float(x, w, b)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    out = np.empty((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    # Dilation D: the kernel's taps sit D pixels apart, hence the slice step.
                    window = x_pad[n, :, i * S : i * S + D * (HH - 1) + 1 : D,
                                   j * S : j * S + D * (WW - 1) + 1 : D]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Gradients of conv_forward_naive by the same loops: each output spreads its gradient
    over the window it read (dx) and the filter it used (dw).

    dout: upstream gradient, shape (N, F, H_out, W_out); cache: (x, w, b, conv_param).
    Returns dx, shape (N, C, H, W); dw, shape (F, C, HH, WW); db, shape (F,).
    """
    x, w, b, conv_param = cache
    S, P, D, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    N, F = x.shape[0], w.shape[0]
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    require_shape("dout", dout, (N, F, H_out, W_out))
    x_pad = np.pad(x, ((0, 0), (0, 0), (P, P), (P, P)))
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * S, i * S + D * (HH - 1) + 1, D)
                    cols = slice(j * S, j * S + D * (WW - 1) + 1, D)
                    dx_pad[n, :, rows, cols] += dout[n, f, i, j] * w[f]
                    dw[f] += dout[n, f, i, j] * x_pad[n, :, rows, cols]
    db = dout.sum(axis=(0, 2, 3))
    # The padding is not part of the input: its gradient is dropped.
    dx = dx_pad[:, :, P : P + H, P : P + W]
    return dx, dw, db


def _offset_slices(kh, kw, S, D, H_out, W_out):
    """Rows and columns of the padded image that kernel offset (kh, kw) touches."""
    rows = slice(kh * D, kh * D + S * (H_out - 1) + 1, S)
    cols = slice(kw * D, kw * D + S * (W_out - 1) + 1, S)
    return rows, cols


def im2col(x_pad, HH, WW, S, D, H_out, W_out):
    """Unfold every receptive field into a column.

    x_pad: padded input, channels first, shape (C, N, H + 2P, W + 2P).
    Returns cols, shape (C * HH * WW, N * H_out * W_out): row (c, kh, kw) holds pixel
    (c, kh, kw) of every window. This row order matches w.reshape(F, C * HH * WW), and
    building it channels-first makes each per-offset copy and the reshape contiguous.
    """
    C, N = x_pad.shape[:2]
    cols = np.empty((C, HH, WW, N, H_out, W_out))
    for kh in range(HH):
        for kw in range(WW):
            rows, columns = _offset_slices(kh, kw, S, D, H_out, W_out)
            cols[:, kh, kw] = x_pad[:, :, rows, columns]
    return cols.reshape(C * HH * WW, N * H_out * W_out)


def col2im(cols, padded_shape, HH, WW, S, D, H_out, W_out):
    """Adjoint of im2col: add every column entry back onto the pixel it was copied from.

    cols: shape (C * HH * WW, N * H_out * W_out); padded_shape: (C, N, H + 2P, W + 2P).
    Returns the padded image, shape padded_shape, where overlapping windows have summed.
    """
    C, N = padded_shape[:2]
    cols = cols.reshape(C, HH, WW, N, H_out, W_out)
    x_pad = np.zeros(padded_shape)
    for kh in range(HH):
        for kw in range(WW):
            rows, columns = _offset_slices(kh, kw, S, D, H_out, W_out)
            x_pad[:, :, rows, columns] += cols[:, kh, kw]
    return x_pad


def pad_channels_first(x, P):
    """x (N, C, H, W) -> zero-padded copy with channels first, shape (C, N, H + 2P, W + 2P)."""
    N, C, H, W = x.shape
    x_pad = np.zeros((C, N, H + 2 * P, W + 2 * P))
    x_pad[:, :, P : P + H, P : P + W] = x.transpose(1, 0, 2, 3)
    return x_pad


# Bytes of w^T @ dout handled per chunk of samples in conv_backward_fast. Whole, that matrix
# is as large as cols: 60 MB for 32 filters 7x7 over 50 CIFAR images, written by the
# product, read back by col2im, and faulted in afresh on every call (above glibc's 32 MB
# mmap threshold). A chunk of a few MB stays in cache between the two steps and its buffer
# is recycled: that layer's forward + backward drops from 48 to 40 ms on 2 cores, while
# for 3x3 kernels on MNIST-sized batches the whole batch is one chunk, as before.
_DX_CHUNK_BYTES = 8 * 2**20


def conv_forward_fast(x, w, b, conv_param):
    """Convolution as one matrix multiply: (F, C*HH*WW) @ im2col(x) (C*HH*WW, N*H_out*W_out).

    x: input, shape (N, C, H, W); w: filters, shape (F, C, HH, WW); b: biases, shape (F,);
    conv_param: {'stride': S, 'pad': P} plus optional 'dilation': D.
    Returns out, shape (N, F, H_out, W_out), and cache = (x, w, b, conv_param, cols) with
    cols the im2col matrix, shape (C * HH * WW, N * H_out * W_out), reused by the backward.
    """
    S, P, D, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    x, w, b = _as_float(x, w, b)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    cols = im2col(pad_channels_first(x, P), HH, WW, S, D, H_out, W_out)
    out = w.reshape(F, -1) @ cols  # (F, N * H_out * W_out)
    out = out.reshape(F, N, H_out, W_out).transpose(1, 0, 2, 3) + b.reshape(1, F, 1, 1)
    return out, (x, w, b, conv_param, cols)


def conv_backward_fast(dout, cache):
    """Gradients of conv_forward_fast with two matrix multiplies and col2im.

    dout: upstream gradient, shape (N, F, H_out, W_out); cache: (x, w, b, conv_param, cols)
    from the forward, cols of shape (C * HH * WW, N * H_out * W_out).
    Returns dx, shape (N, C, H, W); dw, shape (F, C, HH, WW); db, shape (F,).
    """
    x, w, b, conv_param, cols = cache
    S, P, D, H_out, W_out = check_conv_inputs(x, w, b, conv_param)
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    require_shape("dout", dout, (N, F, H_out, W_out))
    dout_rows = dout.transpose(1, 0, 2, 3).reshape(F, N * H_out * W_out)
    db = dout_rows.sum(axis=1)
    dw = (dout_rows @ cols.T).reshape(w.shape)
    # dx = col2im(w^T @ dout_rows), one chunk of samples at a time (see _DX_CHUNK_BYTES).
    w_columns = w.reshape(F, -1).T  # (C * HH * WW, F)
    per_sample = H_out * W_out
    chunk = max(1, min(N, _DX_CHUNK_BYTES // (8 * C * HH * WW * per_sample)))
    buffer = np.empty(C * HH * WW * chunk * per_sample)
    dx = np.empty((N, C, H, W))
    for start in range(0, N, chunk):
        stop = min(N, start + chunk)
        dcols = buffer[: C * HH * WW * (stop - start) * per_sample].reshape(C * HH * WW, -1)
        np.matmul(w_columns, dout_rows[:, start * per_sample : stop * per_sample], out=dcols)
        dx_pad = col2im(dcols, (C, stop - start, H + 2 * P, W + 2 * P), HH, WW, S, D, H_out, W_out)
        dx[start:stop] = dx_pad[:, :, P : P + H, P : P + W].transpose(1, 0, 2, 3)
    return dx, dw, db
