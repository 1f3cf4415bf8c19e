"""Spatial arithmetic of convolutions: output sizes and receptive fields."""
from course_lib._arguments import require_positive_int


def effective_kernel_size(F, dilation=1):
    """Span of a kernel of F taps spaced `dilation` apart: dilation * (F - 1) + 1."""
    return dilation * (F - 1) + 1


def conv_output_size(W, F, S, P, dilation=1):
    """Number of positions a kernel takes along one axis: (W - F_eff + 2P) // S + 1.

    W: input size; F: kernel size; S: stride; P: zero-padding on each side;
    dilation: spacing between kernel taps, so the kernel spans F_eff = dilation * (F - 1) + 1.
    Raises ValueError when the kernel is larger than the padded input or when the stride
    does not tile it, i.e. (W - F_eff + 2P) is not divisible by S.
    """
    W = require_positive_int("W", W)
    F = require_positive_int("F", F)
    S = require_positive_int("S", S)
    P = require_positive_int("P", P, minimum=0)
    dilation = require_positive_int("dilation", dilation)
    span = effective_kernel_size(F, dilation)
    config = f"W={W}, F={F}, S={S}, P={P}, dilation={dilation} (effective F={span})"
    if span > W + 2 * P:
        raise ValueError(f"kernel larger than the padded input: {config}; W + 2P = {W + 2 * P}")
    if (W - span + 2 * P) % S:
        raise ValueError(
            f"stride does not tile the input: {config}; "
            f"(W - F + 2P) = {W - span + 2 * P} is not divisible by S = {S}"
        )
    return (W - span + 2 * P) // S + 1


def receptive_field(layers):
    """Receptive field of one output of a stack of convolutions or pools, along one axis.

    layers: sequence of (kernel, stride) or (kernel, stride, dilation) tuples, input first.
    Returns r = 1 + sum_l (k_l - 1) * prod_{i<l} s_i, with k_l the effective (dilated)
    kernel size (Araujo et al., "Computing Receptive Fields of CNNs", Distill 2019):
    each layer widens the field by its kernel's extra taps, measured in input pixels,
    which is why earlier strides multiply later kernels.
    """
    field, jump = 1, 1  # jump: input pixels between neighbouring positions of the current layer
    for index, layer in enumerate(layers):
        if not isinstance(layer, tuple) or len(layer) not in (2, 3):
            raise TypeError(
                f"layers[{index}] must be a (kernel, stride) or (kernel, stride, dilation) "
                f"tuple, got {layer!r}"
            )
        kernel = require_positive_int(f"layers[{index}] kernel", layer[0])
        stride = require_positive_int(f"layers[{index}] stride", layer[1])
        dilation = require_positive_int(f"layers[{index}] dilation", layer[2] if len(layer) == 3 else 1)
        field += (effective_kernel_size(kernel, dilation) - 1) * jump
        jump *= stride
    return field
