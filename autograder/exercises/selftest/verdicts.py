"""Verdicts of the selftest exercises (student side): the student's answers against the case data."""
from autograder.check import compare
from autograder.check.registry import verdict


@verdict("selftest.square_derivative")
def square_derivative(case_data, student_derivative):
    for number, case in enumerate(case_data, start=1):
        compare.case(number, x=case["x"])
        compare.array("dfdx", student_derivative(case["x"].copy()), case["dfdx"])


@verdict("selftest.affine_backward", forbid=["course_lib.layers.affine_backward"])
def affine_backward(case_data, student_backward):
    """dx, dw, db against the reference's, and dx against a numerical gradient of out = x w + b."""
    for number, case in enumerate(case_data, start=1):
        x, w, b, dout = case["x"], case["w"], case["b"], case["dout"]
        compare.case(number, x=x, w=w, b=b)
        got = student_backward(dout.copy(), (x.copy(), w.copy(), b.copy()))
        compare.true(isinstance(got, tuple) and len(got) == 3,
                     f"affine_backward must return a tuple (dx, dw, db), got {type(got).__name__}")
        for name, got_grad in zip(("dx", "dw", "db"), got):
            compare.array(name, got_grad, case[name], batch_size=len(x),
                          terms=dout if name == "db" else None)
        compare.gradient("dx", got[0], lambda v: v.reshape(len(v), -1) @ w + b, x, dout)


@verdict("selftest.relu_forward", forbid=["course_lib.layers.relu_forward"], timeout=20)
def relu_forward(case_data, student_forward):
    """out = max(0, x); the cache is the student's choice and is not checked."""
    for number, case in enumerate(case_data, start=1):
        compare.case(number, x=case["x"])
        result = student_forward(case["x"].copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"relu_forward must return (out, cache), got {type(result).__name__}")
        compare.array("out", result[0], case["out"])
