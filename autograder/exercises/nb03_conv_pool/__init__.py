"""Exercise checks of notebook 03 (convolution and pooling, from loops to fast).

nb03.conv_output_size       student(W, F, S, P, dilation=1) -> int; ValueError when it does not fit
nb03.conv_forward_naive     student(x, w, b, conv_param) -> (out, cache); stride, pad, dilation
nb03.conv_backward_naive    student(dout, cache) -> (dx, dw, db) with cache = (x, w, b, conv_param)
nb03.max_pool_forward       student(x, pool_param) -> (out, cache)
nb03.max_pool_backward      student(dout, cache) -> dx with cache = (x, pool_param)
nb03.receptive_field        student(layers) -> int, layers: (kernel, stride[, dilation]) tuples
nb03.conv_transpose_forward student(x, w, b, conv_param) -> (out, cache); checked as the adjoint
                            of a convolution, then against course_lib
nb03.im2col_conv            student im2col(x, HH, WW, conv_param) -> cols and
                            conv_forward_im2col(x, w, b, conv_param) -> (out, cache); must match
                            the naive forward and be much faster than it

Expected values are hand-worked literals (the lecture examples) or come from course_lib's
reference layers (cases.py); hidden cases draw random shapes and (fitting) configurations
from rng. Every checked input is small so that a student's loops finish in well under a
second. verdicts.py runs the student's code on the cases and compares.
"""
