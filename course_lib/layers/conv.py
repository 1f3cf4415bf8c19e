"""PLACEHOLDER: being written."""

def conv_backward_fast(*args, **kwargs):
    raise NotImplementedError('conv_backward_fast')


def conv_backward_naive(*args, **kwargs):
    raise NotImplementedError('conv_backward_naive')


def conv_forward_fast(*args, **kwargs):
    raise NotImplementedError('conv_forward_fast')


def conv_forward_naive(*args, **kwargs):
    raise NotImplementedError('conv_forward_naive')


