"""Layer objects and models in course_lib.nn: gradients, freezing, saving, features, errors."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib import layers, nn
from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from course_lib.trainer import Trainer

TOL = 1e-7
# A whole model's loss carries ~1e-11 of round-off into a centered difference, so gradient
# entries near 1e-5 (common in fc1.W of a net with few samples) cannot agree to better than
# ~1e-6 relative; a wrong gradient is off by far more (see the tests of the checker).
MODEL_TOL = 1e-6


def layer_gradient_errors(layer, x, seed=0):
    """Relative error of layer.backward's dx and of every parameter gradient vs centered differences.

    x: input, shape the layer takes. Returns dict 'x' / param name -> rel_error.
    """
    rng = np.random.default_rng(seed)
    dout = rng.standard_normal(layer.forward(x).shape)
    numerical = {"x": eval_numerical_gradient_array(lambda v: layer.forward(v), x, dout)}
    for name, value in layer.params.items():
        # The parameter array is nudged in place, so forward sees every nudge.
        numerical[name] = eval_numerical_gradient_array(lambda _: layer.forward(x), value, dout)
    layer.forward(x)
    analytic = {"x": layer.backward(dout), **layer.grads}
    assert analytic.keys() == numerical.keys()
    return {name: rel_error(analytic[name], numerical[name]) for name in numerical}


def gaussian(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


LAYER_CASES = {
    "affine": (lambda: nn.Affine(12, 5, weight_scale=0.5, rng=1), (4, 3, 2, 2)),
    "relu": (lambda: nn.ReLU(), (3, 7)),
    "leaky_relu": (lambda: nn.LeakyReLU(0.1), (3, 2, 4)),
    "sigmoid": (lambda: nn.Sigmoid(), (3, 7)),
    "tanh": (lambda: nn.Tanh(), (3, 7)),
    "conv_fast": (lambda: nn.Conv(2, 3, 3, rng=2), (2, 2, 5, 6)),
    "conv_naive": (lambda: nn.Conv(2, 3, 3, rng=2, impl="naive"), (2, 2, 5, 6)),
    "conv_stride2_pad0": (lambda: nn.Conv(3, 2, 3, stride=2, pad=0, rng=3), (2, 3, 7, 7)),
    "max_pool_fast": (lambda: nn.MaxPool(2), (2, 3, 4, 6)),
    "max_pool_naive": (lambda: nn.MaxPool(2, impl="naive"), (2, 3, 4, 6)),
    "max_pool_overlap": (lambda: nn.MaxPool(3, stride=2), (2, 2, 7, 7)),
    "avg_pool_fast": (lambda: nn.AvgPool(2), (2, 3, 4, 6)),
    "avg_pool_naive": (lambda: nn.AvgPool(2, impl="naive"), (2, 3, 4, 6)),
    "flatten": (lambda: nn.Flatten(), (3, 2, 2, 3)),
}


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_layer_backward_matches_finite_differences(case):
    make_layer, x_shape = LAYER_CASES[case]
    errors = layer_gradient_errors(make_layer(), gaussian(x_shape))
    assert max(errors.values()) < TOL, errors


def test_model_gradient_check_catches_a_missing_weight_decay_gradient():
    class NoDecayGradient(nn.Sequential):
        def loss(self, X, y):
            loss, grads = super().loss(X, y)
            return loss, {**grads, "fc2.W": grads["fc2.W"] - self.reg * self["fc2"].params["W"]}

    model = NoDecayGradient(*tiny_net(), reg=0.7)
    errors = model_gradient_errors(model, gaussian((3, 2, 6, 6), seed=5), np.array([0, 3, 1]))
    assert errors["fc2.W"] > 1e-3
    assert max(v for k, v in errors.items() if k != "fc2.W") < MODEL_TOL


def test_gradient_check_catches_a_wrong_backward():
    class DoubledWeightGradient(nn.Affine):
        def _backward(self, dout, cache):
            dx, grads = super()._backward(dout, cache)
            return dx, {**grads, "W": 2 * grads["W"]}

    errors = layer_gradient_errors(DoubledWeightGradient(6, 4, rng=0), gaussian((3, 6)))
    assert errors["W"] > 0.1
    assert errors["x"] < TOL and errors["b"] < TOL


@pytest.mark.parametrize("case", ["affine", "conv_fast", "leaky_relu"])
def test_frozen_layer_passes_the_same_gradient_and_reports_no_param_grads(case):
    make_layer, x_shape = LAYER_CASES[case]
    x = gaussian(x_shape)
    trained, frozen = make_layer(), make_layer().freeze()
    dout = gaussian(trained.forward(x).shape, seed=1)
    frozen.forward(x)
    np.testing.assert_array_equal(frozen.backward(dout), trained.backward(dout))
    assert frozen.grads == {} and not frozen.trainable
    assert set(trained.grads) == set(trained.params)


def test_layer_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="forward before backward"):
        nn.ReLU().backward(np.ones(3))


def test_layers_do_not_mutate_their_input():
    x = gaussian((2, 2, 6, 6))
    before = x.copy()
    for layer in [nn.Conv(2, 3, 3, rng=0), nn.ReLU(), nn.MaxPool(2), nn.Flatten()]:
        layer.forward(x)
        layer.backward(np.ones_like(layer.forward(x)))
    np.testing.assert_array_equal(x, before)


# --- Sequential --------------------------------------------------------------------------


def tiny_net(loss="softmax", reg=0.3, seed=0):
    """conv-relu-maxpool-flatten-fc-tanh-fc on (N, 2, 6, 6) inputs with 4 classes."""
    rng = np.random.default_rng(seed)
    return nn.Sequential(
        nn.Conv(2, 3, 3, weight_scale=0.5, rng=rng),
        nn.ReLU(),
        nn.MaxPool(2),
        nn.Flatten(),
        nn.Affine(3 * 3 * 3, 5, weight_scale=0.1, rng=rng),  # keeps tanh out of saturation
        nn.Tanh(),
        nn.Affine(5, 4, weight_scale=0.5, rng=rng),
        loss=loss,
        reg=reg,
    )


def model_gradient_errors(model, X, y):
    """rel_error of every gradient from model.loss vs centered differences of the loss."""
    _, grads = model.loss(X, y)
    errors = {}
    for name, value in model.named_parameters(trainable_only=True).items():
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0], value)
        errors[name] = rel_error(grads[name], numerical)
    return errors


@pytest.mark.parametrize("loss", ["softmax", "svm"])
@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_sequential_gradients_match_finite_differences(loss, reg):
    model = tiny_net(loss, reg)
    X, y = gaussian((3, 2, 6, 6), seed=5), np.array([0, 3, 1])
    errors = model_gradient_errors(model, X, y)
    assert set(errors) == {"conv1.W", "conv1.b", "fc1.W", "fc1.b", "fc2.W", "fc2.b"}
    assert max(errors.values()) < MODEL_TOL, errors


def test_two_layer_net_and_conv_net_gradients_match_finite_differences():
    X, y = gaussian((3, 1, 8, 8), seed=2), np.array([2, 0, 1])
    for model in [nn.TwoLayerNet(64, 6, 3, weight_scale=0.3, reg=0.2, seed=1),
                  nn.ConvNet((1, 8, 8), (2, 3), 3, num_classes=3, reg=0.2, seed=1)]:
        errors = model_gradient_errors(model, X, y)
        assert max(errors.values()) < MODEL_TOL, (type(model).__name__, errors)


def test_weight_decay_adds_half_reg_times_squared_weights_not_biases():
    X, y = gaussian((3, 2, 6, 6)), np.array([0, 1, 2])
    plain, decayed = tiny_net(reg=0.0), tiny_net(reg=0.4)
    for layer in decayed:
        for value in layer.params.values():
            value += 1.0  # biases become nonzero, so decaying them would show
    plain.load_state_dict(decayed.state_dict())
    weights = [decayed[name].params["W"] for name in ("conv1", "fc1", "fc2")]
    expected = 0.5 * 0.4 * sum(float(np.sum(w * w)) for w in weights)
    assert decayed.loss(X, y)[0] - plain.loss(X, y)[0] == pytest.approx(expected, rel=1e-12)
    grads_plain, grads_decayed = plain.loss(X, y)[1], decayed.loss(X, y)[1]
    np.testing.assert_allclose(grads_decayed["fc1.W"] - grads_plain["fc1.W"], 0.4 * weights[1], rtol=1e-10)
    np.testing.assert_array_equal(grads_decayed["fc1.b"], grads_plain["fc1.b"])


def test_initial_softmax_loss_is_about_log_num_classes():
    X = np.random.default_rng(0).random((50, 1, 28, 28))
    y = np.arange(50) % 10
    loss, _ = nn.TwoLayerNet(weight_scale=1e-3, seed=0).loss(X, y)
    assert abs(loss - math.log(10)) < 0.01


def test_layers_get_unique_automatic_names_and_can_be_indexed_both_ways():
    model = tiny_net()
    assert [layer.name for layer in model] == [
        "conv1", "relu1", "pool1", "flatten1", "fc1", "tanh1", "fc2"]
    assert model["fc1"] is model[4] is model[-3]
    assert list(model.named_parameters()) == ["conv1.W", "conv1.b", "fc1.W", "fc1.b", "fc2.W", "fc2.b"]
    assert model.num_parameters() == 3 * 2 * 9 + 3 + 27 * 5 + 5 + 5 * 4 + 4


def test_seeded_initialisation():
    a, b, c = nn.ConvNet(seed=3), nn.ConvNet(seed=3), nn.ConvNet(seed=4)
    for name, value in a.state_dict().items():
        np.testing.assert_array_equal(value, b.state_dict()[name])
    assert not np.array_equal(a["conv1"].params["W"], c["conv1"].params["W"])


def test_he_init_and_weight_scale():
    assert np.std(nn.Affine(2000, 300, rng=0).params["W"]) == pytest.approx(math.sqrt(2 / 2000), rel=0.01)
    conv_w = nn.Conv(16, 64, 3, rng=0).params["W"]
    assert np.std(conv_w) == pytest.approx(math.sqrt(2 / (16 * 9)), rel=0.02)
    assert np.std(nn.Affine(2000, 300, weight_scale=1e-3, rng=0).params["W"]) == pytest.approx(1e-3, rel=0.01)


def test_loss_does_not_mutate_inputs():
    model = tiny_net()
    X, y = gaussian((3, 2, 6, 6)), np.array([0, 1, 2])
    X_before, y_before = X.copy(), y.copy()
    model.loss(X, y)
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


# --- freezing ----------------------------------------------------------------------------


def test_frozen_middle_layer_still_passes_gradients_to_the_layers_below():
    X, y = gaussian((3, 2, 6, 6)), np.array([0, 1, 2])
    trained, partly_frozen = tiny_net(), tiny_net()
    partly_frozen["fc1"].freeze()
    _, grads = trained.loss(X, y)
    _, frozen_grads = partly_frozen.loss(X, y)
    assert set(frozen_grads) == {"conv1.W", "conv1.b", "fc2.W", "fc2.b"}
    for name, grad in frozen_grads.items():
        np.testing.assert_allclose(grad, grads[name], rtol=1e-12)


def test_backward_stops_below_the_lowest_trainable_layer(monkeypatch):
    model = tiny_net().freeze(upto="fc1")
    assert [layer.trainable for layer in model] == [False] * 5 + [True] * 2

    def must_not_run(dout, cache):
        raise AssertionError("backward ran through a frozen feature extractor")

    monkeypatch.setattr(model["conv1"], "_backward", must_not_run)
    _, grads = model.loss(gaussian((3, 2, 6, 6)), np.array([0, 1, 2]))
    assert set(grads) == {"fc2.W", "fc2.b"}
    assert model.num_parameters(trainable_only=True) == 5 * 4 + 4
    with pytest.raises(AssertionError, match="frozen feature extractor"):
        model.backward(np.ones((3, 4)))  # the input gradient is asked for: the whole way down


def test_trainer_step_leaves_frozen_params_unchanged_and_changes_the_others():
    rng = np.random.default_rng(0)
    data = {"X_train": rng.standard_normal((20, 2, 6, 6)), "y_train": rng.integers(0, 4, 20),
            "X_val": rng.standard_normal((6, 2, 6, 6)), "y_val": rng.integers(0, 4, 6)}
    model = tiny_net().freeze(upto="pool1")
    model["fc2"].freeze()
    before = model.state_dict()
    trainer = Trainer(model, data, optim_config={"learning_rate": 0.1}, batch_size=10,
                      num_epochs=1, progress=False, restore_best=False)
    trainer.train()
    after = model.state_dict()
    for name in ["conv1.W", "conv1.b", "fc2.W", "fc2.b"]:
        np.testing.assert_array_equal(after[name], before[name])
    for name in ["fc1.W", "fc1.b"]:
        assert not np.allclose(after[name], before[name])
    assert set(trainer.optim_configs) == {"fc1.W", "fc1.b"}


# --- saving and loading -------------------------------------------------------------------


def test_state_dict_round_trip_through_npz(tmp_path):
    source, target = nn.ConvNet((1, 8, 8), (2, 3), seed=0), nn.ConvNet((1, 8, 8), (2, 3), seed=1)
    path = tmp_path / "weights.npz"
    source.save(path)
    assert target.load_state_dict(path) == ([], [])
    X = gaussian((4, 1, 8, 8))
    np.testing.assert_array_equal(target.features(X), source.features(X))
    for name, value in source.state_dict().items():
        np.testing.assert_array_equal(target.state_dict()[name], value)


def test_state_dict_holds_copies():
    model = tiny_net()
    state = model.state_dict()
    state["fc1.W"][...] = 0.0
    assert np.any(model["fc1"].params["W"] != 0.0)
    state = tiny_net(seed=1).state_dict()
    model.load_state_dict(state)
    state["fc1.W"][...] = 0.0
    assert np.any(model["fc1"].params["W"] != 0.0)


def test_load_state_dict_strict_and_partial():
    model = tiny_net()
    state = tiny_net(seed=1).state_dict()
    del state["fc2.b"]
    state["extra.W"] = np.zeros(3)
    with pytest.raises(ValueError, match=r"missing \['fc2.b'\], unexpected \['extra.W'\]"):
        model.load_state_dict(state)
    old_fc2_b = model["fc2"].params["b"].copy()
    assert model.load_state_dict(state, strict=False) == (["fc2.b"], ["extra.W"])
    np.testing.assert_array_equal(model["fc1"].params["W"], state["fc1.W"])
    np.testing.assert_array_equal(model["fc2"].params["b"], old_fc2_b)
    state = tiny_net().state_dict()
    state["fc1.W"] = np.zeros((4, 4))
    with pytest.raises(ValueError, match=r"fc1.W must have shape \(27, 5\), got shape \(4, 4\)"):
        model.load_state_dict(state)


# --- features ----------------------------------------------------------------------------


def test_conv_net_feature_shapes_by_name_and_index():
    model = nn.ConvNet(seed=0)
    X = np.random.default_rng(0).random((3, 1, 28, 28))
    expected = {"conv1": (3, 8, 28, 28), "relu1": (3, 8, 28, 28), "pool1": (3, 8, 14, 14),
                "conv2": (3, 16, 14, 14), "pool2": (3, 16, 7, 7), "flatten1": (3, 784), "fc1": (3, 10)}
    for name, shape in expected.items():
        assert model.features(X, upto=name).shape == shape
    assert model.features(X, upto=0).shape == expected["conv1"]
    np.testing.assert_array_equal(model.features(X, upto=-1), model.forward(X))


@settings(max_examples=15, deadline=None)
@given(
    C=st.integers(1, 3), H_blocks=st.integers(1, 3), W_blocks=st.integers(1, 3),
    num_filters=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    N=st.integers(1, 7), batch_size=st.integers(1, 4),
)
def test_features_in_batches_match_one_pass_and_follow_the_pooling_arithmetic(
        C, H_blocks, W_blocks, num_filters, N, batch_size):
    # Sides are multiples of 2 ** (number of poolings); other sizes are an error, tested below.
    H, W = H_blocks * 2 ** len(num_filters), W_blocks * 2 ** len(num_filters)
    model = nn.ConvNet((C, H, W), tuple(num_filters), 3, num_classes=4, seed=0)
    X = gaussian((N, C, H, W))
    H_out, W_out = H // 2 ** len(num_filters), W // 2 ** len(num_filters)
    pooled = model.features(X, upto=f"pool{len(num_filters)}", batch_size=batch_size)
    assert pooled.shape == (N, num_filters[-1], H_out, W_out)
    np.testing.assert_allclose(pooled, model.features(X, upto=f"pool{len(num_filters)}"), rtol=1e-12)
    assert model.predict(X, batch_size=batch_size).shape == (N,)


# --- bad input ---------------------------------------------------------------------------


def test_bad_inputs_raise_clear_errors():
    conv_net = nn.ConvNet(seed=0)
    X = np.zeros((2, 1, 28, 28))
    with pytest.raises(ValueError, match=r"layer 'conv1' \(Conv\): x must have shape \(N, C, H, W\)"):
        conv_net.forward(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, H, W\).*got shape \(2, 3, 28, 28\)"):
        conv_net.forward(np.zeros((2, 3, 28, 28)))
    with pytest.raises(ValueError, match=r"layer 'fc1' \(Affine\).*D = 784, got shape \(2, 30\)"):
        nn.TwoLayerNet().forward(np.zeros((2, 30)))
    with pytest.raises(TypeError, match="X must be a numpy array, got list"):
        conv_net.forward([[0.0]])
    with pytest.raises(ValueError, match=r"y must have shape \(2,\), got shape \(3,\)"):
        conv_net.loss(X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"labels in \[0, 10\)"):
        conv_net.loss(X, np.array([0, 10]))
    with pytest.raises(TypeError, match="integer class labels"):
        conv_net.loss(X, np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="no layer named 'fc9'"):
        conv_net.features(X, upto="fc9")
    with pytest.raises(ValueError, match="out of range"):
        conv_net.features(X, upto=8)
    with pytest.raises(ValueError, match="unknown parameter 'fc1.V'"):
        conv_net.set_parameter("fc1.V", np.zeros(1))


def test_bad_constructor_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="layer 1 must be a course_lib.nn.Layer, got list"):
        nn.Sequential(nn.ReLU(), [nn.ReLU()])
    with pytest.raises(ValueError, match="loss must be one of"):
        nn.Sequential(nn.ReLU(), loss="hinge")
    with pytest.raises(ValueError, match=r"layer names must be unique, got \['a'\]"):
        nn.Sequential(nn.ReLU(name="a"), nn.Tanh(name="a"))
    with pytest.raises(ValueError, match="impl must be one of"):
        nn.Conv(1, 2, 3, impl="gpu")
    with pytest.raises(ValueError, match="weight_scale must be a positive number or None"):
        nn.Affine(3, 4, weight_scale=-1.0)
    with pytest.raises(TypeError, match="input_dim must be an integer"):
        nn.Affine(3.0, 4)
    with pytest.raises(ValueError, match="H and W must be multiples of 4.*got H = 28, W = 30"):
        nn.ConvNet((1, 28, 30))
    with pytest.raises(ValueError, match="filter_size must be odd"):
        nn.ConvNet(filter_size=4)


def test_layers_call_the_functional_layers_so_the_checks_are_not_vacuous(monkeypatch):
    # A wrong functional ReLU must show up as a wrong ReLU layer.
    monkeypatch.setattr(layers, "relu_backward", lambda dout, cache: dout)
    errors = layer_gradient_errors(nn.ReLU(), gaussian((3, 7)))
    assert errors["x"] > 0.1


@pytest.mark.parametrize("layer, impl_names", [
    (lambda impl: nn.Conv(2, 3, 3, impl=impl, rng=0), ("conv_forward", "conv_backward")),
    (lambda impl: nn.MaxPool(2, impl=impl), ("max_pool_forward", "max_pool_backward")),
    (lambda impl: nn.AvgPool(2, impl=impl), ("avg_pool_forward", "avg_pool_backward")),
])
@pytest.mark.parametrize("impl", ["fast", "naive"])
def test_conv_and_pool_layers_call_whatever_course_lib_layers_holds_now(monkeypatch, layer, impl_names, impl):
    # The check worker forbids an exercise's reference by replacing it on course_lib.layers;
    # a layer object that kept its own reference to the function would bypass that.
    module_layer = layer(impl)
    forward_name, backward_name = (f"{name}_{impl}" for name in impl_names)

    def replaced(*args, **kwargs):
        raise RuntimeError("the replacement was called")

    x = np.random.default_rng(0).normal(size=(1, 2, 4, 4))
    out = module_layer.forward(x)
    monkeypatch.setattr(layers, backward_name, replaced)
    with pytest.raises(RuntimeError, match="replacement"):
        module_layer.backward(np.ones_like(out))
    monkeypatch.setattr(layers, forward_name, replaced)
    with pytest.raises(RuntimeError, match="replacement"):
        module_layer.forward(x)
