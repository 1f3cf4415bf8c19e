"""Cases of notebook 02's exercises (instructor side): inputs and the reference's answers.

Expected values come from course_lib's reference layers and optimizers, from the lecture's
worked numbers written out here, or from closed-form Jacobians. The functions whose
Jacobian is taken are described as data ({"kind": ...}); verdicts.py rebuilds them.
"""
import numpy as np

from autograder.exercises.casebook import cases
from course_lib import layers, optim

# The notebook carves its validation set with exactly these numbers.
VALIDATION_SIZE = 1000
SPLIT_SEED = 0
VALIDATION_THRESHOLD = 0.82
TEST_THRESHOLD = 0.78
MAX_HIDDEN_DIM = 128


# ---------------------------------------------------------------------------- Jacobian

def _softmax(v):
    e = np.exp(v - v.max())
    return e / e.sum()


def _vector_function(spec):
    """The function a {"kind": ...} description stands for (verdicts.py has the same table)."""
    kind = spec["kind"]
    if kind == "linear":
        return lambda v: spec["W"] @ v
    if kind == "tanh_linear":
        return lambda v: np.tanh(spec["W"] @ v)
    if kind == "square":
        return lambda v: v**2
    if kind == "mixed":
        return lambda v: np.array([v[0] * v[1], np.sin(v[2]), v.sum(), np.exp(v[1])])
    if kind == "softmax":
        return _softmax
    raise ValueError(f"unknown vector function {kind!r}")


def _one_sided_jacobian(f, x, h):
    y0 = np.asarray(f(x.copy()), dtype=np.float64)
    J = np.zeros((y0.size, x.size))
    for n in range(x.size):
        nudged = x.copy()
        nudged[n] += h
        J[:, n] = (np.asarray(f(nudged), dtype=np.float64) - y0) / h
    return J


def _jacobian_inputs(rng, hidden):
    """(description, function spec, x, expected J of shape (M, N), rtol)."""
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
            ("y = W x with W (2, 3)", {"kind": "linear", "W": W}, x, W, 1e-7),
            ("y = x**2 elementwise", {"kind": "square"}, np.array([1.0, -2.0, 3.0, 0.5]),
             np.diag(2 * np.array([1.0, -2.0, 3.0, 0.5])), 1e-6),
            ("y = [x0 x1, sin x2, x0 + x1 + x2, exp x1]", {"kind": "mixed"},
             mixed_x, mixed_J, 1e-6),
        ]
    inputs = []
    M, N = (int(s) for s in rng.integers(2, 6, size=2))
    W = rng.standard_normal((M, N))
    inputs.append((f"y = W x with W {W.shape}", {"kind": "linear", "W": W}, rng.standard_normal(N),
                   W, 1e-7))
    M, N = (int(s) for s in rng.integers(2, 6, size=2))
    W = rng.standard_normal((M, N))
    x = rng.standard_normal(N)
    t = np.tanh(W @ x)
    inputs.append((f"y = tanh(W x) with W {W.shape}", {"kind": "tanh_linear", "W": W}, x,
                   (1 - t**2)[:, None] * W, 1e-6))
    N = int(rng.integers(3, 7))
    x = rng.standard_normal(N)
    p = _softmax(x)
    inputs.append((f"y = softmax(x), N = {N}", {"kind": "softmax"}, x, np.diag(p) - np.outer(p, p),
                   1e-6))
    return inputs


# eval_numerical_gradient_array passes no check by itself (it wants an upstream gradient), but
# stacking its products with the unit vectors e_m IS a numerical Jacobian, one row per output.
@cases("nb02.numerical_jacobian", answered_by=["course_lib.gradcheck.eval_numerical_gradient_array"])
def numerical_jacobian(rng, hidden):
    """x, f (as data), the closed-form J, and the one-sided-difference J a diagnosis names."""
    return [{"description": description, "f": spec, "x": x, "J": J, "rtol": rtol,
             "one_sided_J": _one_sided_jacobian(_vector_function(spec), x, 1e-5)}
            for description, spec, x, J, rtol in _jacobian_inputs(rng, hidden)]


# ---------------------------------------------------------------------------- ReLU backward

@cases("nb02.relu_backward", answered_by=["course_lib.layers.relu_backward"])
def relu_backward(rng, hidden):
    """x (with exact zeros), dout, dx = dout where x > 0, and ReLU applied to dout (a usual bug)."""
    if hidden:
        shapes = [(int(rng.integers(3, 9)),), (int(rng.integers(2, 5)), int(rng.integers(2, 6))),
                  (2, int(rng.integers(1, 4)), 3, 3)]
        inputs = []
        for shape in shapes:
            x = rng.standard_normal(shape)
            x.flat[rng.choice(x.size, size=max(1, x.size // 5), replace=False)] = 0.0
            inputs.append((x, rng.standard_normal(shape)))
    else:
        inputs = [(np.array([1.0, -2.0, 3.0, -1.0]), np.array([4.0, -1.0, 5.0, 9.0])),
                  (np.array([[0.5, 0.0, -0.3], [-2.0, 1.5, 0.0]]),
                   np.array([[-1.0, 2.0, 3.0], [4.0, -5.0, 6.0]]))]
    return [{"x": x, "dout": dout, "dx": layers.relu_backward(dout, x),
             "relu_of_dout": np.maximum(dout, 0.0)} for x, dout in inputs]


# ---------------------------------------------------------------------------- matmul backward

@cases("nb02.matmul_backward")
def matmul_backward(rng, hidden):
    """x, w, dy; dx = dy w^T, dw = x^T dy and dw's per-sample terms."""
    if hidden:
        inputs = []
        for _ in range(3):
            N, D, M = (int(s) for s in rng.integers(1, 7, size=3))
            inputs.append((rng.standard_normal((N, D)), rng.standard_normal((D, M)),
                           rng.standard_normal((N, M))))
    else:
        inputs = [(np.array([[2.0, 1.0, -3.0], [-3.0, 4.0, 2.0]]),
                   np.array([[3.0, 2.0, 1.0, -1.0], [2.0, 1.0, 3.0, 2.0], [3.0, 2.0, 1.0, -2.0]]),
                   np.array([[2.0, 3.0, -3.0, 9.0], [-8.0, 1.0, 4.0, 6.0]])),
                  (np.linspace(-1, 1, 15).reshape(5, 3), np.linspace(-0.5, 0.7, 6).reshape(3, 2),
                   np.linspace(0.3, -0.9, 10).reshape(5, 2))]
    return [{"x": x, "w": w, "dy": dy, "dx": dy @ w.T, "dw": x.T @ dy,
             "dw_terms": np.einsum("nd,nm->ndm", x, dy)} for x, w, dy in inputs]


# ---------------------------------------------------------------------------- affine

def _affine_inputs(rng, hidden):
    if hidden:
        inputs = []
        for dims in [(int(rng.integers(2, 6)),), (int(rng.integers(1, 4)), int(rng.integers(2, 4))),
                     (2, int(rng.integers(1, 3)), 3)]:
            N, M = int(rng.integers(1, 6)), int(rng.integers(2, 6))
            D = int(np.prod(dims))
            inputs.append((rng.standard_normal((N, *dims)), rng.standard_normal((D, M)),
                           rng.standard_normal(M), rng.standard_normal((N, M))))
        return inputs
    return [(np.linspace(-0.5, 0.5, 6).reshape(2, 3), np.linspace(-0.2, 0.3, 12).reshape(3, 4),
             np.linspace(-0.3, 0.1, 4), np.linspace(1.0, -1.0, 8).reshape(2, 4)),
            (np.linspace(-1.0, 1.0, 12).reshape(3, 2, 2), np.linspace(-0.4, 0.5, 12).reshape(4, 3),
             np.array([0.1, -0.2, 0.3]), np.linspace(-0.7, 0.6, 9).reshape(3, 3))]


@cases("nb02.affine", answered_by=["course_lib.layers.affine_forward",
                                   "course_lib.layers.affine_backward"])
def affine(rng, hidden):
    """x of several ranks, w, b, dout; the reference's out, dx, dw, db and dw's per-sample terms."""
    result = []
    for x, w, b, dout in _affine_inputs(rng, hidden):
        out, cache = layers.affine_forward(x, w, b)
        dx, dw, db = layers.affine_backward(dout, cache)
        flat_x = x.reshape(len(x), -1)
        result.append({"x": x, "w": w, "b": b, "dout": dout, "out": out, "dx": dx, "dw": dw,
                       "db": db, "dw_terms": np.einsum("nd,nm->ndm", flat_x, dout)})
    return result


# ---------------------------------------------------------------------------- losses

def _loss_inputs(rng, hidden, large_logits):
    if hidden:
        inputs = []
        # the last case's logits sit near +1000, so exp() without the max shift overflows
        for scale, offset in ((1.0, 0.0), (5.0, 0.0), (300.0, 1000.0) if large_logits else (2.0, 0.0)):
            N, C = int(rng.integers(2, 8)), int(rng.integers(3, 7))
            inputs.append((offset + scale * rng.standard_normal((N, C)), rng.integers(0, C, size=N)))
        return inputs
    inputs = [(np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]]), np.array([0, 1, 2])),
              (np.linspace(-2.0, 2.0, 20).reshape(4, 5) ** 2, np.array([4, 0, 2, 1]))]
    if large_logits:
        inputs.append((np.array([[1000.0, 0.0, -1000.0], [-500.0, 800.0, 790.0]]), np.array([0, 2])))
    return inputs


@cases("nb02.softmax_loss", answered_by=["course_lib.layers.softmax_loss"])
def softmax_loss(rng, hidden):
    """Scores (some of +-1000), labels, the reference's loss and dx, and the probabilities."""
    result = []
    for x, y in _loss_inputs(rng, hidden, large_logits=True):
        loss, dx = layers.softmax_loss(x, y)
        shifted = np.exp(x - x.max(axis=1, keepdims=True))
        result.append({"x": x, "y": y, "loss": loss, "dx": dx,
                       "probs": shifted / shifted.sum(axis=1, keepdims=True)})
    return result


@cases("nb02.svm_loss", answered_by=["course_lib.layers.svm_loss"])
def svm_loss(rng, hidden):
    """Scores, labels and the reference's loss and dx."""
    result = []
    for x, y in _loss_inputs(rng, hidden, large_logits=False):
        loss, dx = layers.svm_loss(x, y)
        result.append({"x": x, "y": y, "loss": loss, "dx": dx})
    return result


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


def _without_relu_mask(X, y, params, reg):
    """dW1 and db1 as computed by a backward pass that forgot the ReLU mask."""
    hidden = X @ params["W1"] + params["b1"]
    scores = np.maximum(hidden, 0.0) @ params["W2"] + params["b2"]
    dscores = layers.softmax_loss(scores, y)[1]
    dhidden = dscores @ params["W2"].T
    return {"W1": X.T @ dhidden + reg * params["W1"], "b1": dhidden.sum(axis=0)}


def _net_inputs(rng, hidden):
    if hidden:
        inputs = []
        for reg in (0.0, float(rng.uniform(0.05, 0.5))):
            N, D, H, C = (int(s) for s in rng.integers(2, 7, size=4))
            params = {"W1": rng.standard_normal((D, H)), "b1": 0.1 * rng.standard_normal(H),
                      "W2": rng.standard_normal((H, C)), "b2": 0.1 * rng.standard_normal(C)}
            inputs.append((rng.standard_normal((N, D)), rng.integers(0, C, size=N), params, reg))
        return inputs
    N, D, H, C = 5, 4, 6, 3
    params = {"W1": np.linspace(-0.7, 0.9, D * H).reshape(D, H),
              "b1": np.linspace(-0.1, 0.2, H),
              "W2": np.linspace(-0.3, 0.4, H * C).reshape(H, C)[::-1].copy(),
              "b2": np.linspace(0.1, -0.1, C)}
    X = np.linspace(-2.0, 2.0, N * D).reshape(N, D)
    y = np.array([0, 2, 1, 1, 2])
    return [(X, y, params, 0.0), (X, y, params, 0.1)]


@cases("nb02.two_layer_net_loss", answered_by=["course_lib.nn.TwoLayerNet"])
def two_layer_net_loss(rng, hidden):
    """X, y, params, reg; the reference's loss and grads, and the grads of W1 and b1 without
    the ReLU mask (a usual bug)."""
    result = []
    for X, y, params, reg in _net_inputs(rng, hidden):
        loss, grads = _reference_net(X, y, params, reg)
        result.append({"X": X, "y": y, "params": params, "reg": reg, "loss": loss, "grads": grads,
                       "unmasked_grads": _without_relu_mask(X, y, params, reg)})
    return result


# ---------------------------------------------------------------------------- SGD + momentum

OTHER_MOMENTA = (0.9, 0.99, 0.5)  # a hard-coded momentum is usually one of these


@cases("nb02.sgd_momentum", answered_by=["course_lib.optim.sgd_momentum"])
def sgd_momentum(rng, hidden):
    """w, the gradients of consecutive steps, and per starting config the reference's weights
    and velocity after each step, its hyperparameters (defaults filled in), and the step a
    momentum other than config['momentum'] would have taken."""
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
    runs = []
    for start_config in configs:
        reference_w = w.copy()
        config = None if start_config is None else {**start_config}
        steps = []
        for dw in grads:
            velocity_before = None if config is None else config.get("velocity")
            reference_w, config = optim.sgd_momentum(reference_w, dw, config)
            if velocity_before is None:
                velocity_before = np.zeros_like(w)
            steps.append({
                "next_w": reference_w, "velocity": config["velocity"],
                "other_momenta": [(rho, rho * velocity_before - config["learning_rate"] * dw)
                                  for rho in OTHER_MOMENTA if rho != config["momentum"]]})
        runs.append({"config": start_config, "learning_rate": config["learning_rate"],
                     "momentum": config["momentum"], "steps": steps})
    return {"w": w, "grads": grads, "runs": runs}


# ---------------------------------------------------------------------------- training result

@cases("nb02.training_result")
def training_result(rng, hidden):
    """How the verdict measures: the validation split, the thresholds, the size budget, and
    whether the shipped test images count too (the images themselves come from
    course_lib.datasets on the student's side)."""
    return {"validation_size": VALIDATION_SIZE, "split_seed": SPLIT_SEED,
            "validation_threshold": VALIDATION_THRESHOLD, "test_threshold": TEST_THRESHOLD,
            "max_hidden_dim": MAX_HIDDEN_DIM, "input_dim": 28 * 28, "num_classes": 10,
            "measure_test_set": bool(hidden)}
