"""Cases of the selftest exercises (instructor side): inputs and the reference's answers."""
import numpy as np

import course_lib.layers
from autograder.exercises.casebook import cases


@cases("selftest.square_derivative")
def square_derivative(rng, hidden):
    """x of several shapes and f'(x) = 2x for f(x) = x**2."""
    if hidden:
        inputs = [rng.uniform(-5, 5, size=shape) for shape in [(7,), (3, 4), (2, 2, 3)]]
    else:
        inputs = [np.array([-2.0, 0.0, 1.5, 3.0]), np.array([[1.0, -1.0], [0.5, 4.0]])]
    return [{"x": x, "dfdx": 2 * x} for x in inputs]


@cases("selftest.affine_backward", answered_by=["course_lib.layers.affine_backward"])
def affine_backward(rng, hidden):
    """Affine inputs, an upstream gradient, and the reference's dx, dw, db."""
    if hidden:
        shapes = [(int(rng.integers(2, 6)), tuple(int(d) for d in rng.integers(1, 4, size=2)),
                   int(rng.integers(2, 6))) for _ in range(3)]
    else:
        shapes = [(2, (3,), 4), (3, (2, 2), 3)]
    result = []
    for num_samples, dims, out_dim in shapes:
        x = rng.standard_normal((num_samples, *dims))
        w = rng.standard_normal((int(np.prod(dims)), out_dim))
        b = rng.standard_normal(out_dim)
        dout = rng.standard_normal((num_samples, out_dim))
        out, cache = course_lib.layers.affine_forward(x, w, b)
        dx, dw, db = course_lib.layers.affine_backward(dout, cache)
        result.append({"x": x, "w": w, "b": b, "dout": dout, "out": out,
                       "dx": dx, "dw": dw, "db": db})
    return result


@cases("selftest.relu_forward", answered_by=["course_lib.layers.relu_forward"])
def relu_forward(rng, hidden):
    """Inputs and max(0, x)."""
    if hidden:
        inputs = [rng.standard_normal(shape) for shape in [(5,), (4, 6), (2, 3, 2, 2)]]
    else:
        inputs = [np.array([1.0, -2.0, 3.0, -1.0])]
    return [{"x": x, "out": np.maximum(x, 0.0)} for x in inputs]
