"""course_lib.trainer.Trainer: reproducibility, schedule, update rules, accuracy, errors."""
import numpy as np
import pytest

from course_lib import nn, optim
from course_lib.datasets import load_fashion_mnist, train_val_split
from course_lib.trainer import Trainer


def blobs(N=60, D=5, num_classes=3, seed=0):
    """Separable Gaussian blobs: X (N, D) around fixed random class centres, y (N,)."""
    centres = 3 * np.random.default_rng(1234).standard_normal((num_classes, D))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, num_classes, N)
    return centres[y] + rng.standard_normal((N, D)), y


def blob_data(seed=0):
    X_train, y_train = blobs(60, seed=seed)
    X_val, y_val = blobs(30, seed=seed + 100)
    return {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}


def small_net(seed=0):
    return nn.TwoLayerNet(5, 8, 3, weight_scale=0.1, reg=1e-3, seed=seed)


def run(model_seed=0, trainer_seed=0, **kwargs):
    model = small_net(model_seed)
    settings = {"optim_config": {"learning_rate": 0.05}, "batch_size": 16, "num_epochs": 3,
                "progress": False, "seed": trainer_seed, "num_train_samples": 20, **kwargs}
    trainer = Trainer(model, blob_data(), **settings)
    trainer.train()
    return model, trainer


def test_same_seeds_give_an_identical_history_and_model():
    model_a, a = run()
    model_b, b = run()
    assert a.history == b.history
    assert len(a.loss_history) == 3 * 4  # ceil(60 / 16) batches per epoch
    for name, value in model_a.state_dict().items():
        np.testing.assert_array_equal(value, model_b.state_dict()[name])
    _, c = run(trainer_seed=1)
    assert c.loss_history != a.loss_history


def test_learning_rate_decays_once_per_epoch_in_every_parameter_config():
    _, trainer = run(update_rule="sgd_momentum", lr_decay=0.5)
    assert set(trainer.optim_configs) == {"fc1.W", "fc1.b", "fc2.W", "fc2.b"}
    for name, config in trainer.optim_configs.items():
        assert config["learning_rate"] == pytest.approx(0.05 * 0.5 ** 3)
        assert config["velocity"].shape == trainer.model.named_parameters()[name].shape
    assert trainer.optim_config == {"learning_rate": 0.05}  # the shared template is untouched


def test_callable_update_rule_sees_each_trainable_parameter_once_per_iteration():
    calls = []

    def recording_sgd(w, dw, config):
        calls.append(w.shape)
        return optim.sgd(w, dw, config)

    _, trainer = run(update_rule=recording_sgd, num_epochs=1)
    assert len(calls) == 4 * len(trainer.loss_history)


@pytest.mark.parametrize("rule", ["sgd", "sgd_momentum", "rmsprop", "adam"])
def test_every_update_rule_lowers_the_loss_on_separable_blobs(rule):
    rate = 0.05 if rule.startswith("sgd") else 0.01
    _, trainer = run(update_rule=rule, optim_config={"learning_rate": rate}, num_epochs=10)
    first, last = np.mean(trainer.loss_history[:4]), np.mean(trainer.loss_history[-4:])
    assert last < 0.5 * first
    assert trainer.val_acc_history[-1] >= 0.9


def test_best_params_are_restored_after_training():
    model, trainer = run(num_epochs=4)
    assert trainer.best_val_acc == max(trainer.val_acc_history)
    assert trainer.check_accuracy(trainer.X_val, trainer.y_val) == trainer.best_val_acc
    for name, value in trainer.best_params.items():
        np.testing.assert_array_equal(model.state_dict()[name], value)


def test_check_accuracy_batches_and_subsamples():
    model, trainer = run(num_epochs=1)
    X, y = trainer.X_train, trainer.y_train
    expected = np.mean(np.argmax(model.forward(X), axis=1) == y)
    assert trainer.check_accuracy(X, y, batch_size=7) == expected
    assert trainer.check_accuracy(X, y, num_samples=1000) == expected  # more than N: all
    assert trainer.check_accuracy(X, y, num_samples=10) in {k / 10 for k in range(11)}


def test_progress_bar_runs(capsys):
    run(num_epochs=1, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_exploding_loss_stops_with_a_hint():
    with pytest.raises(FloatingPointError, match="learning rate is probably too high"):
        run(optim_config={"learning_rate": 1e200})


def test_bad_arguments_raise_clear_errors():
    data = blob_data()
    model = small_net()
    with pytest.raises(ValueError, match=r"data is missing key\(s\) \['y_val'\]"):
        Trainer(model, {k: v for k, v in data.items() if k != "y_val"})
    with pytest.raises(ValueError, match=r"data\['y_train'\] must have shape \(60,\), got shape \(59,\)"):
        Trainer(model, {**data, "y_train": data["y_train"][:-1]})
    with pytest.raises(TypeError, match="integer class labels"):
        Trainer(model, {**data, "y_val": data["y_val"].astype(float)})
    with pytest.raises(ValueError, match="update_rule must be one of"):
        Trainer(model, data, update_rule="adagrad")
    with pytest.raises(ValueError, match="lr_decay must be a number in"):
        Trainer(model, data, lr_decay=1.5)
    with pytest.raises(TypeError, match="batch_size must be an integer"):
        Trainer(model, data, batch_size=10.0)


def test_two_layer_net_reaches_80_percent_on_the_fashion_mnist_subset():
    dataset = load_fashion_mnist()
    X_train, y_train, X_val, y_val = train_val_split(dataset["X_train"], dataset["y_train"], 1000, seed=0)
    data = {"X_train": X_train, "y_train": y_train, "X_val": X_val, "y_val": y_val}
    model = nn.TwoLayerNet(28 * 28, 100, 10, weight_scale=None, seed=0)
    trainer = Trainer(model, data, update_rule="sgd_momentum", optim_config={"learning_rate": 0.05},
                      lr_decay=0.85, batch_size=100, num_epochs=6, seed=0, progress=False)
    trainer.train()
    test_acc = np.mean(model.predict(dataset["X_test"]) == dataset["y_test"])
    assert test_acc >= 0.80
