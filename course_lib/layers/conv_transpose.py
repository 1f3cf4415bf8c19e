"""PLACEHOLDER: being written."""

def conv_transpose_backward(*args, **kwargs):
    raise NotImplementedError('conv_transpose_backward')


def conv_transpose_forward(*args, **kwargs):
    raise NotImplementedError('conv_transpose_forward')


