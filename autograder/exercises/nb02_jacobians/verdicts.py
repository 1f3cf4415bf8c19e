"""Verdicts of notebook 02's exercises (student side): the student's answers against the case data.

Every expected value, and every array a diagnosis compares against, comes from the case
data (cases.py). Finite-difference checks differentiate the student's own forward.
"""
import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict
from course_lib.datasets import load_fashion_mnist, train_val_split


def _unchanged(name, given, original, fix="compute new arrays instead of assigning into "
                                           "the arguments"):
    compare.true(np.array_equal(given, original),
                 f"your code changed its input `{name}` in place; the caller still needs it: {fix}.")


# ---------------------------------------------------------------------------- Jacobian

def _softmax_of_vector(v):
    exponentials = np.exp(v - v.max())
    return exponentials / exponentials.sum()


def _vector_function(spec):
    """The function y = f(x) a case describes as {"kind": ..., (its matrix "W")}."""
    kind = spec["kind"]
    if kind == "linear":
        W = spec["W"]
        return lambda v: W @ v
    if kind == "tanh_linear":
        W = spec["W"]
        return lambda v: np.tanh(W @ v)
    if kind == "square":
        return lambda v: v**2
    if kind == "mixed":
        return lambda v: np.array([v[0] * v[1], np.sin(v[2]), v.sum(), np.exp(v[1])])
    if kind == "softmax":
        return _softmax_of_vector
    raise ValueError(f"unknown vector function {kind!r}: the case data does not match this "
                     "version of the grader; tell your instructor.")


@verdict("nb02.numerical_jacobian")
def numerical_jacobian(case_data, student_numerical_jacobian):
    """Centered-difference Jacobian in numerator layout, x left unchanged."""
    for number, case in enumerate(case_data, 1):
        x, expected, rtol = case["x"], case["J"], case["rtol"]
        f = _vector_function(case["f"])
        compare.case(number, f=case["description"], x=x)
        given = x.copy()
        got = student_numerical_jacobian(f, given)
        _unchanged("x", given, x, "evaluate f at new arrays such as x + step and x - step")
        if (isinstance(got, np.ndarray) and got.shape == expected.shape
                and not np.allclose(got, expected, rtol=rtol, atol=1e-8)
                and np.allclose(got, case["one_sided_J"], rtol=1e-6, atol=1e-9)):
            compare.true(False, "J matches the ONE-SIDED difference (f(x + h e_n) - f(x)) / h. "
                                "Use the centered difference (f(x + h e_n) - f(x - h e_n)) / (2h).")
        if (isinstance(got, np.ndarray) and got.shape != expected.shape
                and got.shape == expected.shape[::-1]
                and np.allclose(got.T, expected, rtol=rtol, atol=1e-8)):
            compare.true(False, f"J has shape {got.shape} = (N, M): that is the other layout. In this "
                                "notebook row m holds the derivatives of output y_m, so J has shape "
                                "(M, N) and J[m, n] = dy_m / dx_n: fill COLUMN n with the "
                                "change of y when x_n moves.")
        compare.array("J", got, expected, rtol=rtol, atol=1e-8)


# ---------------------------------------------------------------------------- ReLU backward

@verdict("nb02.relu_backward", forbid=["course_lib.layers.relu_backward",
                                       "course_lib.layers.leaky_relu_backward"])
def relu_backward(case_data, student_relu_backward):
    """dx = dout where x > 0, else 0 (also at exactly x = 0); inputs untouched."""
    for number, case in enumerate(case_data, 1):
        x, dout, expected = case["x"], case["dout"], case["dx"]
        compare.case(number, x=x, dout=dout)
        x_given, dout_given = x.copy(), dout.copy()
        got = student_relu_backward(dout_given, x_given)
        _unchanged("dout", dout_given, dout, "return a new array, e.g. dout * mask or np.where(...), "
                   "instead of zeroing entries of dout")
        _unchanged("cache (x)", x_given, x)
        if (isinstance(got, np.ndarray) and got.shape == x.shape and not np.allclose(got, expected)
                and np.allclose(got, case["relu_of_dout"])):
            compare.true(False, "dx is ReLU applied to dout: the mask must come from the forward's "
                                "input x (the cache), not from the sign of the upstream gradient. "
                                "Pass dout through where x > 0.")
        if isinstance(got, np.ndarray) and got.shape == x.shape and np.any(x == 0):
            at_zero = x == 0
            if np.allclose(got[~at_zero], expected[~at_zero]) and not np.allclose(got, expected):
                compare.true(False, "dx is right except where x is exactly 0: this course takes the "
                                    "slope of ReLU at 0 as 0, so mask with x > 0 (not x >= 0).")
        compare.array("dx", got, expected)


# ---------------------------------------------------------------------------- matmul backward

@verdict("nb02.matmul_backward")
def matmul_backward(case_data, student_matmul_backward):
    """dx = dy w^T and dw = x^T dy for y = x w."""
    for number, case in enumerate(case_data, 1):
        x, w, dy = case["x"], case["w"], case["dy"]
        compare.case(number, x=x, w=w, dy=dy)
        result = student_matmul_backward(dy.copy(), x.copy(), w.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"matmul_backward must return the tuple (dx, dw), got {type(result).__name__}")
        dx, dw = result
        compare.array("dx", dx, case["dx"])
        compare.array("dw", dw, case["dw"], batch_size=x.shape[0], terms=case["dw_terms"])


# ---------------------------------------------------------------------------- affine

@verdict("nb02.affine", forbid=["course_lib.layers.affine_forward",
                                "course_lib.layers.affine_backward"])
def affine(case_data, student_forward, student_backward):
    """Forward against the expected out; backward (on the student's own cache) against the
    expected gradients and centered differences of the student's forward; inputs
    (N, d_1, ..., d_k) of several ranks."""
    for number, case in enumerate(case_data, 1):
        x, w, b, dout = case["x"], case["w"], case["b"], case["dout"]
        compare.case(number, x=x, w=w, b=b)
        x_given, w_given, b_given = x.copy(), w.copy(), b.copy()
        result = student_forward(x_given, w_given, b_given)
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"affine_forward must return (out, cache), got {type(result).__name__}")
        out, cache = result
        compare.array("out", out, case["out"])
        grads = student_backward(dout.copy(), cache)
        for name, given, original in [("x", x_given, x), ("w", w_given, w), ("b", b_given, b)]:
            _unchanged(name, given, original)
        compare.true(isinstance(grads, tuple) and len(grads) == 3,
                     f"affine_backward must return (dx, dw, db), got {type(grads).__name__}")
        N = x.shape[0]
        terms = {"dx": None, "dw": case["dw_terms"], "db": dout}
        for name, got in zip(("dx", "dw", "db"), grads):
            compare.array(name, got, case[name], batch_size=N, terms=terms[name])
        compare.gradient("dx", grads[0], lambda v: student_forward(v.copy(), w.copy(), b.copy())[0],
                         x, dout)


# ---------------------------------------------------------------------------- losses

def _check_loss(name, student_loss, case, explain_dx=None):
    """Compare (loss, dx) with the case's; explain_dx(dx, case) may name a mistake first."""
    x, y = case["x"], case["y"]
    N = x.shape[0]
    x_given, y_given = x.copy(), y.copy()
    result = student_loss(x_given, y_given)
    _unchanged("x", x_given, x)
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"{name} must return the tuple (loss, dx), got {type(result).__name__}")
    loss, dx = result
    if explain_dx is not None:
        explain_dx(dx, case)
    compare.scalar("loss", loss, case["loss"], batch_size=N)
    compare.array("dx", dx, case["dx"], batch_size=N)


def _explain_softmax_gradient(got, case):
    """Name the usual incomplete softmax gradients when one of them is what the student returned."""
    x, expected, probs = case["x"], case["dx"], case["probs"]
    if not isinstance(got, np.ndarray) or got.shape != x.shape or np.allclose(got, expected):
        return
    N = x.shape[0]
    for candidate, what in [(probs, "the probabilities themselves"),
                            (probs / N, "the probabilities divided by N")]:
        if np.allclose(got, candidate):
            compare.true(False, f"dx is {what}: the gradient of -log P(y_i) is P - 1 at the correct "
                                "class (P elsewhere), averaged over the N samples: "
                                "(P - one_hot(y)) / N.")


@verdict("nb02.softmax_loss", forbid=["course_lib.layers.softmax_loss"])
def softmax_loss(case_data, student_softmax_loss):
    """Mean cross-entropy of softmax(x) and its gradient, finite for logits of +-1000."""
    for number, case in enumerate(case_data, 1):
        x, y = case["x"], case["y"]
        compare.case(number, x=x, y=y)
        _check_loss("softmax_loss", student_softmax_loss, case,
                    explain_dx=_explain_softmax_gradient)
        if np.abs(x).max() < 50:
            compare.gradient("dx", student_softmax_loss(x.copy(), y.copy())[1],
                             lambda v: student_softmax_loss(v.copy(), y.copy())[0], x,
                             batch_size=x.shape[0])


@verdict("nb02.svm_loss", forbid=["course_lib.layers.svm_loss"])
def svm_loss(case_data, student_svm_loss):
    """Mean multiclass hinge loss (margin 1, correct class excluded) and its gradient."""
    for number, case in enumerate(case_data, 1):
        x, y = case["x"], case["y"]
        compare.case(number, x=x, y=y)
        result = student_svm_loss(x.copy(), y.copy())
        if isinstance(result, tuple) and len(result) == 2:
            loss = result[0]
            if isinstance(loss, (float, np.floating)) and abs(loss - (case["loss"] + 1.0)) < 1e-9:
                compare.true(False, "loss is exactly 1 too large: the correct class was compared "
                                    "with itself (its margin max(0, s_y - s_y + 1) = 1 counts once "
                                    "per example). Leave j = y_i out of the sum.")
        _check_loss("svm_loss", student_svm_loss, case)


# ---------------------------------------------------------------------------- two-layer net

@verdict("nb02.two_layer_net_loss", forbid=[
    "course_lib.layers.affine_forward", "course_lib.layers.affine_backward",
    "course_lib.layers.relu_forward", "course_lib.layers.relu_backward",
    "course_lib.layers.softmax_loss"])
def two_layer_net_loss(case_data, student_loss):
    """Loss and the four parameter gradients against the case's, and against finite
    differences of the student's own loss."""
    for number, case in enumerate(case_data, 1):
        X, y, params, reg = case["X"], case["y"], case["params"], case["reg"]
        expected_grads = case["grads"]
        compare.case(number, X=X, y=y, reg=reg)
        given = {k: v.copy() for k, v in params.items()}
        result = student_loss(X.copy(), y.copy(), given, reg)
        for key in params:
            _unchanged(f"params['{key}']", given[key], params[key])
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"two_layer_net_loss must return (loss, grads), got {type(result).__name__}")
        loss, grads = result
        compare.scalar("loss", loss, case["loss"], batch_size=X.shape[0])
        compare.true(isinstance(grads, dict) and set(grads) >= set(params),
                     "grads must be a dict with the keys 'W1', 'b1', 'W2', 'b2', got "
                     f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
        for key in ("W2", "b2", "W1", "b1"):
            _explain_net_gradient(key, grads[key], case)
            compare.array(f"grads['{key}']", grads[key], expected_grads[key], batch_size=X.shape[0])

            def loss_of(value, key=key):
                trial = {k: v.copy() for k, v in params.items()}
                trial[key] = value.copy()
                return student_loss(X.copy(), y.copy(), trial, reg)[0]
            compare.gradient(f"grads['{key}']", grads[key], loss_of, params[key])


def _explain_net_gradient(key, got, case):
    """Name the two usual mistakes of the two-layer backward pass when they explain `got`."""
    expected, params, reg = case["grads"][key], case["params"], case["reg"]
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or np.allclose(got, expected):
        return
    if key in ("W1", "W2") and reg > 0 and np.allclose(got, expected - reg * params[key]):
        compare.true(False, f"grads['{key}'] lacks the regularization term: the loss adds "
                            f"0.5 * reg * sum({key}**2), whose gradient is reg * {key}.")
    if key in ("W1", "b1"):
        unmasked = case["unmasked_grads"][key]
        if np.allclose(got, unmasked) or (key == "W1" and np.allclose(got, unmasked - reg * params[key])):
            compare.true(False, f"grads['{key}'] comes from a backward pass without the ReLU mask: "
                                "multiply the gradient reaching the hidden layer by (hidden > 0) "
                                "before the first affine layer's backward.")


# ---------------------------------------------------------------------------- SGD + momentum

@verdict("nb02.sgd_momentum", forbid=["course_lib.optim.sgd_momentum"])
def sgd_momentum(case_data, student_update):
    """Several consecutive steps with the config passed back, against the case's weights."""
    w, grads = case_data["w"], case_data["grads"]
    for number, run in enumerate(case_data["runs"], 1):
        start_config = run["config"]
        label = "defaults (config=None)" if start_config is None else start_config
        compare.case(number, w=w, config=label)
        student_w = w.copy()
        student_config = None if start_config is None else dict(start_config)
        for step, (dw, expected) in enumerate(zip(grads, run["steps"]), 1):
            w_given, dw_given = student_w.copy(), dw.copy()
            result = student_update(w_given, dw_given, student_config)
            _unchanged("w", w_given, student_w, "return w + velocity, a new array, instead of "
                       "updating w with +=")
            _unchanged("dw", dw_given, dw)
            compare.true(isinstance(result, tuple) and len(result) == 2,
                         f"sgd_momentum must return (next_w, config), got {type(result).__name__}")
            next_w, student_config = result
            compare.true(isinstance(student_config, dict),
                         f"sgd_momentum must return its config dict, got {type(student_config).__name__}")
            expected_w = expected["next_w"]
            if step > 1 and isinstance(next_w, np.ndarray) and next_w.shape == w.shape:
                no_memory = student_w - run["learning_rate"] * dw
                if np.allclose(next_w, no_memory) and not np.allclose(next_w, expected_w):
                    compare.true(False, f"step {step}: next_w is a plain SGD step — the velocity "
                                        "from the previous step was lost. Store the new velocity in "
                                        "config['velocity'] so the next call can build on it.")
            if isinstance(next_w, np.ndarray) and next_w.shape == w.shape:
                _explain_momentum_step(step, next_w, student_w, student_config, run, expected)
            compare.array(f"next_w after step {step}", next_w, expected_w)
            student_w = np.array(next_w, dtype=np.float64)


def _explain_momentum_step(step, next_w, w, student_config, run, expected):
    """Name a momentum other than config['momentum'] (typically a hard-coded 0.9)."""
    velocity = student_config.get("velocity") if isinstance(student_config, dict) else None
    # at step 1 the velocity starts at 0, so every momentum takes the same step
    if step == 1 or np.allclose(next_w, expected["next_w"]) or not isinstance(velocity, np.ndarray):
        return
    step_taken = next_w - w
    for rho, step_with_rho in expected["other_momenta"]:
        if np.allclose(step_taken, step_with_rho):
            compare.true(False, f"step {step}: the update used momentum {rho:g}, but config asks "
                                f"for {run['momentum']:g}: read config['momentum'] (set its default "
                                "with config.setdefault).")


# ---------------------------------------------------------------------------- training result

def _accuracy(params, X, y):
    hidden = np.maximum(X.reshape(X.shape[0], -1) @ params["W1"] + params["b1"], 0.0)
    return float(np.mean(np.argmax(hidden @ params["W2"] + params["b2"], axis=1) == y))


@verdict("nb02.training_result", timeout=60)
def training_result(case_data, trained_params):
    """Re-evaluate the trained two-layer net on held-out images (never the student's number)."""
    settings = case_data
    compare.case("your trained two-layer net")
    compare.true(isinstance(trained_params, dict),
                 f"trained_params must be a dict with W1, b1, W2, b2, got {type(trained_params).__name__}")
    missing = [k for k in ("W1", "b1", "W2", "b2") if k not in trained_params]
    compare.true(not missing, f"trained_params is missing {missing}: run the training cell above.")
    params = {k: np.asarray(trained_params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")}
    H = params["W1"].shape[-1] if params["W1"].ndim == 2 else -1
    D, C = settings["input_dim"], settings["num_classes"]
    expected_shapes = {"W1": (D, H), "b1": (H,), "W2": (H, C), "b2": (C,)}
    for key, shape in expected_shapes.items():
        compare.true(params[key].shape == shape, f"trained_params['{key}'] has shape "
                     f"{params[key].shape}, expected {shape} (a {D} - H - {C} two-layer net).")
        compare.true(bool(np.all(np.isfinite(params[key]))),
                     f"trained_params['{key}'] contains NaN or inf: the training diverged "
                     "(learning rate too high?).")
    max_hidden = settings["max_hidden_dim"]
    compare.true(H <= max_hidden, f"the hidden layer has {H} units; the time budget allows "
                                  f"at most {max_hidden}.")
    data = load_fashion_mnist()
    validation_size = settings["validation_size"]
    _, _, X_val, y_val = train_val_split(data["X_train"], data["y_train"], validation_size,
                                         seed=settings["split_seed"])
    val_acc = _accuracy(params, X_val, y_val)
    threshold = settings["validation_threshold"]
    compare.true(val_acc >= threshold,
                 f"validation accuracy {val_acc:.3f}, below the required {threshold:.2f} "
                 f"(measured by the grader on the {validation_size} validation images). Revisit the "
                 "learning rate first (section 7), then momentum, epochs and batch size.")
    if settings["measure_test_set"]:
        compare.case("your trained two-layer net on the shipped test images")
        test_acc = _accuracy(params, data["X_test"], data["y_test"])
        compare.true(test_acc >= settings["test_threshold"],
                     f"accuracy on the {len(data['y_test'])} shipped test images is {test_acc:.3f}, "
                     f"below {settings['test_threshold']:.2f}, although validation accuracy is "
                     f"{val_acc:.3f}: the model fits the validation images much better than unseen ones.")
    return 1 + int(settings["measure_test_set"])
