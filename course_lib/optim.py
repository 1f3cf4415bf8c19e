"""First-order update rules with the CS231n contract: update(w, dw, config=None) -> (next_w, config).

w: current weights and dw: dL/dw, arrays of one shape (any shape, written (...) below).
config: dict of hyperparameters and optimizer state. Missing hyperparameters get their
defaults via config.setdefault; state arrays start at zeros of w's shape. As in CS231n,
the dict itself is updated and returned, so a trainer keeps one dict per parameter and
passes it back on the next step. w, dw and the state arrays already in config are never
modified in place: every step stores new arrays.

Keys: learning_rate (all); momentum, velocity (sgd_momentum); decay_rate, epsilon, cache
(rmsprop); beta1, beta2, epsilon, m, v, t (adam).
"""
import numpy as np

from course_lib._arguments import require_array, require_shape


def _start(w, dw, config):
    """Validate the arguments and return the config dict to fill in (a new one if None)."""
    require_array("w", w)
    require_shape("dw", dw, w.shape)
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict or None, got {type(config).__name__}")
    return config


def _state(config, key, w):
    """config[key], an array shaped like w; zeros if absent."""
    state = config.setdefault(key, np.zeros_like(w, dtype=np.float64))
    return require_shape(f"config['{key}']", state, w.shape)


def sgd(w, dw, config=None):
    """Vanilla stochastic gradient descent: next_w = w - learning_rate * dw.

    w, dw: shape (...); config keys: learning_rate (default 1e-2).
    Returns next_w, shape of w, and config.
    """
    config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    next_w = w - config["learning_rate"] * dw
    return next_w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum: velocity = momentum * velocity - learning_rate * dw; next_w = w + velocity.

    w, dw: shape (...); config keys: learning_rate (default 1e-2), momentum (default 0.9),
    velocity (shape of w, default zeros). Returns next_w, shape of w, and config.
    """
    config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    velocity = _state(config, "velocity", w)

    velocity = config["momentum"] * velocity - config["learning_rate"] * dw
    config["velocity"] = velocity
    return w + velocity, config


def rmsprop(w, dw, config=None):
    """RMSProp: divide the step by a running root-mean-square of recent gradients.

    cache = decay_rate * cache + (1 - decay_rate) * dw**2
    next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)
    w, dw: shape (...); config keys: learning_rate (default 1e-2), decay_rate (default 0.99),
    epsilon (default 1e-8), cache (shape of w, default zeros). Returns next_w and config.
    """
    config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    cache = _state(config, "cache", w)

    decay = config["decay_rate"]
    cache = decay * cache + (1 - decay) * dw**2
    config["cache"] = cache
    next_w = w - config["learning_rate"] * dw / (np.sqrt(cache) + config["epsilon"])
    return next_w, config


def adam(w, dw, config=None):
    """Adam: momentum (m) plus RMSProp (v), both bias-corrected for their zero start.

    t += 1;  m = beta1 * m + (1 - beta1) * dw;  v = beta2 * v + (1 - beta2) * dw**2
    next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon),
    with m_hat = m / (1 - beta1**t) and v_hat = v / (1 - beta2**t).
    w, dw: shape (...); config keys: learning_rate (default 1e-3), beta1 (default 0.9),
    beta2 (default 0.999), epsilon (default 1e-8), m and v (shape of w, default zeros),
    t (step count, default 0). Returns next_w and config.
    """
    config = _start(w, dw, config)
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("t", 0)
    m = _state(config, "m", w)
    v = _state(config, "v", w)

    beta1, beta2 = config["beta1"], config["beta2"]
    t = config["t"] + 1
    m = beta1 * m + (1 - beta1) * dw
    v = beta2 * v + (1 - beta2) * dw**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    config.update(t=t, m=m, v=v)
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config
