"""PLACEHOLDER: being written."""

def leaky_relu_backward(*args, **kwargs):
    raise NotImplementedError('leaky_relu_backward')


def leaky_relu_forward(*args, **kwargs):
    raise NotImplementedError('leaky_relu_forward')


def relu_backward(*args, **kwargs):
    raise NotImplementedError('relu_backward')


def relu_forward(*args, **kwargs):
    raise NotImplementedError('relu_forward')


def sigmoid_backward(*args, **kwargs):
    raise NotImplementedError('sigmoid_backward')


def sigmoid_forward(*args, **kwargs):
    raise NotImplementedError('sigmoid_forward')


def tanh_backward(*args, **kwargs):
    raise NotImplementedError('tanh_backward')


def tanh_forward(*args, **kwargs):
    raise NotImplementedError('tanh_forward')


