"""Reference layers with the CS231n contract: forward -> (out, cache), backward(dout, cache) -> grads.

Grouped by kind: dense (affine), activations, losses, conv (naive and fast), pool
(max and average, naive and fast) and conv_transpose.
"""
from course_lib.layers.activations import (
    leaky_relu_backward,
    leaky_relu_forward,
    relu_backward,
    relu_forward,
    sigmoid_backward,
    sigmoid_forward,
    tanh_backward,
    tanh_forward,
)
from course_lib.layers.conv import (
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
)
from course_lib.layers.conv_transpose import conv_transpose_backward, conv_transpose_forward
from course_lib.layers.dense import affine_backward, affine_forward
from course_lib.layers.losses import softmax_loss, svm_loss
from course_lib.layers.pool import (
    avg_pool_backward_fast,
    avg_pool_backward_naive,
    avg_pool_forward_fast,
    avg_pool_forward_naive,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)
