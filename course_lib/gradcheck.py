"""Numerical gradients by centered differences, and the relative error used to compare them."""
import numpy as np


def rel_error(x, y):
    """Largest elementwise relative error max |x - y| / max(1e-8, |x| + |y|)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x, h=1e-5):
    """Gradient of a scalar function f at x by centered differences (f(x+h) - f(x-h)) / 2h.

    f: callable taking x and returning a scalar; x: array of any shape, nudged in place
    and restored. Returns the gradient, shape of x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        original = x[ix]
        x[ix] = original + h
        f_plus = f(x)
        x[ix] = original - h
        f_minus = f(x)
        x[ix] = original
        grad[ix] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Sum over outputs of df * d f(x) / dx, by centered differences.

    f: callable taking x and returning an array shaped like df; x: array nudged in place
    and restored; df: upstream gradient, shape of f(x). Returns shape of x.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        original = x[ix]
        x[ix] = original + h
        out_plus = np.array(f(x), dtype=np.float64)  # copy: f may return a view of its buffer
        x[ix] = original - h
        out_minus = np.array(f(x), dtype=np.float64)
        x[ix] = original
        grad[ix] = np.sum((out_plus - out_minus) * df) / (2 * h)
        it.iternext()
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, seed=0):
    """Compare analytic_grad with centered differences at `num_checks` random entries of x.

    f: scalar function of x; x: array nudged in place and restored; analytic_grad: shape of x.
    Returns the list of (index, numerical, analytic, relative error) tuples that were checked.
    """
    rng = np.random.default_rng(seed)
    results = []
    for _ in range(num_checks):
        ix = tuple(int(rng.integers(n)) for n in x.shape)
        original = x[ix]
        x[ix] = original + h
        f_plus = f(x)
        x[ix] = original - h
        f_minus = f(x)
        x[ix] = original
        numerical = (f_plus - f_minus) / (2 * h)
        analytic = analytic_grad[ix]
        results.append((ix, float(numerical), float(analytic), rel_error(numerical, analytic)))
    return results
