"""Fully connected (affine) layer: out = x.reshape(N, D) @ w + b, and its gradients."""
import numpy as np

from course_lib._arguments import require_array, require_ndim, require_shape


def affine_forward(x, w, b):
    """Fully connected layer: out = x.reshape(N, D) @ w + b.

    x: input, shape (N, d_1, ..., d_k) with D = d_1 * ... * d_k (k >= 1)
    w: weights, shape (D, M);  b: biases, shape (M,)
    Returns out, shape (N, M), float64, and cache = (x, w, b) as float64 arrays.
    Raises TypeError for non-arrays, ValueError naming the argument on a shape mismatch.
    """
    require_array("x", x)
    if x.ndim < 2:
        raise ValueError(f"x must have shape (N, d_1, ..., d_k), got shape {x.shape}")
    num_samples = x.shape[0]
    input_dim = int(np.prod(x.shape[1:]))
    require_ndim("w", w, ("D", "M"))
    require_shape("w", w, (input_dim, None))
    require_shape("b", b, (w.shape[1],))

    x = x.astype(np.float64, copy=False)
    w = w.astype(np.float64, copy=False)
    b = b.astype(np.float64, copy=False)
    out = x.reshape(num_samples, input_dim) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Gradients of the affine layer, in the order of the forward's arguments.

    dout: upstream gradient dL/dout, shape (N, M)
    cache: (x, w, b) from affine_forward, shapes (N, d_1, ..., d_k), (D, M), (M,)
    Returns dx, shape (N, d_1, ..., d_k); dw, shape (D, M); db, shape (M,).
    """
    x, w, _ = cache
    num_samples = x.shape[0]
    require_shape("dout", dout, (num_samples, w.shape[1]))

    x_rows = x.reshape(num_samples, w.shape[0])
    dx = (dout @ w.T).reshape(x.shape)
    dw = x_rows.T @ dout
    # b is added to every row, so its gradient sums the rows of dout
    db = dout.sum(axis=0)
    return dx, dw, db
