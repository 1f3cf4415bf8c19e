"""Verdicts of notebook 04's exercises (student side): the student's answers against the case data.

Models are rebuilt from their descriptions in the case data (cases.py, `_describe`) with
course_lib.nn and handed to the student as guarded copies whose shortcut methods refuse to
run. Every expected value comes from the case data; the only computation here is running
the student's code, an SGD step or a finite difference through the given layers, and the
pretrained network's features for the accuracy test.
"""
import copy

import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict
from course_lib import datasets, nn, transfer

# Accuracy the default hyperparameters must reach on held-out splits with 20 labels per
# class (course_lib.transfer.fit_softmax_classifier, the reference, reaches about 0.78
# on the Fashion-MNIST target classes and 0.92 on the digits).
ACCURACY_TARGETS = {"fashion": 0.70, "digits": 0.85}


# ---------------------------------------------------------------------------- shared helpers

def _model(description):
    """The course_lib.nn model a case describes, with its frozen layers frozen."""
    if description["kind"] == "pretrained":
        model = transfer.load_pretrained_convnet()
    elif description["kind"] == "convnet":
        model = nn.ConvNet(input_shape=description["input_shape"], num_filters=description["num_filters"],
                           num_classes=description["num_classes"])
        model.load_state_dict(description["params"], strict=True)
    else:
        raise ValueError(f"unknown model kind {description['kind']!r} in the case data")
    for name in description["frozen"]:
        model[name].freeze()
    return model


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


def _shared(case_data, case, key):
    """case[key], or the same input of an earlier case when the case data sent it once."""
    value = case[key]
    return case_data[value["same_as_case"]][key] if isinstance(value, dict) else value


def _param_layers(model):
    return [layer for layer in model.layers if layer.params]


# ---------------------------------------------------------------------------- feature extraction

def _is_sampled(got, sample):
    """True when got has the sample's shape and its sampled entries."""
    return (got.shape == tuple(sample["shape"])
            and np.allclose(got.ravel()[sample["index"]], sample["values"]))


@verdict("nb04.extract_features")
def extract_features(case_data, student_extract_features):
    """Output of layer `upto` (name or index, inclusive) for every sample of X."""
    hint = "write the loop over model.layers yourself (layer.forward(x) for each layer)."
    for number, case in enumerate(case_data, 1):
        model, X, upto = _model(case["model"]), _shared(case_data, case, "X"), case["upto"]
        expected = case["features"]
        compare.case(number, X=X, upto=upto)
        X_given = X.copy()
        got = student_extract_features(_guarded(model, ("features", "predict", "_run"), hint), X_given, upto)
        compare.true(np.array_equal(X_given, X), "extract_features changed the images X it was given.")
        previous = case["previous"]
        if previous is not None and isinstance(got, np.ndarray) and not (
                got.shape == expected.shape and np.allclose(got, expected)):
            if _is_sampled(got, previous):
                compare.true(False, f"your output is the output of layer {previous['layer']!r}, "
                                    f"the layer before {case['layer']!r}: `upto` is inclusive, "
                                    "so run that layer too.")
        compare.array("features", got, expected)


# ---------------------------------------------------------------------------- freezing

@verdict("nb04.freeze_upto")
def freeze_upto(case_data, student_freeze_upto):
    """Layers 0..upto frozen, later ones trainable; an SGD update moves only the trainable ones."""
    hint = "set each layer's flag yourself with layer.freeze() / layer.unfreeze()."
    for number, case in enumerate(case_data, 1):
        model, X, y, upto = _model(case["model"]), _shared(case_data, case, "X"), case["y"], case["upto"]
        frozen_before = [layer.name for layer in model.layers if not layer.trainable]
        compare.case(number, upto=upto, frozen_before=frozen_before)
        guarded = _guarded(model, ("freeze", "unfreeze"), hint)
        student_freeze_upto(guarded, upto)
        stop = model.index(upto)
        before = {name: value.copy() for name, value in guarded.named_parameters().items()}
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

def _split_features(split):
    """(F_train, y_train, F_eval, y_eval, num_classes): normalised pretrained 'pool2' features
    of the images the case data names (the shipped datasets are read here, not sent)."""
    if split["target"] == "fashion":
        # the raw uint8 arrays: converting all 14,000 images to float64 would double the check's time
        with np.load(datasets.DATA_DIR / datasets.FASHION_MNIST_SUBSET_FILE, allow_pickle=False) as raw:
            X_train, X_eval = raw["X_train"][split["train_rows"]], raw["X_test"][split["eval_rows"]]
        X_train, X_eval = X_train[:, None] / 255.0, X_eval[:, None] / 255.0  # as load_fashion_mnist
    else:
        X_all, _ = datasets.load_digits()
        X_train = datasets.resize_images(X_all[split["train_rows"]], 28, 28)
        X_eval = datasets.resize_images(X_all[split["eval_rows"]], 28, 28)
    model = transfer.load_pretrained_convnet()
    F_train, F_eval = transfer.normalize_features(model.features(X_train, "pool2"),
                                                  model.features(X_eval, "pool2"))
    return F_train, split["y_train"], F_eval, split["y_eval"], split["num_classes"]


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


@verdict("nb04.softmax_classifier", forbid=["course_lib.transfer.fit_softmax_classifier"])
def softmax_classifier(case_data, student_train):
    """One step from zero, five steps, then the accuracy of the student's defaults."""
    X, y, num_classes = case_data["X"], case_data["y"], case_data["num_classes"]
    learning_rate = case_data["learning_rate"]
    N, D = X.shape

    one_step = case_data["one_step"]
    compare.case(1, X=X, num_iters=1, learning_rate=learning_rate)
    W, b = _check_weights_pair(student_train(X.copy(), y.copy(), num_classes, learning_rate=learning_rate,
                                             reg=one_step["reg"], num_iters=1), D, num_classes)
    compare.array("W", W, one_step["W"], batch_size=N)
    compare.array("b", b, one_step["b"], batch_size=N)

    five_steps = case_data["five_steps"]
    compare.case(2, X=X, num_iters=5, learning_rate=learning_rate, reg=five_steps["reg"])
    W, b = _check_weights_pair(student_train(X.copy(), y.copy(), num_classes, learning_rate=learning_rate,
                                             reg=five_steps["reg"], num_iters=5), D, num_classes)
    compare.array("W", W, five_steps["W"])
    compare.array("b", b, five_steps["b"])

    for number, split in enumerate(case_data["splits"], 3):
        target = split["target"]
        F_train, y_train, F_eval, y_eval, classes = _split_features(split)
        compare.case(f"case {number}: your default hyperparameters on {len(y_train)} labelled "
                     f"pretrained features of the {target} target, accuracy on "
                     f"{len(y_eval)} {case_data['held_out_word']} samples")
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


@verdict("nb04.fine_tune_step")
def fine_tune_step(case_data, student_step):
    """Loss, exact SGD update of trainable layers, frozen ones untouched, no wasted backward."""
    hint = "write the forward, the loss, the backward loop and the update yourself."
    for number, case in enumerate(case_data, 1):
        model, X, y = _model(case["model"]), _shared(case_data, case, "X"), case["y"]
        learning_rate = case["learning_rate"]
        frozen = [layer.name for layer in _param_layers(model) if not layer.trainable]
        compare.case(number, X=X, frozen=frozen, learning_rate=learning_rate)
        guarded = _guarded(model, ("loss", "backward", "features", "predict"), hint)
        lowest = case["lowest"]
        calls = []
        for layer in guarded.layers[:lowest]:
            _record_backward_calls(layer, calls)
        loss = student_step(guarded, X.copy(), y.copy(), learning_rate)
        compare.scalar("loss", loss, case["loss"])
        compare.true(not calls, f"your backward pass went through {', '.join(calls)}, below the lowest "
                     f"trainable layer {guarded.layers[lowest].name!r}: no parameter there needs a "
                     "gradient, so stop the loop after that layer (this is the work freezing saves).")
        updated = case["updated"]
        for name, value in model.named_parameters().items():
            got = guarded.named_parameters()[name]
            if name in updated:
                compare.array(name, got, updated[name])
            else:
                compare.true(np.array_equal(got, value), f"{name} belongs to a frozen layer but changed.")


# ---------------------------------------------------------------------------- Grad-CAM

def _scores_above(model, A, layer):
    """Class scores (N, num_classes) from the output A of `layer` through the given layers
    above it, keeping no caches (the function the finite differences differentiate)."""
    scores = A
    for above in model.layers[model.index(layer) + 1:]:
        scores = above._forward(scores)[0]
    return scores


@verdict("nb04.class_score_gradient",
         forbid=["course_lib.transfer.class_score_gradient", "course_lib.transfer.grad_cam_maps"])
def class_score_gradient(case_data, student_gradient):
    """d s_{n, c_n} / d A[n] against centered finite differences of the layers above `layer`,
    then every entry against the case data."""
    for number, case in enumerate(case_data, 1):
        model, A, layer, class_index = _model(case["model"]), case["A"], case["layer"], case["class_index"]
        compare.case(number, A=A, layer=layer, class_index=class_index)
        N = A.shape[0]
        classes = np.broadcast_to(np.asarray(class_index), (N,))
        before = copy.deepcopy(model.state_dict())
        got = student_gradient(copy.deepcopy(model), A.copy(), layer, class_index)

        def summed_class_scores(A_nudged):
            # sample n's score depends on A[n] only, so the sum's gradient is per-sample
            return float(_scores_above(model, A_nudged, layer)[np.arange(N), classes].sum())
        compare.gradient("dA", got, summed_class_scores, A, batch_size=N)
        compare.array("dA", got, case["dA"], batch_size=N)
        compare.true(all(np.array_equal(v, before[k]) for k, v in model.state_dict().items()),
                     "class_score_gradient changed the model's parameters.")


@verdict("nb04.grad_cam", forbid=["course_lib.transfer.grad_cam", "course_lib.transfer.grad_cam_maps"])
def grad_cam(case_data, student_grad_cam):
    """Channel weights = spatial mean of dA; map = ReLU(sum_k weight_k A_k), dA by finite differences."""
    for number, case in enumerate(case_data, 1):
        A, dA = case["A"], case["dA"]
        compare.case(number, A=A, layer=case["layer"], class_index=case["class_index"])
        expected_cam = case["cam"]
        result = student_grad_cam(A.copy(), dA.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"grad_cam must return a tuple (weights, cam), got {type(result).__name__}")
        weights, cam = result
        compare.array("weights", weights, case["weights"], rtol=1e-5, atol=1e-8)
        if isinstance(cam, np.ndarray) and cam.shape == expected_cam.shape and np.any(cam < 0):
            compare.true(False, "cam has negative entries: Grad-CAM keeps only the evidence FOR the "
                                "class, apply a ReLU to the weighted sum of the feature maps.")
        compare.array("cam", cam, expected_cam, rtol=1e-5, atol=1e-8)
