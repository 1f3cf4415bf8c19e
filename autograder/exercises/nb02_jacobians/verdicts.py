"""Verdicts of notebook 02's exercises (student side): the student's answers against the case data.

Every expected value, and every array a diagnosis compares against, comes from the case
data (cases.py). Finite-difference checks differentiate the student's own forward.
"""
import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict
from autograder.check.remote import in_runner
from course_lib.datasets import load_fashion_mnist, train_val_split


def _unchanged(name, given, original, fix="compute new arrays instead of assigning into "
                                           "the arguments"):
    compare.true(np.array_equal(given, original),
                 f"your code changed its input `{name}` in place; the caller still needs it: {fix}.")


def _is_close(got, candidate, rtol=1e-6, atol=1e-9):
    """True when `got` (anything) equals the array or number `candidate` within the tolerance."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    candidate = np.asarray(candidate, dtype=np.float64)
    return (got.shape == candidate.shape and bool(np.all(np.isfinite(got)))
            and np.allclose(got, candidate, rtol=rtol, atol=atol))


def _name_mistake(got, expected, mistakes, rtol=1e-6, atol=1e-9, match=None):
    """Fail with the message of the first (candidate, message) in `mistakes` that `got` equals,
    unless `got` is right (within rtol, atol). A candidate is what that mistake returns on the
    case's inputs (from the case data), so the diagnosis names the mistake itself, not a
    symptom. match: (rtol, atol) for "equals a candidate", default the same tolerance."""
    if _is_close(got, expected, rtol, atol):
        return
    match_rtol, match_atol = match or (rtol, atol)
    for candidate, message in mistakes:
        if candidate is not None and not _is_close(candidate, expected, rtol, atol) \
                and _is_close(got, candidate, match_rtol, match_atol):
            compare.true(False, message)


# ---------------------------------------------------------------------------- Jacobian

def softmax_of_vector(v):
    exponentials = np.exp(v - v.max())
    return exponentials / exponentials.sum()


@in_runner
def vector_function(spec):
    """The function y = f(x) a case describes as {"kind": ..., (its matrix "W")}; made in the
    runner, where the student's code calls it. cases.py builds its diagnosis arrays with it too."""
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
        return softmax_of_vector
    raise ValueError(f"unknown vector function {kind!r}: the case data does not match this "
                     "version of the grader; tell your instructor.")


@verdict("nb02.numerical_jacobian")
def numerical_jacobian(case_data, student_numerical_jacobian):
    """Centered-difference Jacobian in numerator layout, x left unchanged."""
    for number, case in enumerate(case_data, 1):
        x, expected, rtol = case["x"], case["J"], case["rtol"]
        f = vector_function(case["f"])
        compare.case(number, f=case["description"], x=x)
        given = x.copy()
        got = student_numerical_jacobian(f, given)
        _unchanged("x", given, x, "evaluate f at new arrays such as x + step and x - step")
        _name_mistake(got, expected, [
            (case["one_sided_J"], "J matches the ONE-SIDED difference (f(x + h e_n) - f(x)) / h. "
                                  "Use the centered difference (f(x + h e_n) - f(x - h e_n)) / (2h)."),
            (2 * expected, "J is exactly twice the Jacobian: the centered difference spans from "
                           "x - h e_n to x + h e_n, a distance of 2h, so divide by 2h, not by h."),
            (case["all_at_once_J"], "every column of J is the same: you moved ALL entries of x by h "
                                    "at once (x + h). Move only x_n: add h e_n, a vector that is h "
                                    "at index n and 0 elsewhere."),
        ], rtol=rtol, atol=1e-8, match=(1e-7, 1e-8))
        if (isinstance(got, np.ndarray) and got.shape != expected.shape
                and got.shape == expected.shape[::-1]
                and np.allclose(got.T, expected, rtol=rtol, atol=1e-8)):
            compare.true(False, f"J has shape {got.shape} = (N, M): that is the other layout. In this "
                                "notebook row m holds the derivatives of output y_m, so J has shape "
                                "(M, N) and J[m, n] = dy_m / dx_n: fill COLUMN n with the "
                                "change of y when x_n moves.")
        if (isinstance(got, np.ndarray) and got.shape == expected.shape and np.any(got != 0)
                and np.allclose(got * 1e10, expected, rtol=1e-3, atol=1e-6)):
            compare.true(False, "J is h**2 = 1e-10 times the Jacobian: `(...) / 2 * h` divides by 2 "
                                "and then MULTIPLIES by h. Write / (2 * h).")
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
        wrong = case["mistakes"]
        _name_mistake(got, expected, [
            (case["relu_of_dout"], "dx is ReLU applied to dout: the mask must come from the forward's "
                                   "input x (the cache), not from the sign of the upstream gradient. "
                                   "Pass dout through where x > 0."),
            (wrong["mask_only"], "dx is the mask (1 where x > 0) itself: the upstream gradient is "
                                 "missing. dx is dout where x > 0, and 0 elsewhere."),
            (wrong["times_x"], "dx is dout * x: the local slope of ReLU is 1 where x > 0 (and 0 "
                               "elsewhere), not x. Multiply dout by the mask, not by the input."),
            (wrong["times_relu_x"], "dx is dout * max(0, x), the upstream gradient times the forward's "
                                    "OUTPUT: the local slope is 1 where x > 0, not the output value. "
                                    "Multiply dout by the mask (x > 0)."),
            (wrong["inverted"], "dx lets the gradient through where x <= 0 and stops it where x > 0: "
                                "the mask is the wrong way round."),
            (wrong["inverted_strict"], "dx lets the gradient through where x < 0 and stops it where "
                                       "x > 0: the mask is the wrong way round."),
        ])
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
        if (_is_close(dx, case["dw"]) and _is_close(dw, case["dx"])) \
                or (_is_close(dx, case["dw"].T) and _is_close(dw, case["dx"].T)):
            compare.true(False, "your dx holds the values of dw and your dw those of dx: return them "
                                "in the order (dx, dw), the order of the forward's arguments x, w.")
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
        wrong = case["mistakes"]
        _name_mistake(out, case["out"], [
            (wrong["out_without_b"], "out is x w without the bias: add b (shape (M,), broadcast to "
                                     "every row).")])
        compare.array("out", out, case["out"])
        grads = student_backward(dout.copy(), cache)
        for name, given, original in [("x", x_given, x), ("w", w_given, w), ("b", b_given, b)]:
            _unchanged(name, given, original)
        compare.true(isinstance(grads, tuple) and len(grads) == 3,
                     f"affine_backward must return (dx, dw, db), got {type(grads).__name__}")
        N = x.shape[0]
        db = grads[2]
        if np.ndim(db) == 0 and _is_close(db, wrong["db_total"]):
            compare.true(False, "db is one number, the sum of ALL entries of dout: b has one entry per "
                                "output, so sum over the batch only (axis 0), keeping shape (M,).")
        if N != b.shape[0] and _is_close(db, wrong["db_over_outputs"]):
            compare.true(False, f"db has shape ({N},): you summed dout over the outputs (axis 1). Each "
                                "b_m collects the gradient of every SAMPLE: sum over axis 0, shape (M,).")
        terms = {"dx": None, "dw": case["dw_terms"], "db": dout}
        for name, got in zip(("dx", "dw", "db"), grads):
            compare.array(name, got, case[name], batch_size=N, terms=terms[name])
        compare.gradient("dx", grads[0], lambda v: student_forward(v.copy(), w.copy(), b.copy())[0],
                         x, dout)


# ---------------------------------------------------------------------------- losses

def _check_loss(name, student_loss, case, loss_mistakes=(), dx_mistakes=()):
    """Compare (loss, dx) with the case's, after naming any of the mistakes: lists of
    (what that mistake returns, message)."""
    x, y = case["x"], case["y"]
    N = x.shape[0]
    x_given, y_given = x.copy(), y.copy()
    result = student_loss(x_given, y_given)
    _unchanged("x", x_given, x)
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"{name} must return the tuple (loss, dx), got {type(result).__name__}")
    loss, dx = result
    _name_mistake(dx, case["dx"], dx_mistakes)
    _name_mistake(loss, case["loss"], loss_mistakes, rtol=1e-9, atol=1e-12)
    compare.scalar("loss", loss, case["loss"], batch_size=N)
    compare.array("dx", dx, case["dx"], batch_size=N)


def _softmax_mistakes(case):
    """(loss mistakes, dx mistakes) of softmax_loss as (candidate, message) lists."""
    probs, N = case["probs"], case["x"].shape[0]
    losses, gradients = case["wrong_losses"], case["wrong_dx"]
    gradient_rule = ("the gradient of -log P(y_i) is P - 1 at the correct class (P elsewhere), "
                     "averaged over the N samples: (P - one_hot(y)) / N.")
    every_row = ("you indexed with [:, y], which picks the labels of ALL samples in every row; "
                 "pick one entry per row with [np.arange(N), y].")
    loss_mistakes = [
        (losses["every_row_every_label"], "loss averages -log P over every row AND every label: " + every_row),
        (losses["no_log_sum_exp"], "loss is the mean of -(s_y - max s): the log of the sum of the "
                                   "exponentials (the softmax's normaliser) is missing; "
                                   "log P(y) = s_y - max s - log sum_j exp(s_j - max s)."),
        (losses["all_classes"], "loss averages -log P over all N x C entries: only the correct "
                                "class counts, -log P(y_i | x_i), averaged over the N samples."),
        (losses["all_classes_summed"], "loss sums -log P over every class: only the correct class "
                                       "counts, -log P(y_i | x_i), averaged over the N samples."),
    ]
    dx_mistakes = [
        (probs, "dx is the probabilities themselves: " + gradient_rule),
        (probs / N, "dx is the probabilities divided by N: " + gradient_rule),
        (gradients["one_hot_added"], "dx ADDS 1 at the correct class: " + gradient_rule),
        (gradients["every_row_every_label"], "dx subtracts 1 in every row at the columns of all the "
                                             "labels: " + every_row),
    ]
    return loss_mistakes, dx_mistakes


@verdict("nb02.softmax_loss", forbid=["course_lib.layers.softmax_loss"])
def softmax_loss(case_data, student_softmax_loss):
    """Mean cross-entropy of softmax(x) and its gradient, finite for logits of +-1000."""
    for number, case in enumerate(case_data, 1):
        x, y = case["x"], case["y"]
        compare.case(number, x=x, y=y)
        loss_mistakes, dx_mistakes = _softmax_mistakes(case)
        _check_loss("softmax_loss", student_softmax_loss, case, loss_mistakes, dx_mistakes)
        if np.abs(x).max() < 50:
            compare.gradient("dx", student_softmax_loss(x.copy(), y.copy())[1],
                             lambda v: student_softmax_loss(v.copy(), y.copy())[0], x,
                             batch_size=x.shape[0])


def _svm_mistakes(case):
    """(loss mistakes, dx mistakes) of svm_loss as (candidate, message) lists."""
    losses, gradients = case["wrong_losses"], case["wrong_dx"]
    correct_rule = ("each violated margin j adds +1 at class j and -1 at the correct class, so the "
                    "correct class collects MINUS the number of violated margins (then / N).")
    loss_mistakes = [
        (case["loss"] + 1.0, "loss is exactly 1 too large: the correct class was compared with itself "
                             "(its margin max(0, s_y - s_y + 1) = 1 counts once per example). "
                             "Leave j = y_i out of the sum."),
        (losses["no_margin"], "loss is the hinge without the margin, max(0, s_j - s_y): the SVM asks "
                              "for a margin of 1, max(0, s_j - s_y + 1)."),
    ]
    dx_mistakes = [
        (gradients["correct_sign_flipped"], "dx is right except at the correct class, where its sign "
                                            "is flipped (+count instead of -count): " + correct_rule),
        (gradients["correct_left_out"], "dx is 0 at the correct class: " + correct_rule),
        (gradients["correct_minus_one"], "dx is -1 at the correct class whatever the number of "
                                         "violated margins: " + correct_rule),
        (gradients["ties_counted"], "dx counts margins that are exactly 0 (s_j - s_y + 1 = 0) as "
                                    "violated: there the slope is taken as 0, so use > 0, not >= 0."),
        (gradients["no_margin"], "dx counts a class as violating only when s_j > s_y: the margin of 1 "
                                 "is missing, a class violates when s_j - s_y + 1 > 0."),
    ]
    return loss_mistakes, dx_mistakes


@verdict("nb02.svm_loss", forbid=["course_lib.layers.svm_loss"])
def svm_loss(case_data, student_svm_loss):
    """Mean multiclass hinge loss (margin 1, correct class excluded, slope 0 at a margin of
    exactly 0) and its gradient."""
    for number, case in enumerate(case_data, 1):
        x, y = case["x"], case["y"]
        compare.case(number, x=x, y=y)
        loss_mistakes, dx_mistakes = _svm_mistakes(case)
        _check_loss("svm_loss", student_svm_loss, case, loss_mistakes, dx_mistakes)


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
        if reg > 0:
            data_loss = case["loss"] - case["reg_term"]
            _name_mistake(loss, case["loss"], [
                (data_loss, f"loss lacks the regularization term 0.5 * reg * (sum(W1**2) + sum(W2**2)) "
                            f"(reg = {reg:g} in this case)."),
                (data_loss + 2 * case["reg_term"], "loss has reg * (sum(W1**2) + sum(W2**2)): the "
                                                   "regularization term is HALF that, 0.5 * reg * (...)."),
            ], rtol=1e-9, atol=1e-12)
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
    """Name the usual mistakes of the two-layer backward pass when one of them explains `got`."""
    expected, reg, N = case["grads"][key], case["reg"], case["X"].shape[0]
    wrong = case["wrong_grads"]
    name = f"grads['{key}']"
    unmasked = case["unmasked_grads"].get(key)
    mistakes = [
        (unmasked, f"{name} comes from a backward pass without the ReLU mask: multiply the gradient "
                   "reaching the hidden layer by (hidden > 0) before the first affine layer's backward."),
        (unmasked - reg * case["params"][key] if key == "W1" else None,
         f"{name} comes from a backward pass without the ReLU mask (and lacks reg * W1): multiply "
         "the gradient reaching the hidden layer by (hidden > 0) before the first affine layer's "
         "backward."),
        (wrong["mask_from_upstream"].get(key),
         f"{name} uses a ReLU mask taken from the sign of the upstream gradient: the mask comes "
         "from the forward pass, where the hidden layer (before the ReLU) was > 0."),
        (wrong["W2_before_relu"].get(key),
         f"{name} multiplies dscores by the hidden layer BEFORE the ReLU: the second layer's input "
         "is the activated layer, max(0, hidden)."),
        (wrong["not_averaged"].get(key),
         f"the data part of {name} is N = {N} times too large: the loss is a MEAN over the batch, "
         "so the softmax gradient dscores is divided by N."),
    ]
    if reg > 0:
        term = f"0.5 * reg * sum({key}**2), whose gradient is reg * {key} (reg = {reg:g} here)"
        mistakes += [
            (wrong["reg_missing"].get(key), f"{name} lacks the regularization term: the loss adds {term}."),
            (wrong["reg_halved"].get(key), f"{name} has half the regularization gradient, "
                                           f"0.5 * reg * {key}: the loss adds {term} (the 2 of the "
                                           "square cancels the 0.5)."),
            (wrong["reg_doubled"].get(key), f"{name} has twice the regularization gradient: the loss "
                                            f"adds {term}."),
        ]
    _name_mistake(got, expected, mistakes)


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
            try:
                result = student_update(w_given, dw_given, student_config)
            except KeyError as error:
                if student_config is None and error.args and error.args[0] in ("learning_rate", "momentum"):
                    compare.true(False, f"called with config=None, your code raised KeyError: {error}. "
                                        "Fill in the missing hyperparameters first: "
                                        "config.setdefault('learning_rate', 1e-2) and "
                                        "config.setdefault('momentum', 0.9).")
                raise
            _unchanged("w", w_given, student_w, "return w + velocity, a new array, instead of "
                       "updating w with +=")
            _unchanged("dw", dw_given, dw)
            compare.true(isinstance(result, tuple) and len(result) == 2,
                         f"sgd_momentum must return (next_w, config), got {type(result).__name__}")
            next_w, student_config = result
            compare.true(isinstance(student_config, dict),
                         f"sgd_momentum must return its config dict, got {type(student_config).__name__}")
            _explain_momentum_step(step, next_w, student_config, run, expected)
            compare.array(f"next_w after step {step}", next_w, expected["next_w"])
            student_w = np.array(next_w, dtype=np.float64)


def _explain_momentum_step(step, next_w, student_config, run, expected):
    """Name the usual wrong update rules when one of them gives `next_w` (each candidate is one
    step of that rule from the right weights and velocity before this step)."""
    wrong = expected["wrong_next_w"]
    lr, rho = run["learning_rate"], run["momentum"]
    velocity_rule = f"v = {rho:g} * v - {lr:g} * dw, then next_w = w + v"
    mistakes = [
        (wrong["uphill"], f"step {step}: next_w moved UPHILL, along +dw: the step must go against "
                          f"the gradient. With this config: {velocity_rule}."),
        (wrong["plain_sgd"], f"step {step}: next_w is a plain SGD step — the velocity from the "
                             "previous step was lost. Store the new velocity in config['velocity'] "
                             "so the next call can build on it."),
        (wrong["momentum_sign"], f"step {step}: the old velocity was subtracted: momentum keeps "
                                 f"moving the same way, {velocity_rule}."),
        (wrong["average_of_gradients"], f"step {step}: the velocity is an average of gradients, "
                                        "rho * v + (1 - rho) * dw, scaled by the learning rate "
                                        f"afterwards; this course's momentum is {velocity_rule}."),
        (wrong["nesterov"], f"step {step}: next_w takes an extra look-ahead step (Nesterov's "
                            f"momentum); this exercise asks for plain momentum: {velocity_rule}."),
        (wrong.get("default_learning_rate"),
         f"step {step}: the update used the default learning rate 0.01, but config asks for "
         f"{lr:g}: read config['learning_rate'] (set its default with config.setdefault)."),
    ]
    velocity = student_config.get("velocity") if isinstance(student_config, dict) else None
    # at step 1 the velocity starts at 0, so every momentum takes the same step
    if step > 1 and isinstance(velocity, np.ndarray):
        w_before = expected["next_w"] - expected["velocity"]
        mistakes += [(w_before + step_with_rho,
                      f"step {step}: the update used momentum {other:g}, but config asks for "
                      f"{rho:g}: read config['momentum'] (set its default with config.setdefault).")
                     for other, step_with_rho in expected["other_momenta"]]
    _name_mistake(next_w, expected["next_w"], mistakes)


# ---------------------------------------------------------------------------- training result

def _accuracy(params, X, y):
    hidden = np.maximum(X.reshape(X.shape[0], -1) @ params["W1"] + params["b1"], 0.0)
    return float(np.mean(np.argmax(hidden @ params["W2"] + params["b2"], axis=1) == y))


@verdict("nb02.training_result", timeout=60)
def training_result(case_data, trained_params):
    """Re-evaluate the trained two-layer net on held-out images (never the student's number)."""
    settings = case_data
    compare.case("your trained two-layer net")
    compare.true(trained_params is not NotImplemented,
                 "there are no trained parameters yet: the training cell above did not finish. "
                 "It runs your training_config, two_layer_net_loss and sgd_momentum: whichever "
                 "its error names is not implemented yet.")
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
