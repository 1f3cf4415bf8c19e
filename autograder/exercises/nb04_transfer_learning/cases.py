"""Cases of notebook 04's exercises (instructor side): models as data, inputs, reference answers.

A model travels as a description (see `_describe`): {"kind": "pretrained"} for the shipped
source ConvNet, or {"kind": "convnet", ConvNet's constructor arguments, "params": its
state dict} for a small random one, both with "frozen": the names of its frozen layers.
The verdicts rebuild it with course_lib.nn and never see the reference's answers, only
their results.
"""
import copy

import numpy as np

from autograder.check import compare
from autograder.exercises.casebook import cases
from course_lib import datasets, layers, nn, transfer

LABELS_PER_CLASS = 20
HIDDEN_SPLIT_SIZE = 300
# entries of every other layer's output kept for the "output of the wrong layer" diagnoses
STAGE_SAMPLE_SIZE = 64


# ---------------------------------------------------------------------------- shared helpers

def _pretrained():
    pretrained = transfer.load_pretrained_convnet()
    pretrained._case_description = {"kind": "pretrained"}
    return pretrained


def _random_convnet(rng, num_blocks=None):
    """A small ConvNet with random sizes and weights; returns (model, X (N, C, H, W))."""
    num_blocks = int(rng.integers(1, 3)) if num_blocks is None else num_blocks
    C = int(rng.integers(1, 3))
    H = 2 ** num_blocks * int(rng.integers(1, 3))
    W = 2 ** num_blocks * int(rng.integers(1, 3))
    filters = tuple(int(f) for f in rng.integers(2, 5, size=num_blocks))
    arguments = {"input_shape": (C, H, W), "num_filters": filters, "num_classes": int(rng.integers(2, 5))}
    model = nn.ConvNet(**arguments, seed=int(rng.integers(2**31)))
    model._case_description = {"kind": "convnet", **arguments}
    X = rng.standard_normal((int(rng.integers(2, 4)), C, H, W))
    return model, X


def _describe(model):
    """The model as plain data: how to rebuild it, and which layers are frozen."""
    description = dict(model._case_description)
    if "input_shape" in description:  # a random ConvNet: its parameters travel too
        description["params"] = model.state_dict()
    description["frozen"] = [layer.name for layer in model.layers if not layer.trainable]
    return description


def _random_images(rng, N):
    """N random 28x28 grey images in [0, 1], shape (N, 1, 28, 28)."""
    return rng.uniform(0.0, 1.0, size=(N, 1, 28, 28))


def _layers_with_parameters(model):
    return [block for block in model.layers if block.params]


def _share(result, key):
    """Send an input that several cases use once: later cases get {"same_as_case": first}."""
    first_case = {}
    for number, case in enumerate(result):
        first = first_case.setdefault(id(case[key]), number)
        if first != number:
            case[key] = {"same_as_case": first}
    return result


def _sample(array):
    """Shape and some entries of an array (all of them when it is small)."""
    flat = array.ravel()
    if flat.size <= STAGE_SAMPLE_SIZE:
        index = np.arange(flat.size)
    else:
        index = np.sort(np.random.default_rng(0).choice(flat.size, STAGE_SAMPLE_SIZE, replace=False))
    return {"shape": tuple(array.shape), "index": index, "values": flat[index].copy()}


def _alone(block, x):
    """block's output for x, or None when block refuses x (wrong number of channels...)."""
    try:
        return block._forward(x)[0]
    except (ValueError, TypeError):
        return None


# ---------------------------------------------------------------------------- feature extraction

@cases("nb04.extract_features")
def extract_features(rng, hidden):
    """Model, images, `upto`; the output of layer `upto`, and for the diagnoses a sample of
    every other layer's output and of layer `upto` applied to the images themselves.

    answered_by is empty: course_lib has no function of this signature. Sequential.features
    (a given tool the notebook uses throughout) is refused by the verdict's guarded model.
    Visible cases: names and indices (one negative), the first case a layer whose input
    differs from the images.
    """
    if hidden:
        drawn = []
        for kind in ("name", "index", "last"):  # random layers; `upto` a name, an index, and -1
            model, X = _random_convnet(rng)
            i = int(rng.integers(1, len(model)))
            upto = {"name": model.layers[i].name, "index": i, "last": -1}[kind]
            drawn.append((model, X, upto))
    else:
        model = _pretrained()
        X = _random_images(rng, 2)
        drawn = [(model, X, upto) for upto in ("relu1", "pool2", "conv1", 4, -1)]
    result = []
    for model, X, upto in drawn:
        stop = model.index(upto)
        outputs = [model.features(X, position) for position in range(len(model))]
        alone = None if stop == 0 else _alone(model.layers[stop], X)
        result.append({
            "model": _describe(model), "X": X, "upto": upto, "layer": model.layers[stop].name,
            "position": stop, "features": outputs[stop],
            "stages": [{"layer": model.layers[position].name, "position": position, **_sample(out)}
                       for position, out in enumerate(outputs) if position != stop],
            "alone": None if alone is None else _sample(alone),
        })
    return _share(result, "X")


# ---------------------------------------------------------------------------- freezing

@cases("nb04.freeze_upto")
def freeze_upto(rng, hidden):
    """Model (some layers possibly frozen already), `upto`, and images and labels for an SGD step.

    answered_by is empty: Sequential.freeze(upto) never unfreezes the layers above the cut,
    which case 3 (and the hidden cases) need. Case 4 gives `upto` as an index.
    """
    if hidden:
        drawn = []
        for kind in ("name", "index", "negative"):  # some layers frozen at random beforehand
            model, X = _random_convnet(rng, num_blocks=2)
            for block in model.layers:
                if rng.random() < 0.5:
                    block.freeze()
            i = int(rng.integers(len(model) - 1))
            drawn.append((model, X, {"name": model.layers[i].name, "index": i, "negative": i - len(model)}[kind]))
    else:
        model = _pretrained()
        X = _random_images(rng, 4)
        all_frozen = copy.deepcopy(model).freeze()
        top_frozen = copy.deepcopy(model)
        top_frozen["fc1"].freeze()
        drawn = [(model, X, "pool1"), (model, X, "conv2"), (all_frozen, X, "relu1"), (top_frozen, X, 4)]
    result = []
    for model, X, upto in drawn:
        y = rng.integers(0, model.layers[-1].params["b"].shape[0], size=X.shape[0])
        result.append({"model": _describe(model), "X": X, "y": y, "upto": upto})
    return _share(result, "X")


# ---------------------------------------------------------------------------- softmax classifier

def _target_split(rng, name):
    """Which images of the target `name` train (LABELS_PER_CLASS per class) and which test.

    Indices into the shipped arrays (the raw Fashion-MNIST subset's X_train / X_test, or
    load_digits()'s X) and the labels; the verdict computes the pretrained 'pool2' features.
    """
    if name == "fashion":
        subset_file = datasets.DATA_DIR / datasets.FASHION_MNIST_SUBSET_FILE
        with np.load(subset_file, allow_pickle=False) as subset:
            y_train_raw, y_test_raw = subset["y_train"], subset["y_test"]
        # restrict_classes on the row numbers: the rows it keeps, relabelled
        pool_rows, y_pool = transfer.restrict_classes(np.arange(len(y_train_raw)), y_train_raw,
                                                      transfer.TARGET_CLASSES)
        eval_rows, y_eval = transfer.restrict_classes(np.arange(len(y_test_raw)), y_test_raw,
                                                      transfer.TARGET_CLASSES)
    else:
        _, y_all = datasets.load_digits()
        order = rng.permutation(len(y_all))
        pool_rows, eval_rows = order[:900], order[900:]
        y_pool, y_eval = y_all[pool_rows], y_all[eval_rows]
    num_classes = int(y_pool.max()) + 1
    labelled = np.concatenate([rng.permutation(np.flatnonzero(y_pool == c))[:LABELS_PER_CLASS]
                               for c in range(num_classes)])
    held_out = rng.permutation(len(y_eval))[:HIDDEN_SPLIT_SIZE]
    return {"target": name, "num_classes": num_classes,
            "train_rows": pool_rows[labelled], "y_train": y_pool[labelled],
            "eval_rows": eval_rows[held_out], "y_eval": y_eval[held_out]}


# The usual mistakes of a gradient-descent step, as the weights they lead to (see _descent).
_CLASSIFIER_MISTAKES = ("no_decay", "half_decay", "double_decay", "decayed_b", "stale_b", "scores_without_b")


def _descent(X, y, num_classes, learning_rate, reg, num_iters, mistake=None):
    """(W, b) after num_iters steps from zero, right or with one of _CLASSIFIER_MISTAKES."""
    decay = {"no_decay": 0.0, "half_decay": 0.5 * reg, "double_decay": 2.0 * reg}.get(mistake, reg)
    weights, offsets = np.zeros((X.shape[1], num_classes)), np.zeros(num_classes)
    for _ in range(num_iters):
        shift = 0.0 if mistake == "scores_without_b" else offsets
        _, upstream = layers.softmax_loss(X @ weights + shift, y)
        next_weights = weights - learning_rate * (X.T @ upstream + decay * weights)
        if mistake == "stale_b":  # scores recomputed after W's update
            _, upstream = layers.softmax_loss(X @ next_weights + shift, y)
        bias_decay = reg * offsets if mistake == "decayed_b" else 0.0
        offsets = offsets - learning_rate * (upstream.sum(axis=0) + bias_decay)
        weights = next_weights
    return weights, offsets


def _steps_case(X, y, num_classes, learning_rate, reg, num_iters):
    """The expected W, b after num_iters steps and what each usual mistake gives instead."""
    W, b = _descent(X, y, num_classes, learning_rate, reg, num_iters)
    return {"reg": reg, "num_iters": num_iters, "W": W, "b": b,
            "mistakes": {mistake: dict(zip(("W", "b"), _descent(X, y, num_classes, learning_rate, reg,
                                                                 num_iters, mistake)))
                         for mistake in _CLASSIFIER_MISTAKES}}


@cases("nb04.softmax_classifier", answered_by=["course_lib.transfer.fit_softmax_classifier"])
def softmax_classifier(rng, hidden):
    """Features, labels; W, b after one step from zero and after five, each with what the usual
    mistakes give; the target split on which the student's defaults must reach the accuracy target."""
    N, D, num_classes = (int(rng.integers(5, 9)), int(rng.integers(3, 7)), int(rng.integers(2, 5))) \
        if hidden else (6, 4, 3)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, num_classes, size=N)
    learning_rate = float(rng.uniform(0.1, 2.0)) if hidden else 0.5
    reg = float(rng.uniform(0.01, 0.5)) if hidden else 0.2
    one_step = _steps_case(X, y, num_classes, learning_rate, 0.1, 1)
    # the reference itself for five steps (one step from zero is checked against _descent)
    five_steps = _steps_case(X, y, num_classes, learning_rate, reg, 5)
    five_steps["W"], five_steps["b"] = transfer.fit_softmax_classifier(X, y, num_classes, learning_rate, reg, 5)
    # visible: the Fashion-MNIST target; hidden: the digits (a split the notebook never shows)
    splits = [_target_split(rng, target) for target in (("digits",) if hidden else ("fashion",))]
    return {"X": X, "y": y, "num_classes": num_classes, "learning_rate": learning_rate,
            "steps": [one_step, five_steps], "splits": splits,
            "held_out_word": "hidden" if hidden else "held-out"}


# ---------------------------------------------------------------------------- fine-tuning step

@cases("nb04.fine_tune_step")
def fine_tune_step(rng, hidden):
    """Model with frozen layers, images, labels, learning rate; the loss and updated parameters
    (and the loss after the step). Visible: the top trained, a frozen conv2 between trainable
    layers, and only conv1 frozen (the trainable relu1 and pool1 below conv2 have no parameters).

    answered_by is empty: no course_lib function takes (model, X, y, learning_rate). The
    expected values come from Sequential.loss, which the verdict's guarded model refuses.
    """
    drawn = []
    if hidden:
        for _ in range(3):
            model, X = _random_convnet(rng, num_blocks=2)
            param_layers = _layers_with_parameters(model)
            # conv1 frozen (so some backward is wasted if not stopped), the others at
            # random with at least one trainable
            pattern = rng.random(len(param_layers)) < 0.5
            pattern[0] = True
            pattern[int(rng.integers(1, len(param_layers)))] = False
            for layer, frozen in zip(param_layers, pattern):
                if frozen:
                    layer.freeze()
            drawn.append((model, X, float(rng.uniform(1e-3, 1e-1))))
    else:
        base = _pretrained()
        X = _random_images(rng, 4)
        top = copy.deepcopy(base).freeze("pool1")
        sandwich = copy.deepcopy(base)
        sandwich["conv2"].freeze()
        bottom = copy.deepcopy(base)  # relu1 and pool1 stay trainable, but have no parameters
        bottom["conv1"].freeze()
        drawn = [(top, X, 0.05), (sandwich, X, 0.05), (bottom, X, 0.05)]
    result = []
    for model, X, learning_rate in drawn:
        num_classes = model.layers[-1].params["b"].shape[0]
        y = rng.integers(0, num_classes, size=X.shape[0])
        description = _describe(model)
        loss, grads = nn.Sequential.loss(model, X, y)
        parameters = model.named_parameters()
        updated = {name: parameters[name] - learning_rate * grad for name, grad in grads.items()}
        after = copy.deepcopy(model)
        for name, value in updated.items():
            after.set_parameter(name, value)
        result.append({
            "model": description, "X": X, "y": y, "learning_rate": learning_rate, "loss": loss,
            "lowest": min(i for i, layer in enumerate(model.layers) if layer.trainable and layer.params),
            "updated": updated,
            # the loss once the step is taken: what a step that returns the wrong loss gives
            "loss_after": nn.Sequential.loss(after, X, y)[0],
        })
    return _share(result, "X")


# ---------------------------------------------------------------------------- Grad-CAM

def _head_scores(model, A, layer):
    """Class scores (N, num_classes) from the output A of `layer`, keeping no caches."""
    out = A
    for block in model.layers[model.index(layer) + 1:]:
        out = block._forward(out)[0]
    return out


def _layer_output(model, X, layer):
    """model.features(X, layer) as a C-contiguous array: a conv output is a transposed view,
    and compare.gradient nudges entries through a flat view of (a copy of) it."""
    return np.ascontiguousarray(model.features(X, layer))


def _gradient_cases(rng, hidden):
    """(model, A, layer, class_index) with A the output of `layer` for some input."""
    if hidden:
        drawn = []
        for _ in range(3):
            model, X = _random_convnet(rng)
            # The last conv or pool output. Not a ReLU output: its exact zeros tie inside
            # pooling windows, where a finite difference sees a kink the gradient does not.
            layer = model.layers[-5 if rng.random() < 0.5 else -3].name
            N = X.shape[0]
            num_classes = model.layers[-1].params["b"].shape[0]
            class_index = rng.integers(0, num_classes, size=N) if rng.random() < 0.5 \
                else int(rng.integers(num_classes))
            drawn.append((model, _layer_output(model, X, layer), layer, class_index))
        return drawn
    model = _pretrained()
    X = _random_images(rng, 2)
    return [(model, _layer_output(model, X, "conv2"), "conv2", 1),
            (model, _layer_output(model, X, "pool2"), "pool2", np.array([0, 3]))]


def _reference_gradient(model, A, layer, class_index):
    return transfer.class_score_gradient(copy.deepcopy(model), A, layer, class_index)[1]


def _backpropagated(model, A, layer, seed, skip=0):
    """dA from backpropagating seed(scores) (N, num_classes) through the layers above `layer`,
    leaving out the first `skip` of them; None when that changes the shapes."""
    model = copy.deepcopy(model)
    head = model.layers[model.index(layer) + 1 + skip:]
    out = A
    try:
        for block in head:
            out = block.forward(out)
    except (ValueError, TypeError):
        return None
    upstream = seed(out)
    for block in reversed(head):
        upstream = block.backward(upstream)
    return upstream if upstream.shape == A.shape else None


def _seed_gradient_mistakes(model, A, layer, class_index):
    """Samples of dA for the usual wrong seeds of the backward pass (None where a mistake
    changes nothing)."""
    N = A.shape[0]
    classes = np.broadcast_to(np.asarray(class_index), (N,))

    def one_hot(scores):
        seed = np.zeros(scores.shape)
        seed[np.arange(N), classes] = 1.0
        return seed

    def columns(scores):  # class_index used as columns for every row
        seed = np.zeros(scores.shape)
        seed[:, class_index] = 1.0
        return seed

    right = _backpropagated(model, A, layer, one_hot)
    found = {
        "all_scores": _backpropagated(model, A, layer, np.ones_like),
        "loss_gradient": _backpropagated(model, A, layer, lambda scores: layers.softmax_loss(scores, classes)[1]),
        "columns": _backpropagated(model, A, layer, columns),
        "skipped_layer": _backpropagated(model, A, layer, one_hot, skip=1),
    }
    # a sample of each is enough to recognise it (the verdict first makes sure dA is wrong)
    return {mistake: None if dA is None or np.allclose(dA, right) else _sample(dA) for mistake, dA in found.items()}


@cases("nb04.class_score_gradient",
       answered_by=["course_lib.transfer.class_score_gradient", "course_lib.transfer.grad_cam_maps"])
def class_score_gradient(rng, hidden):
    """Model, feature maps A of `layer`, class index; the reference's dA and what the usual
    wrong seeds give. The verdict also compares with centered finite differences of the
    model's layers above `layer`."""
    return [{"model": _describe(model), "A": A, "layer": layer, "class_index": class_index,
             "skipped": model.layers[model.index(layer) + 1].name,
             "dA": _reference_gradient(model, A, layer, class_index),
             "mistakes": _seed_gradient_mistakes(model, A, layer, class_index)}
            for model, A, layer, class_index in _gradient_cases(rng, hidden)]


def _finite_difference_gradient(model, A, layer, class_index):
    """d s_{n, c_n} / d A[n] by centered differences, entry by entry, one sample at a time."""
    classes = np.broadcast_to(np.asarray(class_index), (A.shape[0],))
    numerical = np.zeros(A.shape)
    work = A.copy()
    for index in np.ndindex(A.shape):
        original = work[index]
        work[index] = original + compare.GRADIENT_STEP
        plus = _head_scores(model, work[index[0]:index[0] + 1], layer)[0, classes[index[0]]]
        work[index] = original - compare.GRADIENT_STEP
        minus = _head_scores(model, work[index[0]:index[0] + 1], layer)[0, classes[index[0]]]
        work[index] = original
        numerical[index] = (plus - minus) / (2 * compare.GRADIENT_STEP)
    return numerical


@cases("nb04.grad_cam", answered_by=["course_lib.transfer.grad_cam", "course_lib.transfer.grad_cam_maps"])
def grad_cam(rng, hidden):
    """A and the reference's dA (the student's inputs); the weights and map expected, built
    from a finite-difference dA: weights = its spatial mean, cam = ReLU(sum_k weight_k A_k);
    and what the usual mistakes give (the ReLU in the wrong place, weights from A, the
    gradient-times-activation map the notebook shows next)."""
    drawn = _gradient_cases(rng, hidden) if hidden else _gradient_cases(rng, hidden)[1:]
    if not hidden:
        model, X = _random_convnet(rng, num_blocks=1)
        drawn.append((model, _layer_output(model, X, "conv1"), "conv1", 0))
    result = []
    for model, A, layer, class_index in drawn:
        numerical = _finite_difference_gradient(model, A, layer, class_index)
        weights = numerical.mean(axis=(2, 3))
        dA = _reference_gradient(model, A, layer, class_index)
        terms = weights[:, :, None, None] * A  # alpha_k A_k, (N, F, H', W')
        result.append({"A": A, "layer": layer, "class_index": class_index, "dA": dA, "weights": weights,
                       "cam": np.maximum(terms.sum(axis=1), 0.0),
                       "mistakes": {
                           "weights_of_A": A.mean(axis=(2, 3)),
                           "relu_per_channel": np.maximum(terms, 0.0).sum(axis=1),
                           "relu_on_weights": np.einsum("nf,nfhw->nhw", np.maximum(weights, 0.0), A),
                           "gradient_times_activation": np.maximum((dA * A).sum(axis=1), 0.0),
                           # summed over the samples: told apart by its shape unless N = F
                           "summed_over_samples": np.maximum(terms.sum(axis=0), 0.0)
                           if A.shape[0] == A.shape[1] else None,
                       }})
    return result
