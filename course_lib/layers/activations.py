"""Elementwise activations (ReLU, leaky ReLU, sigmoid, tanh): forward -> (out, cache), backward -> dx.

Each Jacobian is diagonal, so the backward multiplies dout by the local slope
elementwise instead of ever building the Jacobian. Every array keeps the shape of x,
which may be anything (written (N, ...) below).
"""
import numbers

import numpy as np

from course_lib._arguments import require_array, require_shape


def _require_upstream(dout, x):
    """Check dout against the shape of the forward's input x."""
    return require_shape("dout", dout, x.shape)


def relu_forward(x):
    """ReLU: out = max(0, x).

    x: input, shape (N, ...). Returns out, shape of x, and cache = x.
    """
    require_array("x", x)
    return np.maximum(x, 0).astype(np.float64, copy=False), x


def relu_backward(dout, cache):
    """ReLU gradient: dx = dout where x > 0, else 0 (the slope at exactly x = 0 is taken as 0).

    dout: upstream gradient, shape (N, ...); cache: x from relu_forward, same shape.
    Returns dx, shape of x.
    """
    x = cache
    _require_upstream(dout, x)
    return dout * (x > 0)


def leaky_relu_forward(x, negative_slope=0.01):
    """Leaky ReLU: out = x where x > 0, else negative_slope * x (PyTorch's argument name).

    x: input, shape (N, ...); negative_slope: real number, the slope for x <= 0.
    Returns out, shape of x, and cache = (x, negative_slope).
    """
    require_array("x", x)
    if isinstance(negative_slope, bool) or not isinstance(negative_slope, numbers.Real):
        raise TypeError(
            f"negative_slope must be a real number, got {negative_slope!r} "
            f"({type(negative_slope).__name__})"
        )
    out = np.where(x > 0, x, negative_slope * x).astype(np.float64, copy=False)
    return out, (x, negative_slope)


def leaky_relu_backward(dout, cache):
    """Leaky ReLU gradient: dx = dout where x > 0, else negative_slope * dout.

    dout: upstream gradient, shape (N, ...); cache: (x, negative_slope) from leaky_relu_forward.
    Returns dx, shape of x.
    """
    x, negative_slope = cache
    _require_upstream(dout, x)
    return dout * np.where(x > 0, 1.0, negative_slope)


def sigmoid_forward(x):
    """Logistic sigmoid: out = 1 / (1 + exp(-x)), without overflow for large |x|.

    x: input, shape (N, ...). Returns out, shape of x, and cache = out
    (the backward needs only the output).
    """
    require_array("x", x)
    # exp(-|x|) lies in (0, 1], so neither branch can overflow; each branch is the
    # form of the sigmoid that keeps full relative precision on its side of 0
    decay = np.exp(-np.abs(x.astype(np.float64, copy=False)))
    out = np.where(x >= 0, 1.0 / (1.0 + decay), decay / (1.0 + decay))
    return out, out


def sigmoid_backward(dout, cache):
    """Sigmoid gradient: dx = dout * out * (1 - out).

    dout: upstream gradient, shape (N, ...); cache: out from sigmoid_forward, same shape.
    Returns dx, shape of out.
    """
    out = cache
    _require_upstream(dout, out)
    return dout * out * (1.0 - out)


def tanh_forward(x):
    """Hyperbolic tangent: out = tanh(x).

    x: input, shape (N, ...). Returns out, shape of x, and cache = out.
    """
    require_array("x", x)
    out = np.tanh(x.astype(np.float64, copy=False))
    return out, out


def tanh_backward(dout, cache):
    """Tanh gradient: dx = dout * (1 - out**2).

    dout: upstream gradient, shape (N, ...); cache: out from tanh_forward, same shape.
    Returns dx, shape of out.
    """
    out = cache
    _require_upstream(dout, out)
    return dout * (1.0 - out**2)
