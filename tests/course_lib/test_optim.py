"""Tests for course_lib.optim: sgd, sgd_momentum, rmsprop, adam.

Expected values are worked by hand in the comments, with w = [1, -2],
first gradient dw1 = [2, -4] and second gradient dw2 = [1, -2].
"""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.optim import adam, rmsprop, sgd, sgd_momentum

OPTIMIZERS = {"sgd": sgd, "sgd_momentum": sgd_momentum, "rmsprop": rmsprop, "adam": adam}
W0 = np.array([1.0, -2.0])
DW1 = np.array([2.0, -4.0])
DW2 = np.array([1.0, -2.0])


def two_steps(update, config):
    """Run two updates from W0 with gradients DW1 then DW2; return both weights and the config."""
    w1, config = update(W0, DW1, config)
    w2, config = update(w1, DW2, config)
    return w1, w2, config


def test_sgd_two_steps():
    # w1 = [1, -2] - 0.1 * [2, -4] = [0.8, -1.6];  w2 = [0.8, -1.6] - 0.1 * [1, -2] = [0.7, -1.4]
    w1, w2, _ = two_steps(sgd, {"learning_rate": 0.1})
    np.testing.assert_allclose(w1, [0.8, -1.6], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.7, -1.4], rtol=1e-15)


def test_sgd_momentum_two_steps():
    # v1 = 0.9 * 0 - 0.1 * [2, -4] = [-0.2, 0.4];                w1 = [0.8, -1.6]
    # v2 = 0.9 * [-0.2, 0.4] - 0.1 * [1, -2] = [-0.28, 0.56];     w2 = [0.52, -1.04]
    w1, w2, config = two_steps(sgd_momentum, {"learning_rate": 0.1, "momentum": 0.9})
    np.testing.assert_allclose(w1, [0.8, -1.6], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.52, -1.04], rtol=1e-14)
    np.testing.assert_allclose(config["velocity"], [-0.28, 0.56], rtol=1e-14)


def test_rmsprop_two_steps():
    # decay 0.75, epsilon 0 so the arithmetic is exact:
    # cache1 = 0.25 * [4, 16] = [1, 4], sqrt = [1, 2];  step = 0.1 * [2, -4] / [1, 2] = [0.2, -0.2]
    #   w1 = [0.8, -1.8]
    # cache2 = 0.75 * [1, 4] + 0.25 * [1, 4] = [1, 4];  step = 0.1 * [1, -2] / [1, 2] = [0.1, -0.1]
    #   w2 = [0.7, -1.7]
    config = {"learning_rate": 0.1, "decay_rate": 0.75, "epsilon": 0.0}
    w1, w2, config = two_steps(rmsprop, config)
    np.testing.assert_allclose(w1, [0.8, -1.8], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.7, -1.7], rtol=1e-15)
    np.testing.assert_allclose(config["cache"], [1.0, 4.0], rtol=1e-15)


def test_adam_two_steps():
    # beta1 0.5, beta2 0.75, epsilon 0.
    # t=1: m = 0.5 * [2, -4] = [1, -2];  v = 0.25 * [4, 16] = [1, 4]
    #      m_hat = m / 0.5 = [2, -4];  v_hat = v / 0.25 = [4, 16];  step = 0.1 * [2/2, -4/4]
    #      w1 = [0.9, -1.9]
    # t=2: m = 0.5 * [1, -2] + 0.5 * [1, -2] = [1, -2];  v = 0.75 * [1, 4] + 0.25 * [1, 4] = [1, 4]
    #      m_hat = m / (1 - 0.25) = [4/3, -8/3];  v_hat = v / (1 - 0.5625) = [16/7, 64/7]
    #      m_hat / sqrt(v_hat) = [(4/3) / (4/sqrt 7), -(8/3) / (8/sqrt 7)] = [sqrt7/3, -sqrt7/3]
    #      sqrt 7 / 3 = 0.8819171036881969, so w2 = [0.9 - 0.08819171036881969, -1.9 + 0.0881917...]
    config = {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75, "epsilon": 0.0}
    w1, w2, config = two_steps(adam, config)
    np.testing.assert_allclose(w1, [0.9, -1.9], rtol=1e-15)
    np.testing.assert_allclose(w2, [0.8118082896311803, -1.8118082896311803], rtol=1e-14)
    assert config["t"] == 2
    np.testing.assert_allclose(config["m"], [1.0, -2.0], rtol=1e-15)
    np.testing.assert_allclose(config["v"], [1.0, 4.0], rtol=1e-15)


@pytest.mark.parametrize(
    "name,defaults",
    [
        ("sgd", {"learning_rate": 1e-2}),
        ("sgd_momentum", {"learning_rate": 1e-2, "momentum": 0.9}),
        ("rmsprop", {"learning_rate": 1e-2, "decay_rate": 0.99, "epsilon": 1e-8}),
        ("adam", {"learning_rate": 1e-3, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "t": 1}),
    ],
)
def test_defaults_when_config_is_none(name, defaults):
    _, config = OPTIMIZERS[name](W0, DW1)
    for key, value in defaults.items():
        assert config[key] == value, key


def test_sgd_momentum_default_step():
    # defaults learning_rate 1e-2, momentum 0.9, velocity 0: v = -0.01 * [2, -4]
    next_w, config = sgd_momentum(W0, DW1)
    np.testing.assert_allclose(config["velocity"], [-0.02, 0.04], rtol=1e-15)
    np.testing.assert_allclose(next_w, [0.98, -1.96], rtol=1e-15)


def test_config_dict_is_updated_and_returned():
    # CS231n contract: the caller's dict carries the state to the next step
    config = {"learning_rate": 0.1}
    _, returned = sgd_momentum(W0, DW1, config)
    assert returned is config
    assert "velocity" in config


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    shape=st.lists(st.integers(1, 4), min_size=1, max_size=4).map(tuple),
    seed=st.integers(0, 2**32 - 1),
)
def test_never_mutates_arrays(name, shape, seed):
    rng = np.random.default_rng(seed)
    w, dw = rng.standard_normal(shape), rng.standard_normal(shape)
    w_copy, dw_copy = w.copy(), dw.copy()
    _, config = OPTIMIZERS[name](w, dw)
    state = {k: v.copy() for k, v in config.items() if isinstance(v, np.ndarray)}
    held = {k: config[k] for k in state}  # the arrays as stored after step 1

    next_w, _ = OPTIMIZERS[name](w, dw, config)
    assert next_w.shape == shape and next_w.dtype == np.float64
    np.testing.assert_array_equal(w, w_copy)
    np.testing.assert_array_equal(dw, dw_copy)
    for key in state:  # step 2 stored new arrays rather than writing into the old ones
        np.testing.assert_array_equal(held[key], state[key])


@settings(max_examples=20, deadline=None, derandomize=True)
@given(seed=st.integers(0, 2**32 - 1), learning_rate=st.sampled_from([1e-3, 1e-2, 0.1]))
def test_adam_first_step_moves_each_weight_by_learning_rate(seed, learning_rate):
    # at t=1 the bias correction gives m_hat = dw and v_hat = dw**2, so each step is
    # learning_rate * dw / (|dw| + epsilon), i.e. learning_rate * sign(dw) up to epsilon
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(6)
    dw = rng.uniform(0.5, 2.0, 6) * rng.choice([-1.0, 1.0], 6)
    next_w, _ = adam(w, dw, {"learning_rate": learning_rate})
    np.testing.assert_allclose(w - next_w, learning_rate * np.sign(dw), rtol=1e-7)


# ---- bad input -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_lists_are_refused(name):
    with pytest.raises(TypeError, match="^w must be a numpy array, got list"):
        OPTIMIZERS[name]([1.0, 2.0], DW1)
    with pytest.raises(TypeError, match="^dw must be a numpy array, got list"):
        OPTIMIZERS[name](W0, [1.0, 2.0])


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_dw_shape_must_match_w(name):
    with pytest.raises(ValueError, match=re.escape("dw must have shape (2, 3), got shape (3, 2)")):
        OPTIMIZERS[name](np.zeros((2, 3)), np.zeros((3, 2)))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_config_must_be_a_dict(name):
    with pytest.raises(TypeError, match="^config must be a dict or None, got list"):
        OPTIMIZERS[name](W0, DW1, [("learning_rate", 0.1)])


@pytest.mark.parametrize(
    "name,key", [("sgd_momentum", "velocity"), ("rmsprop", "cache"), ("adam", "m"), ("adam", "v")]
)
def test_state_shape_must_match_w(name, key):
    config = {key: np.zeros(3)}
    with pytest.raises(ValueError, match=re.escape(f"config['{key}'] must have shape (2")):
        OPTIMIZERS[name](W0, DW1, config)


# ---- test the tester: the hand-worked values tell a wrong update rule apart ------------


def adam_without_bias_correction(w, dw, config):
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw**2
    return w - config["learning_rate"] * config["m"] / np.sqrt(config["v"]), config


def momentum_adding_gradient(w, dw, config):
    config.setdefault("velocity", np.zeros_like(w))
    config["velocity"] = config["momentum"] * config["velocity"] + config["learning_rate"] * dw
    return w + config["velocity"], config  # sign error: climbs the loss


@pytest.mark.parametrize(
    "wrong_update,config,expected_w2",
    [
        (
            adam_without_bias_correction,
            {"learning_rate": 0.1, "beta1": 0.5, "beta2": 0.75},
            [0.8118082896311803, -1.8118082896311803],
        ),
        (momentum_adding_gradient, {"learning_rate": 0.1, "momentum": 0.9}, [0.52, -1.04]),
    ],
)
def test_hand_values_catch_wrong_update(wrong_update, config, expected_w2):
    _, w2, _ = two_steps(wrong_update, config)
    assert not np.allclose(w2, expected_w2, rtol=1e-14)
