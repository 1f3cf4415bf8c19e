"""Minibatch training of a course_lib.nn model with any course_lib.optim update rule."""
import copy
import math

import numpy as np
from tqdm.auto import tqdm

from course_lib import optim
from course_lib._arguments import require_array, require_keys, require_positive_int, require_shape
from course_lib.nn import DEFAULT_EVAL_BATCH_SIZE

_UPDATE_RULES = ("sgd", "sgd_momentum", "rmsprop", "adam")


def _resolve_update_rule(update_rule):
    if callable(update_rule):
        return update_rule
    if update_rule in _UPDATE_RULES:
        return getattr(optim, update_rule)
    raise ValueError(
        f"update_rule must be one of {list(_UPDATE_RULES)} or a callable "
        f"update(w, dw, config) -> (next_w, config), got {update_rule!r}"
    )


def _check_split(data, split):
    """Validate data['X_<split>'], shape (N, ...), and data['y_<split>'], integer shape (N,)."""
    X = require_array(f"data['X_{split}']", data[f"X_{split}"])
    y = require_array(f"data['y_{split}']", data[f"y_{split}"])
    if X.ndim < 1 or X.shape[0] == 0:
        raise ValueError(f"data['X_{split}'] must have shape (N, ...) with N >= 1, got shape {X.shape}")
    require_shape(f"data['y_{split}']", y, (X.shape[0],))
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"data['y_{split}'] must hold integer class labels, got dtype {y.dtype}")
    return X, y


class Trainer:
    """Train `model` on data['X_train'], data['y_train'] by minibatch gradient descent.

    model: a course_lib.nn.Sequential (anything with loss, predict, named_parameters,
    set_parameter, state_dict, load_state_dict).
    data: dict with X_train, shape (N_train, ...), y_train, shape (N_train,), X_val,
    shape (N_val, ...), y_val, shape (N_val,).
    update_rule: a course_lib.optim rule name ('sgd', 'sgd_momentum', 'rmsprop', 'adam') or a
    callable update(w, dw, config) -> (next_w, config).
    optim_config: hyperparameters (e.g. {'learning_rate': 1e-2}); every parameter gets its
    own deep copy, which also holds that parameter's optimizer state.
    lr_decay: each config's learning_rate is multiplied by this after every epoch.
    batch_size: samples per update; each epoch visits the training set once in a new
    random order (the last batch may be smaller).
    num_epochs: epochs run by each call to train().
    seed: seeds the batch order and the accuracy subsamples: same model seed, same data
    and same seed give an identical history.
    progress: show a tqdm progress bar (a widget in Jupyter, text in a terminal).
    num_train_samples: training accuracy is measured on this many random training samples
    after each epoch (None: all). num_val_samples: likewise for validation (None: all).
    eval_batch_size: batch size for accuracy checks.
    restore_best: after train(), load the parameters with the best validation accuracy.

    Frozen layers (layer.trainable False) get no optimizer step. History after train():
    loss_history (one float per iteration), train_acc_history and val_acc_history (one
    per epoch), best_val_acc and best_params (a state_dict).
    """

    def __init__(self, model, data, update_rule="sgd_momentum", optim_config=None, lr_decay=1.0,
                 batch_size=100, num_epochs=10, seed=0, progress=True, num_train_samples=1000,
                 num_val_samples=None, eval_batch_size=DEFAULT_EVAL_BATCH_SIZE, restore_best=True):
        require_keys("data", data, ["X_train", "y_train", "X_val", "y_val"])
        self.X_train, self.y_train = _check_split(data, "train")
        self.X_val, self.y_val = _check_split(data, "val")
        if optim_config is not None and not isinstance(optim_config, dict):
            raise TypeError(f"optim_config must be a dict or None, got {type(optim_config).__name__}")
        if not isinstance(lr_decay, (int, float)) or not 0 < lr_decay <= 1:
            raise ValueError(f"lr_decay must be a number in (0, 1], got {lr_decay!r}")
        self.model = model
        self.update_rule = _resolve_update_rule(update_rule)
        self.optim_config = dict(optim_config or {})
        self.lr_decay = float(lr_decay)
        self.batch_size = require_positive_int("batch_size", batch_size)
        self.num_epochs = require_positive_int("num_epochs", num_epochs)
        self.num_train_samples = num_train_samples
        self.num_val_samples = num_val_samples
        self.eval_batch_size = require_positive_int("eval_batch_size", eval_batch_size)
        self.progress = progress
        self.restore_best = restore_best
        # Separate streams so that extra accuracy checks never change the batch order.
        batch_seq, eval_seq = np.random.SeedSequence(seed).spawn(2)
        self._batch_rng = np.random.default_rng(batch_seq)
        self._eval_rng = np.random.default_rng(eval_seq)

        self.epoch = 0
        self.optim_configs = {}
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.best_val_acc = -1.0
        self.best_params = None

    @property
    def history(self):
        """Dict with 'loss' (per iteration), 'train_acc' and 'val_acc' (per epoch)."""
        return {
            "loss": list(self.loss_history),
            "train_acc": list(self.train_acc_history),
            "val_acc": list(self.val_acc_history),
        }

    def _step(self, X_batch, y_batch):
        """One loss evaluation and one update of every trainable parameter."""
        loss, grads = self.model.loss(X_batch, y_batch)
        if not math.isfinite(loss):
            raise FloatingPointError(
                f"loss became {loss} at iteration {len(self.loss_history)}: "
                "the learning rate is probably too high (or the weight init too large)"
            )
        self.loss_history.append(loss)
        for name, w in self.model.named_parameters(trainable_only=True).items():
            if name not in self.optim_configs:
                self.optim_configs[name] = copy.deepcopy(self.optim_config)
            next_w, self.optim_configs[name] = self.update_rule(w, grads[name], self.optim_configs[name])
            self.model.set_parameter(name, next_w)

    def _end_epoch(self):
        self.epoch += 1
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                config["learning_rate"] *= self.lr_decay
        train_acc = self.check_accuracy(self.X_train, self.y_train, self.num_train_samples)
        val_acc = self.check_accuracy(self.X_val, self.y_val, self.num_val_samples)
        self.train_acc_history.append(train_acc)
        self.val_acc_history.append(val_acc)
        if val_acc > self.best_val_acc:
            self.best_val_acc = val_acc
            self.best_params = self.model.state_dict()
        return train_acc, val_acc

    def train(self):
        """Run num_epochs epochs; returns `history`."""
        N = self.X_train.shape[0]
        batches_per_epoch = -(-N // self.batch_size)
        first_epoch = self.epoch
        with tqdm(total=self.num_epochs * batches_per_epoch, disable=not self.progress,
                  unit="batch", leave=True) as bar:
            for _ in range(self.num_epochs):
                bar.set_description(f"epoch {self.epoch + 1}/{first_epoch + self.num_epochs}")
                order = self._batch_rng.permutation(N)
                for start in range(0, N, self.batch_size):
                    idx = order[start:start + self.batch_size]
                    self._step(self.X_train[idx], self.y_train[idx])
                    bar.update(1)
                    bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", refresh=False)
                train_acc, val_acc = self._end_epoch()
                bar.set_postfix(loss=f"{self.loss_history[-1]:.3f}", train_acc=f"{train_acc:.3f}",
                                val_acc=f"{val_acc:.3f}")
        if self.restore_best and self.best_params is not None:
            self.model.load_state_dict(self.best_params)
        return self.history

    def check_accuracy(self, X, y, num_samples=None, batch_size=None):
        """Fraction of X, shape (N, ...), that the model labels as y, shape (N,).

        num_samples: evaluate on this many random samples (None or >= N: all of them).
        batch_size: samples per forward pass (default eval_batch_size).
        """
        require_array("X", X)
        require_shape("y", y, (X.shape[0],))
        batch_size = self.eval_batch_size if batch_size is None else batch_size
        N = X.shape[0]
        if num_samples is not None and require_positive_int("num_samples", num_samples) < N:
            idx = self._eval_rng.choice(N, num_samples, replace=False)
            X, y = X[idx], y[idx]
        return float(np.mean(self.model.predict(X, batch_size) == y))
