"""PLACEHOLDER: being written."""

def avg_pool_backward_fast(*args, **kwargs):
    raise NotImplementedError('avg_pool_backward_fast')


def avg_pool_backward_naive(*args, **kwargs):
    raise NotImplementedError('avg_pool_backward_naive')


def avg_pool_forward_fast(*args, **kwargs):
    raise NotImplementedError('avg_pool_forward_fast')


def avg_pool_forward_naive(*args, **kwargs):
    raise NotImplementedError('avg_pool_forward_naive')


def max_pool_backward_fast(*args, **kwargs):
    raise NotImplementedError('max_pool_backward_fast')


def max_pool_backward_naive(*args, **kwargs):
    raise NotImplementedError('max_pool_backward_naive')


def max_pool_forward_fast(*args, **kwargs):
    raise NotImplementedError('max_pool_forward_fast')


def max_pool_forward_naive(*args, **kwargs):
    raise NotImplementedError('max_pool_forward_naive')


