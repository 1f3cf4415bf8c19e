"""Exercise checks of notebook 02 (Jacobians, losses, a two-layer net and its training).

nb02.numerical_jacobian   student(f, x, h=1e-5) -> J, shape (M, N), J[m, n] = dy_m/dx_n
                          for f mapping x, shape (N,), to y, shape (M,)
nb02.relu_backward        student(dout, cache) -> dx; cache = x from relu_forward
nb02.matmul_backward      student(dy, x, w) -> (dx, dw) for y = x @ w
nb02.affine               student affine_forward(x, w, b) -> (out, cache) and
                          affine_backward(dout, cache) -> (dx, dw, db)
nb02.softmax_loss         student(x, y) -> (loss, dx), mean over the N rows
nb02.svm_loss             student(x, y) -> (loss, dx), mean over the N rows
nb02.two_layer_net_loss   student(X, y, params, reg) -> (loss, grads) for
                          affine - relu - affine - softmax with 0.5 * reg * (|W1|² + |W2|²)
nb02.sgd_momentum         student(w, dw, config=None) -> (next_w, config)
nb02.training_result      trained_params {W1, b1, W2, b2}: accuracy on the notebook's
                          validation split (visible) and on the shipped test set (hidden)

Expected values come from course_lib's reference layers and optimizers, from the
lecture's worked numbers written out here, or from closed-form Jacobians.
"""
import numpy as np

from autograder.check import compare
from autograder.check.registry import exercise
from course_lib import layers, optim
from course_lib.datasets import load_fashion_mnist, train_val_split

# The notebook carves its validation set with exactly these numbers.
VALIDATION_SIZE = 1000
SPLIT_SEED = 0
VALIDATION_THRESHOLD = 0.82
TEST_THRESHOLD = 0.78
MAX_HIDDEN_DIM = 128


def _unchanged(name, given, original, fix="compute new arrays instead of assigning into "
                                           "the arguments"):
    compare.true(np.array_equal(given, original),
                 f"your code changed its input `{name}` in place; the caller still needs it: {fix}.")


# ---------------------------------------------------------------------------- Jacobian

def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def _jacobian_cases(rng, hidden):
    """(description, f, x, expected J of shape (M, N), rtol)."""
    if not hidden:
        W = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
        x = np.array([0.5, -1.0, 2.0])
        mixed_x = np.array([0.3, -0.7, 1.1])
        a, b, c = mixed_x
        mixed_J = np.array([[b, a, 0.0],
                            [0.0, 0.0, np.cos(c)],
                            [1.0, 1.0, 1.0],
                            [0.0, np.exp(b), 0.0]])
        return [
            ("y = W x with W (2, 3)", lambda v: W @ v, x, W, 1e-7),
            ("y = x**2 elementwise", lambda v: v**2, np.array([1.0, -2.0, 3.0, 0.5]),
             np.diag(2 * np.array([1.0, -2.0, 3.0, 0.5])), 1e-6),
            ("y = [x0 x1, sin x2, x0 + x1 + x2, exp x1]",
             lambda v: np.array([v[0] * v[1], np.sin(v[2]), v.sum(), np.exp(v[1])]),
             mixed_x, mixed_J, 1e-6),
        ]
    cases = []
    M, N = (int(s) for s in rng.integers(2, 6, size=2))
    W = rng.standard_normal((M, N))
    cases.append((f"y = W x with W {W.shape}", lambda v, W=W: W @ v, rng.standard_normal(N), W, 1e-7))
    M, N = (int(s) for s in rng.integers(2, 6, size=2))
    W = rng.standard_normal((M, N))
    x = rng.standard_normal(N)
    t = np.tanh(W @ x)
    cases.append((f"y = tanh(W x) with W {W.shape}", lambda v, W=W: np.tanh(W @ v), x,
                  (1 - t**2)[:, None] * W, 1e-6))
    N = int(rng.integers(3, 7))
    x = rng.standard_normal(N)
    p = _softmax(x)
    cases.append((f"y = softmax(x), N = {N}", _softmax, x, np.diag(p) - np.outer(p, p), 1e-6))
    return cases


def _one_sided_jacobian(f, x, h):
    y0 = np.asarray(f(x.copy()), dtype=np.float64)
    J = np.zeros((y0.size, x.size))
    for n in range(x.size):
        nudged = x.copy()
        nudged[n] += h
        J[:, n] = (np.asarray(f(nudged), dtype=np.float64) - y0) / h
    return J


@exercise("nb02.numerical_jacobian")
def numerical_jacobian(rng, hidden, student_numerical_jacobian):
    """Centered-difference Jacobian in numerator layout, x left unchanged."""
    for number, (description, f, x, expected, rtol) in enumerate(_jacobian_cases(rng, hidden), 1):
        compare.case(number, f=description, x=x)
        given = x.copy()
        got = student_numerical_jacobian(f, given)
        _unchanged("x", given, x, "evaluate f at new arrays such as x + step and x - step")
        if (isinstance(got, np.ndarray) and got.shape == expected.shape
                and not np.allclose(got, expected, rtol=rtol, atol=1e-8)
                and np.allclose(got, _one_sided_jacobian(f, x, 1e-5), rtol=1e-6, atol=1e-9)):
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

@exercise("nb02.relu_backward", forbid=["course_lib.layers.relu_backward",
                                        "course_lib.layers.leaky_relu_backward"])
def relu_backward(rng, hidden, student_relu_backward):
    """dx = dout where x > 0, else 0 (also at exactly x = 0); inputs untouched."""
    if hidden:
        shapes = [(int(rng.integers(3, 9)),), (int(rng.integers(2, 5)), int(rng.integers(2, 6))),
                  (2, int(rng.integers(1, 4)), 3, 3)]
        cases = []
        for shape in shapes:
            x = rng.standard_normal(shape)
            x.flat[rng.choice(x.size, size=max(1, x.size // 5), replace=False)] = 0.0
            cases.append((x, rng.standard_normal(shape)))
    else:
        cases = [(np.array([1.0, -2.0, 3.0, -1.0]), np.array([4.0, -1.0, 5.0, 9.0])),
                 (np.array([[0.5, 0.0, -0.3], [-2.0, 1.5, 0.0]]),
                  np.array([[-1.0, 2.0, 3.0], [4.0, -5.0, 6.0]]))]
    for number, (x, dout) in enumerate(cases, 1):
        compare.case(number, x=x, dout=dout)
        x_given, dout_given = x.copy(), dout.copy()
        got = student_relu_backward(dout_given, x_given)
        _unchanged("dout", dout_given, dout, "return a new array, e.g. dout * mask or np.where(...), "
                   "instead of zeroing entries of dout")
        _unchanged("cache (x)", x_given, x)
        expected = dout * (x > 0)
        if (isinstance(got, np.ndarray) and got.shape == x.shape and not np.allclose(got, expected)
                and np.allclose(got, np.maximum(dout, 0.0))):
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

@exercise("nb02.matmul_backward")
def matmul_backward(rng, hidden, student_matmul_backward):
    """dx = dy w^T and dw = x^T dy for y = x w."""
    if hidden:
        cases = []
        for _ in range(3):
            N, D, M = (int(s) for s in rng.integers(1, 7, size=3))
            cases.append((rng.standard_normal((N, D)), rng.standard_normal((D, M)),
                          rng.standard_normal((N, M))))
    else:
        cases = [(np.array([[2.0, 1.0, -3.0], [-3.0, 4.0, 2.0]]),
                  np.array([[3.0, 2.0, 1.0, -1.0], [2.0, 1.0, 3.0, 2.0], [3.0, 2.0, 1.0, -2.0]]),
                  np.array([[2.0, 3.0, -3.0, 9.0], [-8.0, 1.0, 4.0, 6.0]])),
                 (np.linspace(-1, 1, 15).reshape(5, 3), np.linspace(-0.5, 0.7, 6).reshape(3, 2),
                  np.linspace(0.3, -0.9, 10).reshape(5, 2))]
    for number, (x, w, dy) in enumerate(cases, 1):
        compare.case(number, x=x, w=w, dy=dy)
        result = student_matmul_backward(dy.copy(), x.copy(), w.copy())
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"matmul_backward must return the tuple (dx, dw), got {type(result).__name__}")
        dx, dw = result
        compare.array("dx", dx, dy @ w.T)
        compare.array("dw", dw, x.T @ dy, batch_size=x.shape[0],
                      terms=np.einsum("nd,nm->ndm", x, dy))


# ---------------------------------------------------------------------------- affine

def _affine_cases(rng, hidden):
    if hidden:
        cases = []
        for dims in [(int(rng.integers(2, 6)),), (int(rng.integers(1, 4)), int(rng.integers(2, 4))),
                     (2, int(rng.integers(1, 3)), 3)]:
            N, M = int(rng.integers(1, 6)), int(rng.integers(2, 6))
            D = int(np.prod(dims))
            cases.append((rng.standard_normal((N, *dims)), rng.standard_normal((D, M)),
                          rng.standard_normal(M), rng.standard_normal((N, M))))
        return cases
    return [(np.linspace(-0.5, 0.5, 6).reshape(2, 3), np.linspace(-0.2, 0.3, 12).reshape(3, 4),
             np.linspace(-0.3, 0.1, 4), np.linspace(1.0, -1.0, 8).reshape(2, 4)),
            (np.linspace(-1.0, 1.0, 12).reshape(3, 2, 2), np.linspace(-0.4, 0.5, 12).reshape(4, 3),
             np.array([0.1, -0.2, 0.3]), np.linspace(-0.7, 0.6, 9).reshape(3, 3))]


@exercise("nb02.affine", forbid=["course_lib.layers.affine_forward",
                                 "course_lib.layers.affine_backward"])
def affine(rng, hidden, student_forward, student_backward):
    """Forward against course_lib; backward (on the student's own cache) against course_lib
    and centered differences; inputs (N, d_1, ..., d_k) of several ranks."""
    for number, (x, w, b, dout) in enumerate(_affine_cases(rng, hidden), 1):
        compare.case(number, x=x, w=w, b=b)
        x_given, w_given, b_given = x.copy(), w.copy(), b.copy()
        result = student_forward(x_given, w_given, b_given)
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"affine_forward must return (out, cache), got {type(result).__name__}")
        out, cache = result
        expected_out, reference_cache = layers.affine_forward(x, w, b)
        compare.array("out", out, expected_out)
        grads = student_backward(dout.copy(), cache)
        for name, given, original in [("x", x_given, x), ("w", w_given, w), ("b", b_given, b)]:
            _unchanged(name, given, original)
        compare.true(isinstance(grads, tuple) and len(grads) == 3,
                     f"affine_backward must return (dx, dw, db), got {type(grads).__name__}")
        expected = layers.affine_backward(dout, reference_cache)
        N = x.shape[0]
        rows = x.reshape(N, -1)
        terms = {"dx": None, "dw": np.einsum("nd,nm->ndm", rows, dout), "db": dout}
        for name, got, want in zip(("dx", "dw", "db"), grads, expected):
            compare.array(name, got, want, batch_size=N, terms=terms[name])
        compare.gradient("dx", grads[0], lambda v: layers.affine_forward(v, w, b)[0], x, dout)


# ---------------------------------------------------------------------------- losses

def _loss_cases(rng, hidden, large_logits):
    if hidden:
        cases = []
        # the last case's logits sit near +1000, so exp() without the max shift overflows
        for scale, offset in ((1.0, 0.0), (5.0, 0.0), (300.0, 1000.0) if large_logits else (2.0, 0.0)):
            N, C = int(rng.integers(2, 8)), int(rng.integers(3, 7))
            cases.append((offset + scale * rng.standard_normal((N, C)), rng.integers(0, C, size=N)))
        return cases
    cases = [(np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]), np.array([0, 1, 2])),
             (np.linspace(-2.0, 2.0, 20).reshape(4, 5) ** 2, np.array([4, 0, 2, 1]))]
    if large_logits:
        cases.append((np.array([[1000.0, 0.0, -1000.0], [-500.0, 800.0, 790.0]]), np.array([0, 2])))
    return cases


def _check_loss(name, student_loss, reference, x, y, explain_dx=None):
    """Compare (loss, dx) with the reference; explain_dx(dx, expected_dx, x, y) may name a mistake first."""
    N = x.shape[0]
    x_given, y_given = x.copy(), y.copy()
    result = student_loss(x_given, y_given)
    _unchanged("x", x_given, x)
    compare.true(isinstance(result, tuple) and len(result) == 2,
                 f"{name} must return the tuple (loss, dx), got {type(result).__name__}")
    loss, dx = result
    expected_loss, expected_dx = reference(x, y)
    if explain_dx is not None:
        explain_dx(dx, expected_dx, x, y)
    compare.scalar("loss", loss, expected_loss, batch_size=N)
    compare.array("dx", dx, expected_dx, batch_size=N)


def _explain_softmax_gradient(got, expected, x, y):
    """Name the usual incomplete softmax gradients when one of them is what the student returned."""
    if not isinstance(got, np.ndarray) or got.shape != x.shape or np.allclose(got, expected):
        return
    N = x.shape[0]
    probs = expected * N  # expected = (P - one_hot(y)) / N
    probs[np.arange(N), y] += 1.0
    for candidate, what in [(probs, "the probabilities themselves"),
                            (probs / N, "the probabilities divided by N")]:
        if np.allclose(got, candidate):
            compare.true(False, f"dx is {what}: the gradient of -log P(y_i) is P - 1 at the correct "
                                "class (P elsewhere), averaged over the N samples: "
                                "(P - one_hot(y)) / N.")


@exercise("nb02.softmax_loss", forbid=["course_lib.layers.softmax_loss"])
def softmax_loss(rng, hidden, student_softmax_loss):
    """Mean cross-entropy of softmax(x) and its gradient, finite for logits of +-1000."""
    for number, (x, y) in enumerate(_loss_cases(rng, hidden, large_logits=True), 1):
        compare.case(number, x=x, y=y)
        _check_loss("softmax_loss", student_softmax_loss, layers.softmax_loss, x, y,
                    explain_dx=_explain_softmax_gradient)
        if np.abs(x).max() < 50:
            compare.gradient("dx", student_softmax_loss(x.copy(), y.copy())[1],
                             lambda v: layers.softmax_loss(v, y)[0], x, batch_size=x.shape[0])


@exercise("nb02.svm_loss", forbid=["course_lib.layers.svm_loss"])
def svm_loss(rng, hidden, student_svm_loss):
    """Mean multiclass hinge loss (margin 1, correct class excluded) and its gradient."""
    for number, (x, y) in enumerate(_loss_cases(rng, hidden, large_logits=False), 1):
        compare.case(number, x=x, y=y)
        N = x.shape[0]
        result = student_svm_loss(x.copy(), y.copy())
        if isinstance(result, tuple) and len(result) == 2:
            loss = result[0]
            expected_loss = layers.svm_loss(x, y)[0]
            if isinstance(loss, (float, np.floating)) and abs(loss - (expected_loss + 1.0)) < 1e-9:
                compare.true(False, "loss is exactly 1 too large: the correct class was compared "
                                    "with itself (its margin max(0, s_y - s_y + 1) = 1 counts once "
                                    "per example). Leave j = y_i out of the sum.")
        _check_loss("svm_loss", student_svm_loss, layers.svm_loss, x, y)


# ---------------------------------------------------------------------------- two-layer net

def _reference_net(X, y, params, reg):
    """Loss and grads of affine - relu - affine - softmax, from course_lib's layers."""
    hidden, cache1 = layers.affine_forward(X, params["W1"], params["b1"])
    activated, cache_relu = layers.relu_forward(hidden)
    scores, cache2 = layers.affine_forward(activated, params["W2"], params["b2"])
    data_loss, dscores = layers.softmax_loss(scores, y)
    loss = data_loss + 0.5 * reg * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    dactivated, dW2, db2 = layers.affine_backward(dscores, cache2)
    dhidden = layers.relu_backward(dactivated, cache_relu)
    _, dW1, db1 = layers.affine_backward(dhidden, cache1)
    grads = {"W1": dW1 + reg * params["W1"], "b1": db1, "W2": dW2 + reg * params["W2"], "b2": db2}
    return loss, grads


def _net_cases(rng, hidden):
    if hidden:
        cases = []
        for reg in (0.0, float(rng.uniform(0.05, 0.5))):
            N, D, H, C = (int(s) for s in rng.integers(2, 7, size=4))
            params = {"W1": rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
                      "W2": rng.standard_normal((H, C)), "b2": 0.1 * rng.standard_normal(C)}
            cases.append((rng.standard_normal((N, D)), rng.integers(0, C, size=N), params, reg))
        return cases
    N, D, H, C = 5, 4, 6, 3
    params = {"W1": np.linspace(-0.7, 0.9, D * H).reshape(D, H),
              "b1": np.linspace(-0.1, 0.2, H),
              "W2": np.linspace(-0.3, 0.4, H * C).reshape(H, C)[::-1].copy(),
              "b2": np.linspace(0.1, -0.1, C)}
    X = np.linspace(-2.0, 2.0, N * D).reshape(N, D)
    y = np.array([0, 2, 1, 1, 2])
    return [(X, y, params, 0.0), (X, y, params, 0.1)]


@exercise("nb02.two_layer_net_loss", forbid=[
    "course_lib.layers.affine_forward", "course_lib.layers.affine_backward",
    "course_lib.layers.relu_forward", "course_lib.layers.relu_backward",
    "course_lib.layers.softmax_loss"])
def two_layer_net_loss(rng, hidden, student_loss):
    """Loss and the four parameter gradients against course_lib's layers and finite differences."""
    for number, (X, y, params, reg) in enumerate(_net_cases(rng, hidden), 1):
        compare.case(number, X=X, y=y, reg=reg)
        given = {k: v.copy() for k, v in params.items()}
        result = student_loss(X.copy(), y.copy(), given, reg)
        for key in params:
            _unchanged(f"params['{key}']", given[key], params[key])
        compare.true(isinstance(result, tuple) and len(result) == 2,
                     f"two_layer_net_loss must return (loss, grads), got {type(result).__name__}")
        loss, grads = result
        expected_loss, expected_grads = _reference_net(X, y, params, reg)
        compare.scalar("loss", loss, expected_loss, batch_size=X.shape[0])
        compare.true(isinstance(grads, dict) and set(grads) >= set(params),
                     "grads must be a dict with the keys 'W1', 'b1', 'W2', 'b2', got "
                     f"{sorted(grads) if isinstance(grads, dict) else type(grads).__name__}")
        for key in ("W2", "b2", "W1", "b1"):
            _explain_net_gradient(key, grads[key], expected_grads[key], X, y, params, reg)
            compare.array(f"grads['{key}']", grads[key], expected_grads[key], batch_size=X.shape[0])

            def loss_of(value, key=key):
                return _reference_net(X, y, {**params, key: value}, reg)[0]
            compare.gradient(f"grads['{key}']", grads[key], loss_of, params[key])


def _without_relu_mask(X, y, params, reg):
    """dW1 and db1 as computed by a backward pass that forgot the ReLU mask."""
    hidden = X @ params["W1"] + params["b1"]
    scores = np.maximum(hidden, 0.0) @ params["W2"] + params["b2"]
    dscores = layers.softmax_loss(scores, y)[1]
    dhidden = dscores @ params["W2"].T
    return {"W1": X.T @ dhidden + reg * params["W1"], "b1": dhidden.sum(axis=0)}


def _explain_net_gradient(key, got, expected, X, y, params, reg):
    """Name the two usual mistakes of the two-layer backward pass when they explain `got`."""
    if not isinstance(got, np.ndarray) or got.shape != expected.shape or np.allclose(got, expected):
        return
    if key in ("W1", "W2") and reg > 0 and np.allclose(got, expected - reg * params[key]):
        compare.true(False, f"grads['{key}'] lacks the regularization term: the loss adds "
                            f"0.5 * reg * sum({key}**2), whose gradient is reg * {key}.")
    if key in ("W1", "b1"):
        unmasked = _without_relu_mask(X, y, params, reg)[key]
        if np.allclose(got, unmasked) or (key == "W1" and np.allclose(got, unmasked - reg * params[key])):
            compare.true(False, f"grads['{key}'] comes from a backward pass without the ReLU mask: "
                                "multiply the gradient reaching the hidden layer by (hidden > 0) "
                                "before the first affine layer's backward.")


# ---------------------------------------------------------------------------- SGD + momentum

@exercise("nb02.sgd_momentum", forbid=["course_lib.optim.sgd_momentum"])
def sgd_momentum(rng, hidden, student_update):
    """Several consecutive steps with the config passed back, against course_lib.optim."""
    if hidden:
        shape = (int(rng.integers(2, 5)), int(rng.integers(2, 5)))
        w = rng.standard_normal(shape)
        grads = [rng.standard_normal(shape) for _ in range(4)]
        configs = [{"learning_rate": float(rng.uniform(1e-3, 1e-1)),
                    "momentum": float(rng.uniform(0.5, 0.99))},
                   None]
    else:
        w = np.linspace(-0.4, 0.6, 12).reshape(3, 4)
        grads = [np.linspace(-0.6, 0.4, 12).reshape(3, 4) * (k + 1) for k in range(3)]
        configs = [{"learning_rate": 1e-1, "momentum": 0.8}, None]
    for number, start_config in enumerate(configs, 1):
        label = "defaults (config=None)" if start_config is None else start_config
        compare.case(number, w=w, config=label)
        student_w, reference_w = w.copy(), w.copy()
        student_config = None if start_config is None else dict(start_config)
        reference_config = None if start_config is None else dict(start_config)
        for step, dw in enumerate(grads, 1):
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
            reference_w, reference_config = optim.sgd_momentum(reference_w, dw, reference_config)
            if step > 1 and isinstance(next_w, np.ndarray) and next_w.shape == w.shape:
                no_memory = student_w - reference_config["learning_rate"] * dw
                if np.allclose(next_w, no_memory) and not np.allclose(next_w, reference_w):
                    compare.true(False, f"step {step}: next_w is a plain SGD step — the velocity "
                                        "from the previous step was lost. Store the new velocity in "
                                        "config['velocity'] so the next call can build on it.")
            if isinstance(next_w, np.ndarray) and next_w.shape == w.shape:
                _explain_momentum_step(step, next_w, reference_w, student_w, dw, student_config,
                                       reference_config)
            compare.array(f"next_w after step {step}", next_w, reference_w)
            student_w = np.array(next_w, dtype=np.float64)


def _explain_momentum_step(step, next_w, expected_w, w, dw, student_config, reference_config):
    """Name a momentum other than config['momentum'] (typically a hard-coded 0.9)."""
    velocity = student_config.get("velocity") if isinstance(student_config, dict) else None
    # at step 1 the velocity starts at 0, so every momentum takes the same step
    if step == 1 or np.allclose(next_w, expected_w) or not isinstance(velocity, np.ndarray):
        return
    momentum = reference_config["momentum"]
    learning_rate = reference_config["learning_rate"]
    step_taken = next_w - w
    # The reference velocity is momentum * v_old - lr * dw; recover v_old to test other momenta.
    v_old = (reference_config["velocity"] + learning_rate * dw) / momentum
    for rho in (0.9, 0.99, 0.5):
        if rho == momentum:
            continue
        if np.allclose(step_taken, rho * v_old - learning_rate * dw):
            compare.true(False, f"step {step}: the update used momentum {rho:g}, but config asks "
                                f"for {momentum:g}: read config['momentum'] (set its default "
                                "with config.setdefault).")


# ---------------------------------------------------------------------------- training result

def _accuracy(params, X, y):
    hidden = np.maximum(X.reshape(X.shape[0], -1) @ params["W1"] + params["b1"], 0.0)
    return float(np.mean(np.argmax(hidden @ params["W2"] + params["b2"], axis=1) == y))


@exercise("nb02.training_result", timeout=60)
def training_result(rng, hidden, trained_params):
    """Re-evaluate the trained two-layer net on held-out images (never the student's number)."""
    compare.case("your trained two-layer net")
    compare.true(isinstance(trained_params, dict),
                 f"trained_params must be a dict with W1, b1, W2, b2, got {type(trained_params).__name__}")
    missing = [k for k in ("W1", "b1", "W2", "b2") if k not in trained_params]
    compare.true(not missing, f"trained_params is missing {missing}: run the training cell above.")
    params = {k: np.asarray(trained_params[k], dtype=np.float64) for k in ("W1", "b1", "W2", "b2")}
    H = params["W1"].shape[-1] if params["W1"].ndim == 2 else -1
    expected_shapes = {"W1": (28 * 28, H), "b1": (H,), "W2": (H, 10), "b2": (10,)}
    for key, shape in expected_shapes.items():
        compare.true(params[key].shape == shape, f"trained_params['{key}'] has shape "
                     f"{params[key].shape}, expected {shape} (a 784 - H - 10 two-layer net).")
        compare.true(bool(np.all(np.isfinite(params[key]))),
                     f"trained_params['{key}'] contains NaN or inf: the training diverged "
                     "(learning rate too high?).")
    compare.true(H <= MAX_HIDDEN_DIM, f"the hidden layer has {H} units; the time budget allows "
                                      f"at most {MAX_HIDDEN_DIM}.")
    data = load_fashion_mnist()
    _, _, X_val, y_val = train_val_split(data["X_train"], data["y_train"], VALIDATION_SIZE,
                                         seed=SPLIT_SEED)
    val_acc = _accuracy(params, X_val, y_val)
    compare.true(val_acc >= VALIDATION_THRESHOLD,
                 f"validation accuracy {val_acc:.3f}, below the required {VALIDATION_THRESHOLD:.2f} "
                 f"(measured by the grader on the {VALIDATION_SIZE} validation images). Revisit the "
                 "learning rate first (section 7), then momentum, epochs and batch size.")
    if hidden:
        compare.case("your trained two-layer net on the shipped test images")
        test_acc = _accuracy(params, data["X_test"], data["y_test"])
        compare.true(test_acc >= TEST_THRESHOLD,
                     f"accuracy on the {len(data['y_test'])} shipped test images is {test_acc:.3f}, "
                     f"below {TEST_THRESHOLD:.2f}, although validation accuracy is {val_acc:.3f}: "
                     "the model fits the validation images much better than unseen ones.")
    return 1 + int(hidden)
