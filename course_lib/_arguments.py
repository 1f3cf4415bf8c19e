"""Argument checks shared by every layer: clear errors instead of numpy broadcasting errors.

Each check names the argument, the shape (or type) it expected and what it received.
"""
import numbers

import numpy as np


def require_array(name, value):
    """Raise TypeError unless `value` is a numeric numpy array (lists are refused, not converted)."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {value.dtype}")
    return value


def require_ndim(name, value, layout):
    """Raise ValueError unless `value` has len(layout) dimensions.

    layout: names of the axes, e.g. ("N", "C", "H", "W"); used in the message.
    """
    require_array(name, value)
    if value.ndim != len(layout):
        raise ValueError(
            f"{name} must have shape ({', '.join(layout)}), "
            f"got shape {value.shape} with {value.ndim} dimension(s)"
        )
    return value


def require_shape(name, value, expected):
    """Raise ValueError unless value.shape matches `expected` (None matches any size)."""
    require_array(name, value)
    ok = value.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, value.shape)
    )
    if not ok:
        trailing_comma = "," if len(expected) == 1 else ""
        shown = "(" + ", ".join("*" if e is None else str(e) for e in expected) + trailing_comma + ")"
        raise ValueError(f"{name} must have shape {shown}, got shape {value.shape}")
    return value


def require_keys(name, mapping, keys):
    """Raise TypeError/ValueError unless `mapping` is a dict holding every key in `keys`."""
    if not isinstance(mapping, dict):
        raise TypeError(f"{name} must be a dict, got {type(mapping).__name__}")
    missing = [k for k in keys if k not in mapping]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}; it has {sorted(mapping)}")
    return mapping


def require_positive_int(name, value, minimum=1):
    """Raise TypeError unless `value` is an integer, ValueError unless it is >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} ({type(value).__name__})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def require_labels(name, y, num_samples, num_classes):
    """Raise unless y is an integer array of shape (num_samples,) with values in [0, num_classes)."""
    require_array(name, y)
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    require_shape(name, y, (num_samples,))
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"{name} must hold labels in [0, {num_classes}), "
            f"got values from {y.min()} to {y.max()}"
        )
    return y
