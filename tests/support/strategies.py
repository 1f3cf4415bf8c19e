"""Hypothesis strategies shared by the conv, pool and transposed-conv tests.

Every strategy draws only configurations that fit (the stride tiles the padded input
exactly) and keeps arrays tiny, so that finite differences over every entry stay fast.
Also: input generators and the finite-difference assertion the three test files share.
"""
import numpy as np
from hypothesis import strategies as st

from course_lib.gradcheck import eval_numerical_gradient_array, rel_error


def _input_size(draw, kernel, S, P, D, max_out=3):
    """Draw an input size H >= 1 for which (H + 2P - D * (kernel - 1) - 1) is a multiple of S."""
    span = D * (kernel - 1) + 1
    # Smallest number of output positions that leaves at least one real (unpadded) pixel.
    min_out = max(1, -(-(2 * P + 1 - span) // S) + 1)
    H_out = draw(st.integers(min_out, min_out + max_out - 1))
    return (H_out - 1) * S + span - 2 * P


@st.composite
def conv_configs(draw, max_pad=3, max_stride=3, max_dilation=2):
    """Draw (x_shape, w_shape, conv_param) for a convolution that fits.

    x_shape (N, C, H, W) and w_shape (F, C, HH, WW) with non-square kernels allowed;
    conv_param {'stride': 1..max_stride, 'pad': 0..max_pad, 'dilation': 1..max_dilation}.
    """
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 2))
    F = draw(st.integers(1, 3))
    HH = draw(st.integers(1, 3))
    WW = draw(st.integers(1, 3))
    S = draw(st.integers(1, max_stride))
    P = draw(st.integers(0, max_pad))
    D = draw(st.integers(1, max_dilation))
    H = _input_size(draw, HH, S, P, D)
    W = _input_size(draw, WW, S, P, D)
    return (N, C, H, W), (F, C, HH, WW), {"stride": S, "pad": P, "dilation": D}


@st.composite
def pool_configs(draw):
    """Draw (x_shape, pool_param) for a pooling that fits.

    Pools may be non-square and overlap (stride smaller than the pool) or leave gaps.
    """
    N = draw(st.integers(1, 2))
    C = draw(st.integers(1, 2))
    HH = draw(st.integers(1, 3))
    WW = draw(st.integers(1, 3))
    S = draw(st.integers(1, 3))
    H = _input_size(draw, HH, S, 0, 1)
    W = _input_size(draw, WW, S, 0, 1)
    return (N, C, H, W), {"pool_height": HH, "pool_width": WW, "stride": S}


seeds = st.integers(0, 2**32 - 1)


def positive(rng, shape):
    """Values in [0.5, 1.5]: every sum of products stays far from zero, so an elementwise
    relative error measures the implementation rather than cancellation."""
    return rng.uniform(0.5, 1.5, size=shape)


def distinct(rng, shape):
    """Shuffled values 0.1 apart: no ties and gaps far wider than a finite-difference step,
    so max pooling is differentiable at the point being checked."""
    size = int(np.prod(shape))
    return rng.permutation(size).reshape(shape) * 0.1 + 0.05


def numeric_gradients(forward, arrays, param, dout):
    """Centered-difference gradients of sum(forward(*arrays, param)[0] * dout), one per array."""
    grads = []
    for k, array in enumerate(arrays):
        def out_of(value, k=k):
            args = list(arrays)
            args[k] = value
            return forward(*args, param)[0]

        grads.append(eval_numerical_gradient_array(out_of, array.copy(), dout, h=1e-5))
    return grads


def assert_gradients_match(forward, backward, arrays, param, dout, names, tol=1e-7):
    """Assert that backward's gradients match centered differences of forward.

    arrays: the forward's array arguments (x, w, b or just x); names: their names for messages.
    """
    _, cache = forward(*arrays, param)
    analytic = backward(dout, cache)
    if not isinstance(analytic, tuple):
        analytic = (analytic,)
    assert len(analytic) == len(arrays), f"backward returned {len(analytic)} gradients"
    for name, got, expected in zip(names, analytic, numeric_gradients(forward, arrays, param, dout)):
        assert got.shape == expected.shape, f"d{name}: shape {got.shape}, expected {expected.shape}"
        error = rel_error(got, expected)
        worst = np.unravel_index(np.argmax(np.abs(got - expected)), got.shape)
        assert error < tol, (
            f"d{name}: relative error {error:.2e} >= {tol:.0e}; worst at {worst}: "
            f"analytic {got[worst]!r}, numerical {expected[worst]!r}"
        )
