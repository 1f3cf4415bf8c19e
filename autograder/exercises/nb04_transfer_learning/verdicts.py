"""Exercise checks of notebook 04 (transfer learning and Grad-CAM).

nb04.extract_features      student(model, X, upto) -> output of layer `upto` (inclusive), (N, ...)
nb04.freeze_upto           student(model, upto): layers up to `upto` frozen, the others trainable
nb04.softmax_classifier    student(X, y, num_classes, learning_rate, reg, num_iters) -> (W, b):
                           gradient descent checked step by step, then accuracy of the defaults
                           on a hidden split of the pretrained network's features
nb04.fine_tune_step        student(model, X, y, learning_rate) -> loss: one SGD step of the
                           trainable layers, no backward below the lowest trainable layer
nb04.class_score_gradient  student(model, A, layer, class_index) -> dA, by finite differences
nb04.grad_cam              student(A, dA) -> (weights, cam), against a finite-difference dA

The models handed to the student are copies whose shortcut methods (features, freeze,
loss, ...) refuse to run, so that each exercise is written with a loop over model.layers.
Expected values come from course_lib (Sequential's own methods, called on the copy),
from centered finite differences, or from formulas written out here.
"""
import copy

import numpy as np

from autograder.check import compare
from autograder.check.registry import exercise
from course_lib import datasets, nn, transfer

# Accuracy the default hyperparameters must reach on held-out splits with 20 labels per
# class (course_lib.transfer.fit_softmax_classifier, the reference, reaches about 0.78
# on the Fashion-MNIST target classes and 0.92 on the digits).
ACCURACY_TARGETS = {"fashion": 0.70, "digits": 0.85}
LABELS_PER_CLASS = 20
HIDDEN_SPLIT_SIZE = 300


# ---------------------------------------------------------------------------- shared helpers

def _guarded(model, methods, hint):
    """A deep copy of model whose listed methods raise WrongAnswer with `hint`."""
    def refuse(name):
        def method(self, *args, **kwargs):
            raise compare.WrongAnswer(f"your code called model.{name}(...): {hint}")
        return method

    guarded = copy.deepcopy(model)
    guarded.__class__ = type(type(model).__name__, (type(model),),
                             {name: refuse(name) for name in methods})
    return guarded


def _random_convnet(rng, num_blocks=None):
    """A small ConvNet with random sizes and weights; returns (model, X (N, C, H, W))."""
    num_blocks = int(rng.integers(1, 3)) if num_blocks is None else num_blocks
    C = int(rng.integers(1, 3))
    H = 2 ** num_blocks * int(rng.integers(1, 3))
    W = 2 ** num_blocks * int(rng.integers(1, 3))
    filters = tuple(int(f) for f in rng.integers(2, 5, size=num_blocks))
    model = nn.ConvNet(input_shape=(C, H, W), num_filters=filters, num_classes=int(rng.integers(2, 5)),
                       seed=int(rng.integers(2**31)))
    X = rng.standard_normal((int(rng.integers(2, 4)), C, H, W))
    return model, X


def _random_images(rng, N):
    """N random 28x28 grey images in [0, 1], shape (N, 1, 28, 28)."""
    return rng.uniform(0.0, 1.0, size=(N, 1, 28, 28))


def _param_layers(model):
    return [layer for layer in model.layers if layer.params]


# ---------------------------------------------------------------------------- feature extraction

@exercise("nb04.extract_features")
def extract_features(rng, hidden, student_extract_features):
    """Output of layer `upto` (name or index, inclusive) for every sample of X."""
    if hidden:
        cases = []
        for _ in range(3):
            model, X = _random_convnet(rng)
            i = int(rng.integers(len(model)))
            upto = model.layers[i].name if rng.random() < 0.5 else int(i - len(model) * rng.integers(0, 2))
            cases.append((model, X, upto))
    else:
        model = transfer.load_pretrained_convnet()
        X = _random_images(rng, 3)
        cases = [(model, X, "pool2"), (model, X, "relu1"), (model, X, "conv1")]
    hint = "write the loop over model.layers yourself (layer.forward(x) for each layer)."
    for number, (model, X, upto) in enumerate(cases, 1):
        compare.case(number, X=X, upto=upto)
        X_given = X.copy()
        got = student_extract_features(_guarded(model, ("features", "predict", "_run"), hint), X_given, upto)
        compare.true(np.array_equal(X_given, X), "extract_features changed the images X it was given.")
        expected = nn.Sequential.features(model, X, upto)
        stop = model.index(upto)
        if stop > 0 and isinstance(got, np.ndarray) and not (
                got.shape == expected.shape and np.allclose(got, expected)):
            previous = nn.Sequential.features(model, X, stop - 1)
            if got.shape == previous.shape and np.allclose(got, previous):
                compare.true(False, f"your output is the output of layer {model.layers[stop - 1].name!r}, "
                                    f"the layer before {model.layers[stop].name!r}: `upto` is inclusive, "
                                    "so run that layer too.")
        compare.array("features", got, expected)


# ---------------------------------------------------------------------------- freezing

@exercise("nb04.freeze_upto")
def freeze_upto(rng, hidden, student_freeze_upto):
    """Layers 0..upto frozen, later ones trainable; an SGD update moves only the trainable ones."""
    if hidden:
        cases = []
        for _ in range(3):
            model, X = _random_convnet(rng, num_blocks=2)
            for layer in model.layers:
                if rng.random() < 0.5:
                    layer.freeze()
            i = int(rng.integers(len(model) - 1))
            cases.append((model, X, model.layers[i].name if rng.random() < 0.5 else i))
    else:
        model = transfer.load_pretrained_convnet()
        X = _random_images(rng, 4)
        all_frozen = copy.deepcopy(model).freeze()
        cases = [(model, X, "pool1"), (model, X, "conv2"), (all_frozen, X, "relu1")]
    hint = "set each layer's flag yourself with layer.freeze() / layer.unfreeze()."
    for number, (model, X, upto) in enumerate(cases, 1):
        frozen_before = [layer.name for layer in model.layers if not layer.trainable]
        compare.case(number, upto=upto, frozen_before=frozen_before)
        guarded = _guarded(model, ("freeze", "unfreeze"), hint)
        student_freeze_upto(guarded, upto)
        stop = model.index(upto)
        before = {name: value.copy() for name, value in guarded.named_parameters().items()}
        y = rng.integers(0, guarded.layers[-1].params["b"].shape[0], size=X.shape[0])
        _, grads = nn.Sequential.loss(guarded, X, y)
        for name, value in guarded.named_parameters(trainable_only=True).items():
            guarded.set_parameter(name, value - 0.1 * grads[name])
        for i, layer in enumerate(guarded.layers):
            should_freeze = i <= stop
            for key in layer.params:
                name = f"{layer.name}.{key}"
                moved = not np.array_equal(layer.params[key], before[name])
                if should_freeze:
                    compare.true(not moved, f"{name} changed after an SGD update, but layer "
                                 f"{layer.name!r} comes at or before {upto!r} and must be frozen "
                                 "(`upto` is inclusive).")
                else:
                    compare.true(moved, f"{name} did not change after an SGD update: layer "
                                 f"{layer.name!r} comes after {upto!r} and must be trainable "
                                 "(unfreeze the layers above the cut, even if they were frozen before).")
            compare.true(layer.trainable == (not should_freeze),
                         f"layer {layer.name!r} has trainable={layer.trainable}, expected "
                         f"{not should_freeze}: layers up to and including {upto!r} (`upto` is inclusive) "
                         "must be frozen, all later ones trainable.")


# ---------------------------------------------------------------------------- softmax classifier

def _target_split(rng, name):
    """(X_labelled, y_labelled, X_hidden, y_hidden, num_classes) of pretrained 'pool2' features."""
    if name == "fashion":
        # the raw uint8 arrays: converting all 14,000 images to float64 would double the check's time
        with np.load(datasets.DATA_DIR / datasets.FASHION_MNIST_SUBSET_FILE, allow_pickle=False) as raw:
            X_pool, y_pool = transfer.restrict_classes(raw["X_train"], raw["y_train"], transfer.TARGET_CLASSES)
            X_eval, y_eval = transfer.restrict_classes(raw["X_test"], raw["y_test"], transfer.TARGET_CLASSES)
    else:
        X_all, y_all = datasets.load_digits()
        X_all = datasets.resize_images(X_all, 28, 28)
        order = rng.permutation(len(y_all))
        X_pool, y_pool = X_all[order[:900]], y_all[order[:900]]
        X_eval, y_eval = X_all[order[900:]], y_all[order[900:]]
    num_classes = int(y_pool.max()) + 1
    labelled = np.concatenate([rng.permutation(np.flatnonzero(y_pool == c))[:LABELS_PER_CLASS]
                               for c in range(num_classes)])
    held_out = rng.permutation(len(y_eval))[:HIDDEN_SPLIT_SIZE]
    if X_pool.dtype == np.uint8:  # same scaling as datasets.load_fashion_mnist
        X_pool, X_eval = X_pool[:, None] / 255.0, X_eval[:, None] / 255.0
    model = transfer.load_pretrained_convnet()
    F_train = model.features(X_pool[labelled], "pool2")
    F_eval = model.features(X_eval[held_out], "pool2")
    F_train, F_eval = transfer.normalize_features(F_train, F_eval)
    return F_train, y_pool[labelled], F_eval, y_eval[held_out], num_classes


def _check_weights_pair(result, D, num_classes):
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"train_softmax_classifier must return a tuple (W, b), got {type(result).__name__}")
    W, b = result
    compare.true(isinstance(W, np.ndarray) and W.shape == (D, num_classes),
                 f"W must be an array of shape (D, num_classes) = {(D, num_classes)}, "
                 f"got {getattr(W, 'shape', type(W).__name__)}")
    compare.true(isinstance(b, np.ndarray) and b.shape == (num_classes,),
                 f"b must be an array of shape (num_classes,) = {(num_classes,)}, "
                 f"got {getattr(b, 'shape', type(b).__name__)}")
    return W, b


@exercise("nb04.softmax_classifier", forbid=["course_lib.transfer.fit_softmax_classifier"])
def softmax_classifier(rng, hidden, student_train):
    """One step from zero by formula, a few steps against the reference, then accuracy."""
    N, D, num_classes = (int(rng.integers(5, 9)), int(rng.integers(3, 7)), int(rng.integers(2, 5))) \
        if hidden else (6, 4, 3)
    X = rng.standard_normal((N, D))
    y = rng.integers(0, num_classes, size=N)
    learning_rate = float(rng.uniform(0.1, 2.0)) if hidden else 0.5

    compare.case(1, X=X, num_iters=1, learning_rate=learning_rate)
    # From W = 0 every class has probability 1 / C, so dscores = (1/C - onehot) / N exactly.
    dscores = (np.full((N, num_classes), 1.0 / num_classes) - np.eye(num_classes)[y]) / N
    W, b = _check_weights_pair(student_train(X.copy(), y.copy(), num_classes, learning_rate=learning_rate,
                                             reg=0.1, num_iters=1), D, num_classes)
    compare.array("W", W, -learning_rate * X.T @ dscores, batch_size=N)
    compare.array("b", b, -learning_rate * dscores.sum(axis=0), batch_size=N)

    reg = float(rng.uniform(0.01, 0.5)) if hidden else 0.2
    compare.case(2, X=X, num_iters=5, learning_rate=learning_rate, reg=reg)
    W, b = _check_weights_pair(student_train(X.copy(), y.copy(), num_classes, learning_rate=learning_rate,
                                             reg=reg, num_iters=5), D, num_classes)
    W_ref, b_ref = transfer.fit_softmax_classifier(X, y, num_classes, learning_rate, reg, 5)
    compare.array("W", W, W_ref)
    compare.array("b", b, b_ref)

    # visible: the Fashion-MNIST target; hidden: the digits (a split the notebook never shows)
    for number, target in enumerate(("digits",) if hidden else ("fashion",), 3):
        F_train, y_train, F_eval, y_eval, classes = _target_split(rng, target)
        compare.case(f"case {number}: your default hyperparameters on {len(y_train)} labelled "
                     f"pretrained features of the {target} target, accuracy on "
                     f"{len(y_eval)} {'hidden' if hidden else 'held-out'} samples")
        W, b = _check_weights_pair(student_train(F_train, y_train, classes), F_train.shape[1], classes)
        accuracy = float(np.mean(np.argmax(F_eval @ W + b, axis=1) == y_eval))
        compare.true(accuracy >= ACCURACY_TARGETS[target],
                     f"accuracy {accuracy:.3f} on the {target} split is below the target "
                     f"{ACCURACY_TARGETS[target]:.2f}: check the defaults (learning_rate, num_iters) "
                     "and that each step moves against the gradient.")


# ---------------------------------------------------------------------------- fine-tuning step

def _record_backward_calls(layer, calls):
    original = layer.backward

    def recording(dout):
        calls.append(layer.name)
        return original(dout)
    layer.backward = recording


@exercise("nb04.fine_tune_step")
def fine_tune_step(rng, hidden, student_step):
    """Loss, exact SGD update of trainable layers, frozen ones untouched, no wasted backward."""
    cases = []
    if hidden:
        for _ in range(3):
            model, X = _random_convnet(rng, num_blocks=2)
            param_layers = _param_layers(model)
            # conv1 frozen (so some backward is wasted if not stopped), the others at
            # random with at least one trainable
            pattern = rng.random(len(param_layers)) < 0.5
            pattern[0] = True
            pattern[int(rng.integers(1, len(param_layers)))] = False
            for layer, frozen in zip(param_layers, pattern):
                if frozen:
                    layer.freeze()
            cases.append((model, X, float(rng.uniform(1e-3, 1e-1))))
    else:
        base = transfer.load_pretrained_convnet()
        X = _random_images(rng, 4)
        top = copy.deepcopy(base).freeze("pool1")
        sandwich = copy.deepcopy(base)
        sandwich["conv2"].freeze()
        cases = [(top, X, 0.05), (sandwich, X, 0.05)]
    hint = "write the forward, the loss, the backward loop and the update yourself."
    for number, (model, X, learning_rate) in enumerate(cases, 1):
        frozen = [layer.name for layer in _param_layers(model) if not layer.trainable]
        compare.case(number, X=X, frozen=frozen, learning_rate=learning_rate)
        num_classes = model.layers[-1].params["b"].shape[0]
        y = rng.integers(0, num_classes, size=X.shape[0])
        reference = copy.deepcopy(model)
        guarded = _guarded(model, ("loss", "backward", "features", "predict"), hint)
        lowest = min(i for i, layer in enumerate(guarded.layers) if layer.trainable and layer.params)
        calls = []
        for layer in guarded.layers[:lowest]:
            _record_backward_calls(layer, calls)
        loss = student_step(guarded, X.copy(), y.copy(), learning_rate)
        expected_loss, grads = nn.Sequential.loss(reference, X, y)
        compare.scalar("loss", loss, expected_loss)
        compare.true(not calls, f"your backward pass went through {', '.join(calls)}, below the lowest "
                     f"trainable layer {guarded.layers[lowest].name!r}: no parameter there needs a "
                     "gradient, so stop the loop after that layer (this is the work freezing saves).")
        for name, value in reference.named_parameters().items():
            got = guarded.named_parameters()[name]
            if name in grads:
                compare.array(name, got, value - learning_rate * grads[name])
            else:
                compare.true(np.array_equal(got, value), f"{name} belongs to a frozen layer but changed.")


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
        cases = []
        for _ in range(3):
            model, X = _random_convnet(rng)
            # The last conv or pool output. Not a ReLU output: its exact zeros tie inside
            # pooling windows, where a finite difference sees a kink the gradient does not.
            layer = model.layers[-5 if rng.random() < 0.5 else -3].name
            N = X.shape[0]
            num_classes = model.layers[-1].params["b"].shape[0]
            class_index = rng.integers(0, num_classes, size=N) if rng.random() < 0.5 \
                else int(rng.integers(num_classes))
            cases.append((model, _layer_output(model, X, layer), layer, class_index))
        return cases
    model = transfer.load_pretrained_convnet()
    X = _random_images(rng, 2)
    return [(model, _layer_output(model, X, "conv2"), "conv2", 1),
            (model, _layer_output(model, X, "pool2"), "pool2", np.array([0, 3]))]


@exercise("nb04.class_score_gradient",
          forbid=["course_lib.transfer.class_score_gradient", "course_lib.transfer.grad_cam_maps"])
def class_score_gradient(rng, hidden, student_gradient):
    """d s_{n, c_n} / d A[n] against centered finite differences of the layers above `layer`."""
    for number, (model, A, layer, class_index) in enumerate(_gradient_cases(rng, hidden), 1):
        compare.case(number, A=A, layer=layer, class_index=class_index)
        N = A.shape[0]
        classes = np.broadcast_to(np.asarray(class_index), (N,))
        before = copy.deepcopy(model.state_dict())
        got = student_gradient(copy.deepcopy(model), A.copy(), layer, class_index)

        def summed_class_scores(A_nudged):
            # sample n's score depends on A[n] only, so the sum's gradient is per-sample
            return float(_head_scores(model, A_nudged, layer)[np.arange(N), classes].sum())
        compare.gradient("dA", got, summed_class_scores, A, batch_size=N)
        compare.true(all(np.array_equal(v, before[k]) for k, v in model.state_dict().items()),
                     "class_score_gradient changed the model's parameters.")


@exercise("nb04.grad_cam", forbid=["course_lib.transfer.grad_cam", "course_lib.transfer.grad_cam_maps"])
def grad_cam(rng, hidden, student_grad_cam):
    """Channel weights = spatial mean of dA; map = ReLU(sum_k weight_k A_k), dA by finite differences."""
    cases = _gradient_cases(rng, hidden) if hidden else _gradient_cases(rng, hidden)[1:]
    if not hidden:
        model, X = _random_convnet(rng, num_blocks=1)
        cases.append((model, _layer_output(model, X, "conv1"), "conv1", 0))
    for number, (model, A, layer, class_index) in enumerate(cases, 1):
        compare.case(number, A=A, layer=layer, class_index=class_index)
        N = A.shape[0]
        classes = np.broadcast_to(np.asarray(class_index), (N,))
        _, dA = transfer.class_score_gradient(copy.deepcopy(model), A, layer, class_index)
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
        expected_weights = numerical.mean(axis=(2, 3))
        expected_cam = np.maximum(np.einsum("nf,nfhw->nhw", expected_weights, A), 0.0)
        result = student_grad_cam(A.copy(), dA.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"grad_cam must return a tuple (weights, cam), got {type(result).__name__}")
        weights, cam = result
        compare.array("weights", weights, expected_weights, rtol=1e-5, atol=1e-8)
        if isinstance(cam, np.ndarray) and cam.shape == expected_cam.shape and np.any(cam < 0):
            compare.true(False, "cam has negative entries: Grad-CAM keeps only the evidence FOR the "
                                "class, apply a ReLU to the weighted sum of the feature maps.")
        compare.array("cam", cam, expected_cam, rtol=1e-5, atol=1e-8)
