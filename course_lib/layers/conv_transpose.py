"""Transposed convolution (PyTorch conv_transpose2d semantics), built from the fast conv's parts.

Shapes: x (N, C_in, H, W); w (C_in, F_out, HH, WW); b (F_out,); out (N, F_out, H_out, W_out)
with H_out = (H - 1) * S - 2P + D * (HH - 1) + 1 (likewise W_out), where conv_param holds
'stride' S, 'pad' P and optionally 'dilation' D.

A transposed convolution is the input-gradient of a convolution: read w as the weights of a
convolution from F_out to C_in channels; that convolution maps out-shaped images to x-shaped
ones, and this layer applies its adjoint. Each input pixel paints a copy of its kernel,
scaled by its value, S pixels apart, and overlaps add up: exactly col2im. The padding P is
cropped from the border of the painted image.
"""
import numpy as np

from course_lib._arguments import require_ndim, require_positive_int, require_shape
from course_lib.layers.conv import col2im, im2col, pad_channels_first, read_conv_param


def _output_size(axis, size, kernel, S, P, D):
    """(size - 1) * S - 2P + D * (kernel - 1) + 1, refusing a padding that leaves nothing."""
    full = (size - 1) * S + D * (kernel - 1) + 1  # the painted image before cropping
    if full - 2 * P < 1:
        raise ValueError(
            f"conv_param['pad'] = {P} crops the whole output along the {axis}: with x's {size} "
            f"and w's {kernel}, (size - 1) * S + D * (kernel - 1) + 1 = {full} is not more than 2P"
        )
    return full - 2 * P


def check_conv_transpose_inputs(x, w, b, conv_param):
    """Validate a transposed convolution's arguments; return (S, P, D, H_out, W_out)."""
    require_ndim("x", x, ("N", "C_in", "H", "W"))
    require_ndim("w", w, ("C_in", "F_out", "HH", "WW"))
    C_in = x.shape[1]
    if w.shape[0] != C_in:
        raise ValueError(
            f"w must have shape (C_in={C_in}, F_out, HH, WW) to match the C_in={C_in} channels "
            f"of x, got shape {w.shape}"
        )
    require_shape("b", b, (w.shape[1],))
    S, P, D = read_conv_param(conv_param)
    for name, size in zip(("x", "x", "w", "w"), x.shape[2:] + w.shape[2:]):
        require_positive_int(f"{name} spatial size", size)
    H_out = _output_size("height", x.shape[2], w.shape[2], S, P, D)
    W_out = _output_size("width", x.shape[3], w.shape[3], S, P, D)
    return S, P, D, H_out, W_out


def conv_transpose_forward(x, w, b, conv_param):
    """Transposed convolution: col2im(w^T @ x), cropped by the padding, plus the bias.

    x: input, shape (N, C_in, H, W); w: weights, shape (C_in, F_out, HH, WW);
    b: biases, shape (F_out,); conv_param: {'stride': S, 'pad': P} plus optional 'dilation': D.
    Returns out, shape (N, F_out, H_out, W_out), and cache = (x, w, b, conv_param).
    """
    S, P, D, H_out, W_out = check_conv_transpose_inputs(x, w, b, conv_param)
    x, w, b = (np.asarray(a, dtype=np.float64) for a in (x, w, b))
    N, C_in, H, W = x.shape
    _, F_out, HH, WW = w.shape
    x_rows = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    # Column (n, i, j) holds the kernel scaled by x[n, :, i, j], ready to be painted.
    cols = w.reshape(C_in, -1).T @ x_rows  # (F_out * HH * WW, N * H * W)
    # The input grid plays the role of a convolution's output grid (H, W).
    out_pad = col2im(cols, (F_out, N, H_out + 2 * P, W_out + 2 * P), HH, WW, S, D, H, W)
    out = out_pad[:, :, P : P + H_out, P : P + W_out].transpose(1, 0, 2, 3)
    return out + b.reshape(1, F_out, 1, 1), (x, w, b, conv_param)


def conv_transpose_backward(dout, cache):
    """Gradients of conv_transpose_forward: the adjoint of col2im is im2col, i.e. a convolution.

    dout: upstream gradient, shape (N, F_out, H_out, W_out); cache: (x, w, b, conv_param).
    Returns dx, shape (N, C_in, H, W); dw, shape (C_in, F_out, HH, WW); db, shape (F_out,).
    """
    x, w, b, conv_param = cache
    S, P, D, H_out, W_out = check_conv_transpose_inputs(x, w, b, conv_param)
    N, C_in, H, W = x.shape
    _, F_out, HH, WW = w.shape
    require_shape("dout", dout, (N, F_out, H_out, W_out))
    db = dout.sum(axis=(0, 2, 3))
    dcols = im2col(pad_channels_first(dout, P), HH, WW, S, D, H, W)  # (F_out*HH*WW, N*H*W)
    x_rows = x.transpose(1, 0, 2, 3).reshape(C_in, N * H * W)
    dw = (x_rows @ dcols.T).reshape(w.shape)
    dx = (w.reshape(C_in, -1) @ dcols).reshape(C_in, N, H, W).transpose(1, 0, 2, 3)
    return dx, dw, db
