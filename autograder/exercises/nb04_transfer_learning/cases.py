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
from course_lib import datasets, nn, transfer

LABELS_PER_CLASS = 20
HIDDEN_SPLIT_SIZE = 300
# entries of the previous layer's output kept for the "`upto` is inclusive" diagnosis
PREVIOUS_SAMPLE_SIZE = 256


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
    if flat.size <= PREVIOUS_SAMPLE_SIZE:
        index = np.arange(flat.size)
    else:
        index = np.sort(np.random.default_rng(0).choice(flat.size, PREVIOUS_SAMPLE_SIZE, replace=False))
    return {"shape": tuple(array.shape), "index": index, "values": flat[index].copy()}


# ---------------------------------------------------------------------------- feature extraction

@cases("nb04.extract_features")
def extract_features(rng, hidden):
    """Model, images, `upto`; the output of layer `upto` and (sampled) of the layer before it.

    answered_by is empty: course_lib has no function of this signature. Sequential.features
    (a given tool the notebook uses throughout) is refused by the verdict's guarded model.
    """
    if hidden:
        drawn = []
        for _ in range(3):
            model, X = _random_convnet(rng)
            i = int(rng.integers(len(model)))
            upto = model.layers[i].name if rng.random() < 0.5 else int(i - len(model) * rng.integers(0, 2))
            drawn.append((model, X, upto))
    else:
        model = _pretrained()
        X = _random_images(rng, 3)
        drawn = [(model, X, "pool2"), (model, X, "relu1"), (model, X, "conv1")]
    result = []
    for model, X, upto in drawn:
        stop = model.index(upto)
        result.append({
            "model": _describe(model), "X": X, "upto": upto, "layer": model.layers[stop].name,
            "features": model.features(X, upto),
            "previous": None if stop == 0 else {"layer": model.layers[stop - 1].name,
                                                **_sample(model.features(X, stop - 1))},
        })
    return _share(result, "X")


# ---------------------------------------------------------------------------- freezing

@cases("nb04.freeze_upto")
def freeze_upto(rng, hidden):
    """Model (some layers possibly frozen already), `upto`, and images and labels for an SGD step.

    answered_by is empty: Sequential.freeze(upto) never unfreezes the layers above the cut,
    which case 3 (and the hidden cases) need.
    """
    if hidden:
        drawn = []
        for _ in range(3):
            model, X = _random_convnet(rng, num_blocks=2)
            for block in model.layers:
                if rng.random() < 0.5:
                    block.freeze()
            i = int(rng.integers(len(model) - 1))
            drawn.append((model, X, model.layers[i].name if rng.random() < 0.5 else i))
    else:
        model = _pretrained()
        X = _random_images(rng, 4)
        all_frozen = copy.deepcopy(model).freeze()
        drawn = [(model, X, "pool1"), (model, X, "conv2"), (all_frozen, X, "relu1")]
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


@cases("nb04.softmax_classifier", answered_by=["course_lib.transfer.fit_softmax_classifier"])
def softmax_classifier(rng, hidden):
    """Features, labels; W, b after one step from zero (by formula) and after five (reference);
    the target split on which the student's defaults must reach the accuracy target."""
    N, D, num_classes = (int(rng.integers(5, 9)), int(rng.integers(3, 7)), int(rng.integers(2, 5))) \
        if hidden else (6, 4, 3)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, num_classes, size=N)
    learning_rate = float(rng.uniform(0.1, 2.0)) if hidden else 0.5
    # From W = 0 every class has probability 1 / C, so dscores = (1/C - onehot) / N exactly.
    dscores = (np.full((N, num_classes), 1.0 / num_classes) - np.eye(num_classes)[y]) / N
    one_step = {"reg": 0.1, "W": -learning_rate * X.T @ dscores, "b": -learning_rate * dscores.sum(axis=0)}
    reg = float(rng.uniform(0.01, 0.5)) if hidden else 0.2
    W_ref, b_ref = transfer.fit_softmax_classifier(X, y, num_classes, learning_rate, reg, 5)
    # visible: the Fashion-MNIST target; hidden: the digits (a split the notebook never shows)
    splits = [_target_split(rng, target) for target in (("digits",) if hidden else ("fashion",))]
    return {"X": X, "y": y, "num_classes": num_classes, "learning_rate": learning_rate,
            "one_step": one_step, "five_steps": {"reg": reg, "W": W_ref, "b": b_ref},
            "splits": splits, "held_out_word": "hidden" if hidden else "held-out"}


# ---------------------------------------------------------------------------- fine-tuning step

@cases("nb04.fine_tune_step")
def fine_tune_step(rng, hidden):
    """Model with frozen layers, images, labels, learning rate; the loss and updated parameters.

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
        drawn = [(top, X, 0.05), (sandwich, X, 0.05)]
    result = []
    for model, X, learning_rate in drawn:
        num_classes = model.layers[-1].params["b"].shape[0]
        y = rng.integers(0, num_classes, size=X.shape[0])
        description = _describe(model)
        loss, grads = nn.Sequential.loss(model, X, y)
        parameters = model.named_parameters()
        result.append({
            "model": description, "X": X, "y": y, "learning_rate": learning_rate, "loss": loss,
            "lowest": min(i for i, layer in enumerate(model.layers) if layer.trainable and layer.params),
            "updated": {name: parameters[name] - learning_rate * grad for name, grad in grads.items()},
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


@cases("nb04.class_score_gradient",
       answered_by=["course_lib.transfer.class_score_gradient", "course_lib.transfer.grad_cam_maps"])
def class_score_gradient(rng, hidden):
    """Model, feature maps A of `layer`, class index; the reference's dA. The verdict also
    compares with centered finite differences of the model's layers above `layer`."""
    return [{"model": _describe(model), "A": A, "layer": layer, "class_index": class_index,
             "dA": _reference_gradient(model, A, layer, class_index)}
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
    from a finite-difference dA: weights = its spatial mean, cam = ReLU(sum_k weight_k A_k)."""
    drawn = _gradient_cases(rng, hidden) if hidden else _gradient_cases(rng, hidden)[1:]
    if not hidden:
        model, X = _random_convnet(rng, num_blocks=1)
        drawn.append((model, _layer_output(model, X, "conv1"), "conv1", 0))
    result = []
    for model, A, layer, class_index in drawn:
        numerical = _finite_difference_gradient(model, A, layer, class_index)
        weights = numerical.mean(axis=(2, 3))
        result.append({"A": A, "layer": layer, "class_index": class_index,
                       "dA": _reference_gradient(model, A, layer, class_index), "weights": weights,
                       "cam": np.maximum(np.einsum("nf,nfhw->nhw", weights, A), 0.0)})
    return result
