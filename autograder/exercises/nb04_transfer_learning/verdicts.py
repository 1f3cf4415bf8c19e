"""Verdicts of notebook 04's exercises (student side): the student's answers against the case data.

Models are rebuilt from their descriptions in the case data (cases.py, `_describe`) with
course_lib.nn. The ones the student's code receives are made in the runner by the helpers
marked @in_runner: guarded copies whose shortcut methods refuse to run, with layers that
record their forward or backward calls; what the verdict reads of them comes back as plain
data. The verdict builds its own copy here (`_built`) for the layer names and flags, the
parameters before a step and the finite differences. Every expected value comes from the
case data; the only computation here is running the student's code, an SGD step or a
finite difference through the given layers, and the pretrained network's features for the
accuracy test. Each verdict names the usual mistakes before the generic comparison: by the
wrong answers the case data holds (the output of another layer, a classifier trained with
half the weight decay, the gradient of the loss instead of the class score, ...), or by how
the student's output relates to the right one (a step of the wrong sign or size, a map
rescaled per sample).
"""
import copy
from typing import NamedTuple

import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict
from autograder.check.remote import RemoteError, Trace, in_runner
from autograder.check.runner import student_frame
from course_lib import datasets, nn, transfer

# Accuracy the default hyperparameters must reach on held-out splits with 20 labels per
# class (course_lib.transfer.fit_softmax_classifier, the reference, reaches about 0.78
# on the Fashion-MNIST target classes and 0.92 on the digits).
ACCURACY_TARGETS = {"fashion": 0.70, "digits": 0.85}


# ---------------------------------------------------------------------------- shared helpers

def _built(description):
    """The course_lib.nn model a case describes, with its frozen layers frozen, built in this
    process (the verdict's own copy; _model builds the student's in the runner)."""
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


@in_runner
def _model(description):
    """_built(description), made in the runner: a model the student's code receives."""
    return _built(description)


@in_runner
def _guarded(model, methods, hint):
    """A deep copy of model whose listed methods raise WrongAnswer with `hint`; made in the
    runner, where the student's code calls them."""
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


class _Layer(NamedTuple):
    """What a verdict reads of one layer of the student's model: its name, its flag, and the
    names of its parameters and of its gradients (empty lists when it has none)."""

    name: str
    trainable: bool
    params: list
    grads: list


@in_runner
def _layer_states(model):
    """(name, trainable, parameter names, gradient names) of each layer; runs in the runner."""
    return [(layer.name, layer.trainable, list(layer.params), list(layer.grads)) for layer in model.layers]


def _layers(model):
    """The layers of model (the student's) as _Layer records, in one request to the runner."""
    return [_Layer(*state) for state in _layer_states(model)]


def _matches(got, candidate, rtol=1e-6, atol=1e-9):
    """True when got is an array with candidate's shape and values (candidate None: False)."""
    if candidate is None or not isinstance(got, np.ndarray) or got.shape != np.shape(candidate):
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(np.asarray(got, dtype=np.float64), candidate, rtol=rtol, atol=atol))


def _factor(got, expected, tolerance=1e-6):
    """The constant c with got = c * expected (least squares), if it explains got; else None."""
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return None
    got, expected = np.asarray(got, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    denominator = float(np.sum(expected * expected))
    if denominator == 0.0 or not np.all(np.isfinite(got)):
        return None
    c = float(np.sum(got * expected)) / denominator
    scale = float(np.max(np.abs(expected)))
    return c if float(np.max(np.abs(got - c * expected))) <= tolerance * scale * max(1.0, abs(c)) else None


def _near(value, target, tolerance=1e-4):
    return value is not None and abs(value - target) <= tolerance * max(1.0, abs(target))


def _fail(name, diagnosis, verb="is"):
    """Fail naming the wrong output and the mistake behind it (the case label follows)."""
    compare.true(False, f"{name} {verb} wrong\n  diagnosis: {diagnosis}")


def _call(function, *args, on_error=None):
    """function(*args); when the student's code raises, fail naming the error, the line of the
    student's code, and `on_error(error)`'s diagnosis (None: let the error through unexplained)."""
    try:
        return function(*args)
    except (compare.WrongAnswer, NotImplementedError):
        raise
    except Exception as error:
        diagnosis = on_error(error) if on_error is not None else None
        if diagnosis is None:
            raise
        # the student's frame: the runner's `where` (its traceback stays there), or this
        # process's traceback when the verdict runs next to the student's code
        frame = error.where if isinstance(error, RemoteError) else student_frame(error.__traceback__)
        where = f" (in {frame['function']}, line {frame['line']})" if frame else ""
        compare.true(False, f"your code raised {type(error).__name__}: {error}{where}\n"
                            f"  diagnosis: {diagnosis}")


# ---------------------------------------------------------------------------- feature extraction

def _is_sampled(got, sample, rtol=1e-6, atol=1e-9):
    """True when got has the sample's shape and its sampled entries (sample None: False)."""
    return (sample is not None and isinstance(got, np.ndarray) and got.shape == tuple(sample["shape"])
            and bool(np.allclose(got.ravel()[sample["index"]], sample["values"], rtol=rtol, atol=atol)))


def _describe_upto(case):
    upto, layer, position = case["upto"], case["layer"], case["position"]
    return repr(layer) if isinstance(upto, str) else f"upto={upto} (layer {layer!r}, position {position})"


def _wrong_layer(got, case, X):
    """A sentence naming which layer's output `got` is, when it is not layer `upto`'s; or None."""
    upto, layer, position = case["upto"], case["layer"], case["position"]
    target = _describe_upto(case)
    if case["alone"] is not None and _is_sampled(got, case["alone"]):
        return (f"your output is layer {layer!r} applied to the images X themselves: the layers "
                f"below it never ran. Feed each layer the previous layer's output "
                "(out = layer.forward(out)), starting from X.")
    if isinstance(got, np.ndarray) and got.shape == X.shape and np.allclose(got, X):
        if position == 0:
            return (f"your output is the images X unchanged, the input of {layer!r}: `upto` is "
                    "inclusive, so run that layer too.")
        if isinstance(upto, (int, np.integer)) and upto < 0:
            return (f"no layer ran for upto={upto}: a negative index counts from the end, and "
                    f"slicing model.layers[:upto + 1] is then empty or wrong; "
                    f"model.index(upto) turns it into a position ({position} here) first.")
        return f"your output is the images X unchanged: no layer ran for {target}."
    for stage in case["stages"]:
        if not _is_sampled(got, stage):
            continue
        other = f"the output of layer {stage['layer']!r} (position {stage['position']})"
        if stage["position"] == position - 1:
            return (f"your output is the output of layer {stage['layer']!r}, the layer before "
                    f"{layer!r}: `upto` is inclusive, so run that layer too.")
        if stage["position"] < position:
            return (f"your output is {other}, which comes before {target}: run every layer "
                    "up to and including it.")
        flattened = (f"; or, if you reshaped the output yourself, return it in the layer's own shape "
                     f"{tuple(case['features'].shape)}") if got.size == case["features"].size else ""
        return (f"your output is {other}, which comes after {target}: stop the loop after "
                f"layer `upto` (model.index(upto) is its position){flattened}.")
    return None


def _upto_kind_error(upto, error):
    """The diagnosis of an error that handling `upto` as the wrong kind (name/index) raises, or None."""
    is_index = isinstance(upto, (int, np.integer))
    if not isinstance(error, (TypeError, ValueError, IndexError, KeyError) if is_index else TypeError):
        return None
    kind = "an index (an int)" if is_index else "a name (a str)"
    return (f"this case gives upto={upto!r}, {kind}: `upto` may be a name or an index, and "
            "model.index(upto) turns either into a position.")


def _upto_error(model, upto, trace):
    """Diagnosis of an error raised by the student's extract_features, or None."""
    def diagnose(error):
        calls = trace.calls
        if calls and calls[-1][1] is not None:  # a layer refused its input
            name, got_images = calls[-1]
            if got_images and model.index(name) > 0:
                return (f"layer {name!r} was given the images X, not the previous layer's output: "
                        "feed each layer what the layer before it returned (out = layer.forward(out)).")
            return None
        return None if calls else _upto_kind_error(upto, error)
    return diagnose


@in_runner
def _record_forward_calls(model, X):
    """Make each layer.forward of model record (layer name, whether it got the images X
    itself), the flag None once the call has returned; runs in the runner. Returns the Trace."""
    trace = Trace()
    calls = trace.calls
    for layer in model.layers:
        original = layer.forward

        def recording(x, layer=layer, original=original):
            calls.append((layer.name, x is X or (isinstance(x, np.ndarray) and x.shape == X.shape
                                                 and np.array_equal(x, X))))
            out = original(x)
            calls[-1] = (layer.name, None)
            return out
        layer.forward = recording
    return trace


@verdict("nb04.extract_features")
def extract_features(case_data, student_extract_features):
    """Output of layer `upto` (name or index, inclusive) for every sample of X."""
    hint = "write the loop over model.layers yourself (layer.forward(x) for each layer)."
    for number, case in enumerate(case_data, 1):
        X, upto = _shared(case_data, case, "X"), case["upto"]
        expected = case["features"]
        compare.case(number, X=X, upto=upto)
        X_given = X.copy()
        guarded = _guarded(_model(case["model"]), ("features", "predict", "_run"), hint)
        trace = _record_forward_calls(guarded, X_given)
        got = _call(student_extract_features, guarded, X_given, upto, on_error=_upto_error(guarded, upto, trace))
        compare.true(np.array_equal(X_given, X), "extract_features changed the images X it was given.")
        if not _matches(got, expected):
            diagnosis = _wrong_layer(got, case, X)
            if diagnosis is not None:
                _fail("features", diagnosis)
        compare.array("features", got, expected)


# ---------------------------------------------------------------------------- freezing

def _names(layers):
    return ", ".join(repr(layer.name) for layer in layers)


def _flag_mistake(layers, flags_before, stop, upto):
    """A sentence naming the usual mistake behind the trainable flags of `layers` (the
    student's model's, as _Layer records), or None."""
    flags = [layer.trainable for layer in layers]
    expected = [i > stop for i in range(len(layers))]
    if flags == expected:
        return None
    cut = repr(layers[stop].name) if isinstance(upto, str) else f"upto={upto} (layer {layers[stop].name!r})"
    frozen_before_above = [layer for i, layer in enumerate(layers) if i > stop and not flags_before[i]]
    if flags == [i >= stop for i in range(len(layers))]:
        return (f"layer {layers[stop].name!r} is still trainable: `upto` is inclusive, so freeze "
                f"{cut} itself too.")
    if stop + 1 < len(layers) and flags == [i > stop + 1 for i in range(len(layers))]:
        return (f"you also froze {layers[stop + 1].name!r}, the layer after {cut}: freeze only the "
                "layers up to and including `upto`.")
    if flags == [not e for e in expected]:
        return (f"reversed: you froze the layers after {cut} and left the ones up to it "
                "trainable. Freeze positions 0..model.index(upto), unfreeze the rest.")
    if frozen_before_above and flags == [e and before for e, before in zip(expected, flags_before)]:
        return (f"{_names(frozen_before_above)} came frozen and stayed frozen: layers after {cut} must "
                "be trainable, so unfreeze them (layer.unfreeze()), even if they were frozen before.")
    if flags == list(flags_before):
        return ("no layer's trainable flag changed: call layer.freeze() / layer.unfreeze() (with the "
                "parentheses) on the layers of the model you were given.")
    wrong = [layer for layer, flag, e in zip(layers, flags, expected) if flag != e]
    if wrong and not any(layer.params for layer in wrong):
        return (f"the layers with parameters are right, but {_names(wrong)} (no parameters) have the "
                "wrong flag: set the flag of every layer, with or without parameters.")
    return None


@in_runner
def _moved_by_sgd_step(model, X, y):
    """Take one SGD step (learning rate 0.1) of model's trainable parameters, with the
    gradients of Sequential.loss; {'<layer>.<param>': whether it moved}. Runs in the runner,
    on the student's model."""
    before = {name: value.copy() for name, value in model.named_parameters().items()}
    _, grads = nn.Sequential.loss(model, X, y)
    for name, value in model.named_parameters(trainable_only=True).items():
        model.set_parameter(name, value - 0.1 * grads[name])
    return {name: not np.array_equal(value, before[name]) for name, value in model.named_parameters().items()}


@verdict("nb04.freeze_upto")
def freeze_upto(case_data, student_freeze_upto):
    """Layers 0..upto frozen, later ones trainable; an SGD update moves only the trainable ones."""
    hint = "set each layer's flag yourself with layer.freeze() / layer.unfreeze()."
    for number, case in enumerate(case_data, 1):
        model, X, y, upto = _built(case["model"]), _shared(case_data, case, "X"), case["y"], case["upto"]
        frozen_before = [layer.name for layer in model.layers if not layer.trainable]
        compare.case(number, upto=upto, frozen_before=frozen_before)
        guarded = _guarded(_model(case["model"]), ("freeze", "unfreeze"), hint)
        _call(student_freeze_upto, guarded, upto, on_error=lambda error, upto=upto: _upto_kind_error(upto, error))
        stop = model.index(upto)
        mistake = _flag_mistake(_layers(guarded), [layer.trainable for layer in model.layers], stop, upto)
        if mistake is not None:
            _fail("the trainable flags", mistake, verb="are")
        moved_by_step = _moved_by_sgd_step(guarded, X, y)
        for i, layer in enumerate(_layers(guarded)):
            should_freeze = i <= stop
            for key in layer.params:
                name = f"{layer.name}.{key}"
                moved = moved_by_step[name]
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


# What each usual mistake of a gradient-descent step is called (the case data holds the W, b
# each one gives).
_CLASSIFIER_MISTAKES = {
    "no_decay": "W is what gradient descent gives without weight decay: the loss has "
                "(reg/2)·||W||², so W's gradient has the term reg · W added to X.T @ dscores.",
    "half_decay": "W is what gradient descent gives with half the weight decay (0.5 · reg · W): "
                  "the derivative of (reg/2)·||W||² is reg · W, the 1/2 cancels against the square's 2.",
    "double_decay": "W is what gradient descent gives with twice the weight decay (2 · reg · W): "
                    "the derivative of (reg/2)·||W||² is reg · W, the 1/2 cancels against the square's 2.",
    "decayed_b": "b has weight decay too: the loss decays W only, so b's gradient is the sum of "
                 "dscores over the batch, with no reg term.",
    "stale_b": "b was updated from scores recomputed after W's update: take both updates from the "
               "same dscores, computed once per step from the current W and b.",
    "scores_without_b": "your scores leave out b: each step computes the scores as X @ W + b "
                        "(b is zero only at the first step).",
}


def _classifier_mistake(W, b, step):
    """The explanation of the usual mistake whose (W, b) the student's equal, or None."""
    if _matches(W, step["W"]) and _matches(b, step["b"]):
        return None
    if _matches(W, step["W"]) and isinstance(b, np.ndarray) and not np.any(b) and np.any(step["b"]):
        return "b is still zero: update b too, every step, from the same dscores as W."
    for mistake, explanation in _CLASSIFIER_MISTAKES.items():
        candidate = step["mistakes"][mistake]
        if _matches(W, candidate["W"]) and _matches(b, candidate["b"]):
            return explanation
    return None


@verdict("nb04.softmax_classifier", forbid=["course_lib.transfer.fit_softmax_classifier"])
def softmax_classifier(case_data, student_train):
    """One step from zero, five steps (reg > 0), then the accuracy of the student's defaults."""
    X, y, num_classes = case_data["X"], case_data["y"], case_data["num_classes"]
    learning_rate = case_data["learning_rate"]
    N, D = X.shape

    for number, step in enumerate(case_data["steps"], 1):
        compare.case(number, X=X, num_iters=step["num_iters"], learning_rate=learning_rate, reg=step["reg"])
        W, b = _check_weights_pair(student_train(X.copy(), y.copy(), num_classes, learning_rate=learning_rate,
                                                 reg=step["reg"], num_iters=step["num_iters"]), D, num_classes)
        mistake = _classifier_mistake(W, b, step)
        if mistake is not None:
            steps = "one step" if step["num_iters"] == 1 else f"{step['num_iters']} steps"
            _fail(f"W, b after {steps}", mistake, verb="are")
        compare.array("W", W, step["W"], batch_size=N)
        compare.array("b", b, step["b"], batch_size=N)

    for number, split in enumerate(case_data["splits"], len(case_data["steps"]) + 1):
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

@in_runner
def _record_backward_calls(model, below):
    """Make layer.backward of the layers at positions before `below` record the layer's name
    at each call; runs in the runner. Returns the Trace."""
    trace = Trace()
    for layer in model.layers[:below]:
        original = layer.backward

        def recording(dout, layer=layer, original=original):
            trace.calls.append(layer.name)
            return original(dout)
        layer.backward = recording
    return trace


def _missing_gradients(model):
    """Diagnosis of a KeyError raised while updating: a layer whose grads are empty."""
    def diagnose(error):
        if not isinstance(error, KeyError):
            return None
        unreached = [layer for layer in _layers(model) if layer.params and layer.trainable and not layer.grads]
        if unreached:
            return (f"layer {unreached[0].name!r} is trainable but has no gradients: your backward pass "
                    "stopped above it. A frozen layer in between passes the gradient on (call its "
                    "backward); go down to the lowest trainable layer with parameters.")
        return ("a frozen layer has no gradients (layer.grads is empty): update only the layers "
                "with layer.trainable.")
    return diagnose


def _step_mistake(name, got, before, expected, learning_rate, model):
    """Why parameter `name` is not `expected` after the step, from its value `before`; or None."""
    if not isinstance(got, np.ndarray) or got.shape != expected.shape:
        return None
    if np.array_equal(got, before):
        layer = model[name.rpartition(".")[0]]
        position = model.index(layer.name)
        frozen_above = [block for block in model.layers[position + 1:] if block.params and not block.trainable]
        if frozen_above:
            return (f"{name} did not change, but layer {layer.name!r} is trainable: the backward pass "
                    f"stopped at the frozen {_names(frozen_above)} above it. A frozen layer passes the "
                    "gradient on (call its backward); only its own parameters stay as they are.")
        return (f"{name} did not change, but layer {layer.name!r} is trainable: update every parameter "
                "(each key of layer.params) of every trainable layer.")
    c = _factor(got - before, expected - before)
    if c is None:
        return None
    if _near(c, -1.0):
        return (f"{name} moved up the gradient: the step is param - learning_rate * grad "
                "(minus, to go down).")
    if _near(c, 1.0 / learning_rate):
        return (f"{name} moved by the whole gradient: multiply the gradient by learning_rate "
                f"({learning_rate:g}) before subtracting it.")
    if _near(c, learning_rate):
        return f"{name} moved by learning_rate² · grad: multiply by learning_rate once."
    return f"{name} moved {c:.6g} times as far as one step param - learning_rate * grad would."


@verdict("nb04.fine_tune_step")
def fine_tune_step(case_data, student_step):
    """Loss, exact SGD update of trainable layers, frozen ones untouched, no wasted backward."""
    hint = "write the forward, the loss, the backward loop and the update yourself."
    for number, case in enumerate(case_data, 1):
        model, X, y = _built(case["model"]), _shared(case_data, case, "X"), case["y"]
        learning_rate = case["learning_rate"]
        frozen = [layer.name for layer in model.layers if not layer.trainable]
        compare.case(number, X=X, frozen=frozen, learning_rate=learning_rate)
        guarded = _guarded(_model(case["model"]), ("loss", "backward", "features", "predict"), hint)
        lowest = case["lowest"]
        trace = _record_backward_calls(guarded, lowest)
        loss = _call(student_step, guarded, X.copy(), y.copy(), learning_rate,
                     on_error=_missing_gradients(guarded))
        if isinstance(loss, (float, np.floating)) and not np.isclose(loss, case["loss"], rtol=1e-6, atol=1e-9) \
                and np.isclose(loss, case["loss_after"], rtol=1e-6, atol=1e-9):
            _fail("loss", f"you returned {float(loss):.6g}, the loss after the update; return the loss "
                          f"of the forward pass before it ({case['loss']:.6g}).")
        compare.scalar("loss", loss, case["loss"])
        calls = trace.calls
        if calls:
            lowest_layer = guarded.layers[lowest]
            last = model[calls[-1]]  # where the student's loop stopped
            detail = (f" Your loop went down to {calls[-1]}, which is trainable but has no parameters: "
                      "stop at the lowest layer that is trainable AND has parameters."
                      if last.trainable and not last.params else "")
            compare.true(False, f"your backward pass went through {', '.join(calls)}, below the lowest "
                         f"trainable layer {lowest_layer.name!r}: no parameter there needs a gradient, so "
                         f"stop the loop after that layer (this is the work freezing saves).{detail}")
        updated = case["updated"]
        got_parameters = guarded.named_parameters()  # all of them, as data, in one request
        for name, value in model.named_parameters().items():
            got = got_parameters[name]
            if name in updated:
                mistake = _step_mistake(name, got, value, updated[name], learning_rate, model)
                if mistake is not None and not _matches(got, updated[name]):
                    _fail(name, mistake)
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


def _class_index_error(class_index, N):
    """Diagnosis of an error raised with this kind of class_index, or None."""
    def diagnose(error):
        if not isinstance(error, (TypeError, ValueError, IndexError)):
            return None
        if np.ndim(class_index) == 0:
            return (f"this case gives class_index={class_index!r}, a single int: the same class for every "
                    "sample. Handle an int and an array of N ints alike (np.arange(N) pairs each row "
                    "with its class; an int broadcasts).")
        return (f"this case gives class_index={np.asarray(class_index).tolist()}, an array of N = {N} "
                "ints, one class per sample: row n of the seed gets its 1 at column class_index[n] "
                "(np.arange(N) pairs each row with its class).")
    return diagnose


def _seed_mistake(got, case, N):
    """The usual wrong seed of the backward pass that gives `got`, as a sentence; or None."""
    dA, mistakes, class_index = case["dA"], case["mistakes"], case["class_index"]
    if not isinstance(got, np.ndarray) or got.shape != dA.shape or _matches(got, dA, rtol=1e-5, atol=1e-8):
        return None
    one_hot = "seed the backward pass with a one-hot row per sample: 1 at its class, 0 elsewhere"
    if N > 1 and _matches(got[:1], dA[:1], 1e-5, 1e-8) and not np.any(got[1:]) and np.any(dA[1:]):
        others = "the other sample" if N == 2 else f"the other {N - 1} samples"
        return (f"dA is right for sample 0 and zero for {others}: the seed needs its 1 in "
                "every row, at that sample's class.")
    if _is_sampled(got, mistakes["columns"], 1e-5, 1e-8):
        return (f"with class_index = {np.asarray(class_index).tolist()} your seed has a 1 in each of "
                "those columns in every row, so each dA[n] adds up the gradients of several classes: "
                "row n gets one 1, at column class_index[n].")
    if _is_sampled(got, mistakes["all_scores"], 1e-5, 1e-8):
        return f"dA is the gradient of the sum of ALL class scores (a seed of ones): {one_hot}."
    loss_gradient = mistakes["loss_gradient"]
    c = None if loss_gradient is None or got.shape != tuple(loss_gradient["shape"]) else \
        _factor(got.ravel()[loss_gradient["index"]], loss_gradient["values"], 1e-5)
    if c is not None:
        times = "" if _near(c, 1.0) else f" (times {c:.4g})"
        return (f"dA is the gradient of the softmax loss{times}, the seed you get from "
                f"softmax_loss(scores, class_index): Grad-CAM differentiates the class score itself, "
                f"not the loss, so {one_hot}.")
    if _is_sampled(got, mistakes["skipped_layer"], 1e-5, 1e-8):
        return (f"dA skips layer {case['skipped']!r}, the one right above {case['layer']!r}: run "
                "(and backpropagate through) every layer after `layer`, starting with the next one.")
    c = _factor(got, dA, 1e-5)
    if _near(c, 1.0 / N) and N > 1:
        return (f"dA is {N} times too small (N = {N}): each sample's own score gets a seed of 1, not "
                "1/N (the class scores are not averaged).")
    if _near(c, -1.0):
        return "dA has the wrong sign everywhere: the seed is +1 at the class (the score, not minus it)."
    return None


@verdict("nb04.class_score_gradient",
         forbid=["course_lib.transfer.class_score_gradient", "course_lib.transfer.grad_cam_maps"])
def class_score_gradient(case_data, student_gradient):
    """d s_{n, c_n} / d A[n] against centered finite differences of the layers above `layer`,
    then every entry against the case data."""
    for number, case in enumerate(case_data, 1):
        model, A, layer, class_index = _built(case["model"]), case["A"], case["layer"], case["class_index"]
        compare.case(number, A=A, layer=layer, class_index=class_index)
        N = A.shape[0]
        classes = np.broadcast_to(np.asarray(class_index), (N,))
        before = copy.deepcopy(model.state_dict())
        given_index = class_index.copy() if isinstance(class_index, np.ndarray) else class_index
        given_model = _model(case["model"])  # the student's own copy, in the runner
        got = _call(student_gradient, given_model, A.copy(), layer, given_index,
                    on_error=_class_index_error(class_index, N))
        mistake = _seed_mistake(got, case, N)
        if mistake is not None:
            _fail("dA", mistake)

        def summed_class_scores(A_nudged):
            # sample n's score depends on A[n] only, so the sum's gradient is per-sample
            return float(_scores_above(model, A_nudged, layer)[np.arange(N), classes].sum())
        compare.gradient("dA", got, summed_class_scores, A, batch_size=N)
        compare.array("dA", got, case["dA"], batch_size=N)
        after = given_model.state_dict()
        compare.true(after.keys() == before.keys() and all(np.array_equal(after[k], before[k]) for k in before),
                     "class_score_gradient changed the model's parameters.")


def _weights_mistake(weights, case):
    """The usual mistake behind wrong channel weights, as a sentence; or None."""
    expected, A = case["weights"], case["A"]
    N, F, H, W = A.shape
    if not isinstance(weights, np.ndarray) or _matches(weights, expected, 1e-5, 1e-8):
        return None
    if weights.shape == (F,) and (N, F) != (F,):
        return (f"weights has shape (F,) = {(F,)}: you averaged over the samples (axis 0) too. Each "
                "sample has its own weights: average over the positions (axes 2 and 3) only, shape (N, F).")
    if weights.shape == (N, H, W) and (N, H, W) != (N, F):
        return (f"weights has shape (N, H', W') = {(N, H, W)}: you averaged over the channels (axis 1); "
                "α_k is the average over the positions (axes 2 and 3), shape (N, F).")
    if _matches(weights, case["mistakes"]["weights_of_A"]):
        return "your weights are the spatial means of A; α_k averages the gradient dA over the positions."
    c = _factor(weights, expected, 1e-4)
    if _near(c, H * W, 1e-3) and H * W > 1:
        return (f"weights is H'·W' = {H}·{W} = {H * W} times too large: you summed dA over the positions; "
                "α_k is their mean.")
    return None


def _cam_mistake(cam, case):
    """The usual mistake behind a wrong map, as a sentence; or None."""
    expected, mistakes = case["cam"], case["mistakes"]
    N, F, H, W = case["A"].shape
    if not isinstance(cam, np.ndarray) or _matches(cam, expected, 1e-5, 1e-8):
        return None
    if (cam.shape == (F, H, W) and (F, H, W) != expected.shape) or _matches(
            cam, mistakes["summed_over_samples"], 1e-5, 1e-8):
        return (f"cam has shape (F, H', W') = {(F, H, W)} and sums over the samples (axis 0): sum the "
                "weighted maps over the channels (axis 1), one map per sample.")
    if cam.shape == (N, F, H, W):
        return ("cam still has the channel axis, shape (N, F, H', W'): sum the weighted maps α_k A_k over "
                "the channels (axis 1), then apply the ReLU.")
    if cam.shape != expected.shape:
        return None
    if _matches(cam, mistakes["relu_per_channel"], 1e-5, 1e-8) or _matches(cam, mistakes["relu_on_weights"], 1e-5, 1e-8):
        return ("your ReLU comes before the sum over channels (on each α_k A_k, or on the weights): "
                "sum the weighted maps first, then apply one ReLU to the sum.")
    if np.any(cam < 0):
        return ("cam has negative entries: Grad-CAM keeps only the evidence FOR the class, "
                "apply a ReLU to the weighted sum of the feature maps.")
    if _matches(cam, mistakes["gradient_times_activation"], 1e-5, 1e-8):
        return ("your map multiplies A by dA position by position (gradient × activation, the variant "
                "the notebook shows next): Grad-CAM weighs each whole map A_k by one number, α_k.")
    factors = [_factor(cam[n], expected[n], 1e-5) if np.any(expected[n]) else (1.0 if not np.any(cam[n]) else None)
               for n in range(N)]
    if all(f is not None and f > 0 for f in factors) and not all(_near(f, 1.0) for f in factors):
        return ("your maps are rescaled (each divided by its maximum?): return ReLU(Σ_k α_k A_k) itself; "
                "scaling to [0, 1] is only for display.")
    return None


@verdict("nb04.grad_cam", forbid=["course_lib.transfer.grad_cam", "course_lib.transfer.grad_cam_maps"])
def grad_cam(case_data, student_grad_cam):
    """Channel weights = spatial mean of dA; map = ReLU(sum_k weight_k A_k), dA by finite differences."""
    for number, case in enumerate(case_data, 1):
        A, dA = case["A"], case["dA"]
        compare.case(number, A=A, layer=case["layer"], class_index=case["class_index"])
        result = student_grad_cam(A.copy(), dA.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"grad_cam must return a tuple (weights, cam), got {type(result).__name__}")
        weights, cam = result
        mistake = _weights_mistake(weights, case)
        if mistake is not None:
            _fail("weights", mistake)
        compare.array("weights", weights, case["weights"], rtol=1e-5, atol=1e-8)
        mistake = _cam_mistake(cam, case)
        if mistake is not None:
            _fail("cam", mistake)
        compare.array("cam", cam, case["cam"], rtol=1e-5, atol=1e-8)
