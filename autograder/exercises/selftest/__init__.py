"""Small exercises that test the autograder itself (and feed the pipeline's fixture assignment).

selftest.square_derivative  student(x) -> f'(x) for f(x) = x**2, x: any shape
selftest.affine_backward    student(dout, cache) -> dx, dw, db, with cache = (x, w, b);
                            may not call course_lib.layers.affine_backward
selftest.relu_forward       student(x) -> (out, cache); may not call course_lib.layers.relu_forward
"""
