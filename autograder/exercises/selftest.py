"""Small exercises that test the autograder itself (and feed the pipeline's fixture assignment).

selftest.square_derivative  student(x) -> f'(x) for f(x) = x**2, x: any shape
selftest.affine_backward    student(dout, cache) -> dx, dw, db, with cache = (x, w, b);
                            may not call course_lib.layers.affine_backward
selftest.relu_forward       student(x) -> (out, cache); may not call course_lib.layers.relu_forward
"""
import numpy as np

import course_lib.layers
from autograder.check import compare
from autograder.check.registry import exercise


@exercise("selftest.square_derivative")
def square_derivative(rng, hidden, student_derivative):
    """f(x) = x**2, so f'(x) = 2x, elementwise."""
    if hidden:
        inputs = [rng.uniform(-5, 5, size=shape) for shape in [(7,), (3, 4), (2, 2, 3)]]
    else:
        inputs = [np.array([-2.0, 0.0, 1.5, 3.0]), np.array([[1.0, -1.0], [0.5, 4.0]])]
    for number, x in enumerate(inputs, start=1):
        compare.case(number, x=x)
        compare.array("dfdx", student_derivative(x.copy()), 2 * x)


@exercise("selftest.affine_backward", forbid=["course_lib.layers.affine_backward"])
def affine_backward(rng, hidden, student_backward):
    """Gradients of out = x.reshape(N, D) @ w + b against course_lib's reference."""
    if hidden:
        shapes = [(int(rng.integers(2, 6)), tuple(int(d) for d in rng.integers(1, 4, size=2)),
                   int(rng.integers(2, 6))) for _ in range(3)]
    else:
        shapes = [(2, (3,), 4), (3, (2, 2), 3)]
    for number, (num_samples, dims, out_dim) in enumerate(shapes, start=1):
        input_dim = int(np.prod(dims))
        x = rng.standard_normal((num_samples, *dims))
        w = rng.standard_normal((input_dim, out_dim))
        b = rng.standard_normal(out_dim)
        dout = rng.standard_normal((num_samples, out_dim))
        compare.case(number, x=x, w=w, b=b)
        _, cache = course_lib.layers.affine_forward(x, w, b)
        expected = course_lib.layers.affine_backward(dout, cache)
        got = student_backward(dout.copy(), (x.copy(), w.copy(), b.copy()))
        compare.true(isinstance(got, tuple) and len(got) == 3,
                     f"affine_backward must return a tuple (dx, dw, db), got {type(got).__name__}")
        for name, got_grad, expected_grad in zip(("dx", "dw", "db"), got, expected):
            compare.array(name, got_grad, expected_grad, batch_size=num_samples,
                          terms=dout if name == "db" else None)
        compare.gradient("dx", got[0], lambda x: course_lib.layers.affine_forward(x, w, b)[0],
                         x, dout)


@exercise("selftest.relu_forward", forbid=["course_lib.layers.relu_forward"], timeout=20)
def relu_forward(rng, hidden, student_forward):
    """out = max(0, x); the cache is the student's choice and is not checked."""
    if hidden:
        inputs = [rng.standard_normal(shape) for shape in [(5,), (4, 6), (2, 3, 2, 2)]]
    else:
        inputs = [np.array([1.0, -2.0, 3.0, -1.0])]
    for number, x in enumerate(inputs, start=1):
        compare.case(number, x=x)
        result = student_forward(x.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"relu_forward must return (out, cache), got {type(result).__name__}")
        compare.array("out", result[0], np.maximum(x, 0.0))
