"""Exercise checks of notebook 01 (flat backprop): numerical gradients, flat backward, gates, autograd.

nb01.numerical_gradient     student(f, w, h=1e-5) -> centered-difference gradient, shape of w
nb01.flat_backward          student(x, y, z) -> (f, dx, dy, dz) for f = sigmoid(x) (x y + max(y, z))
nb01.gates_multiply_max     MultiplyGate, MaxGate classes (forward given, backward written)
nb01.gates_copy_sigmoid     CopyGate, SigmoidGate classes
nb01.value_local_backward   the student's Value class: _backward closures of *, tanh, max
nb01.topological_order      student(root) -> list of nodes, inputs before the nodes using them
nb01.backpropagate          student(root): fills .grad of every node of a course_lib graph

Graphs for the last two are built from course_lib.autograd.Value, whose attributes
(data, grad, inputs, _backward) the notebook's Value shares. Expected values are written
out by hand here, or come from course_lib's reference engine and gates.
"""
import math

import numpy as np

from autograder.check import compare
from autograder.check.registry import exercise
from course_lib import autograd, gates


def _logistic(x):
    return 1.0 / (1.0 + math.exp(-x))


# ---------------------------------------------------------------------------- numerical gradient

def _softmax_loss_fn(X, y):
    """Average softmax cross-entropy of scores X @ W (W: (D, C)) and its analytic gradient."""
    def loss(W):
        scores = X @ W
        scores = scores - scores.max(axis=1, keepdims=True)
        log_probs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return float(-log_probs[np.arange(len(y)), y].mean())

    def grad(W):
        scores = X @ W
        probs = np.exp(scores - scores.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        probs[np.arange(len(y)), y] -= 1.0
        return X.T @ probs / len(y)
    return loss, grad


def _centered(f, w, h):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[i] += h
        minus[i] -= h
        grad[i] = (f(plus) - f(minus)) / (2 * h)
    return grad


def _one_sided(f, w, h):
    grad = np.zeros(w.shape)
    f_w = f(w.copy())
    for i in np.ndindex(w.shape):
        plus = w.copy()
        plus[i] += h
        grad[i] = (f(plus) - f_w) / h
    return grad


def _gradient_cases(rng, hidden):
    """(description, f, w, h or None for the default, expected gradient, rtol)."""
    cases = []
    if hidden:
        for shape in [(int(rng.integers(2, 6)),), (int(rng.integers(2, 4)), int(rng.integers(2, 4)))]:
            w = rng.uniform(-1.5, 1.5, size=shape)
            c = rng.uniform(0.5, 2.0, size=shape)
            d = rng.uniform(-1.0, 1.0, size=shape)

            def f(v, c=c, d=d):
                return float(np.log(np.sum(np.exp(c * v))) + np.sum(d * v**3))
            soft = np.exp(c * w) / np.sum(np.exp(c * w))
            cases.append(("log-sum-exp plus cubic", f, w, None, soft * c + 3 * d * w**2, 1e-6))
        X = np.column_stack([rng.standard_normal((5, 2)), np.ones(5)])
        y = rng.integers(0, 3, size=5)
        loss, grad = _softmax_loss_fn(X, y)
        W = rng.standard_normal((3, 3))
        cases.append(("softmax loss of W (3, 3)", loss, W, None, grad(W), 1e-6))
        h = float(rng.uniform(0.05, 0.3))
        w = rng.uniform(-2, 2, size=(int(rng.integers(2, 5)),))
        cases.append((f"sum(sin(w)) with h={h:.3f}", lambda v: float(np.sum(np.sin(v))), w, h,
                      np.cos(w) * math.sin(h) / h, 1e-9))
    else:
        w = np.array([1.0, -2.0, 0.5])
        cases.append(("sum(w**3)", lambda v: float(np.sum(v**3)), w, None, 3 * w**2, 1e-7))
        X = np.array([[1.0, 2.0, 1.0], [-1.5, 0.5, 1.0], [0.3, -1.2, 1.0], [2.0, -0.7, 1.0]])
        y = np.array([0, 1, 2, 1])
        loss, grad = _softmax_loss_fn(X, y)
        W = np.array([0.34, -1.11, 0.78, 0.12, 0.55, 2.81, -3.1, -1.5, 0.33]).reshape(3, 3)
        cases.append(("the notebook's 9-weight softmax loss", loss, W, None, grad(W), 1e-6))
        w = np.array([[0.3, -1.2], [2.0, 0.7]])
        # with h = 0.1 the centered difference of sin is exactly cos(w) sin(h) / h
        cases.append(("sum(sin(w)) with h=0.1", lambda v: float(np.sum(np.sin(v))), w, 0.1,
                      np.cos(w) * math.sin(0.1) / 0.1, 1e-9))
    return cases


@exercise("nb01.numerical_gradient", forbid=["course_lib.gradcheck.eval_numerical_gradient"])
def numerical_gradient(rng, hidden, student_numerical_gradient):
    """Centered differences at every entry, honouring h, leaving w unchanged."""
    for number, (description, f, w, h, expected, rtol) in enumerate(_gradient_cases(rng, hidden), 1):
        compare.case(number, f=description, w=w)
        w_given = w.copy()
        step = 1e-5 if h is None else h
        got = student_numerical_gradient(f, w_given) if h is None else student_numerical_gradient(f, w_given, h)
        compare.true(np.array_equal(w_given, w),
                     "numerical_gradient changed the array w it was given: nudge a copy "
                     "(np.array(w, dtype=float)) or put each entry back after evaluating f.")
        if isinstance(got, np.ndarray) and got.shape == w.shape:
            one_sided = _one_sided(f, w, step)
            compare.true(not np.allclose(got, one_sided, rtol=1e-9, atol=1e-12),
                         "numerical_gradient matches the ONE-SIDED difference (f(w + h e_i) - f(w)) / h. "
                         "Use the centered difference (f(w + h e_i) - f(w - h e_i)) / (2h): "
                         "its error shrinks like h² instead of h.")
            if h is not None:
                compare.true(not np.allclose(got, _centered(f, w, 1e-5), rtol=1e-9, atol=1e-12),
                             f"numerical_gradient ignored the step h={h:g} it was given "
                             "and used 1e-5: use the argument h.")
        compare.array("grad", got, expected, rtol=rtol, atol=1e-9)


# ---------------------------------------------------------------------------- flat backward

def _flat_expected(x, y, z):
    s = _logistic(x)
    inner = x * y + max(y, z)
    y_wins = y >= z
    return (s * inner,
            s * (1 - s) * inner + s * y,
            s * x + (s if y_wins else 0.0),
            0.0 if y_wins else s)


@exercise("nb01.flat_backward")
def flat_backward(rng, hidden, student_flat_forward_backward):
    """f = sigmoid(x) (x y + max(y, z)) and its three partial derivatives."""
    if hidden:
        points = []
        while len(points) < 6:
            x, y, z = (float(v) for v in rng.uniform(-3, 3, size=3))
            if abs(y - z) > 0.2:
                points.append((x, y, z))
    else:
        points = [(1.0, -2.0, 3.0), (-0.5, 2.0, 1.0), (2.0, 0.5, -1.0)]
    for number, (x, y, z) in enumerate(points, 1):
        compare.case(number, x=x, y=y, z=z)
        result = student_flat_forward_backward(x, y, z)
        compare.true(isinstance(result, tuple) and len(result) == 4,
                     f"flat_forward_backward must return the tuple (f, dx, dy, dz), got {result!r}")
        f, dx, dy, dz = result
        expected = _flat_expected(x, y, z)
        compare.scalar("f", f, expected[0])
        s = _logistic(x)
        inner = x * y + max(y, z)
        _explain_fan_out("dx", dx, expected[1], [s * (1 - s) * inner, s * y],
                         "x is used twice (in sigmoid(x) and in x*y)")
        if y < z and _near(dy, s * x + s):
            compare.true(False, f"dy includes the max's gradient, but z = {z:g} is larger than y = {y:g}: "
                                "max routes all of its gradient to the larger input (gradient router).")
        y_branches = [s * x, s if y >= z else 0.0]
        _explain_fan_out("dy", dy, expected[2], y_branches, "y is used twice (in x*y and in max(y, z))")
        if y >= z and _near(dz, s):
            compare.true(False, f"dz should be 0 here: y = {y:g} is larger than z = {z:g}, so the max "
                                "routes all of its gradient to y (gradient router).")
        compare.scalar("dz", dz, expected[3])


def _explain_fan_out(name, got, expected, branches, why):
    """Name the mistake when `got` holds only one branch of a fanned-out variable's gradient."""
    if isinstance(got, (int, float)) and abs(got - expected) > 1e-6 * max(1.0, abs(expected)):
        for branch in branches:
            if branch != expected and abs(got - branch) <= 1e-9 * max(1.0, abs(branch)):
                compare.true(False, f"{name} holds only one of its two contributions: {why}, so "
                                    f"{name} is the SUM of the gradients from both branches "
                                    "(write the second one with +=).")
    compare.scalar(name, got, expected)


# ---------------------------------------------------------------------------- gates

def _check_gate(name, gate_class, reference_class, inputs, upstream):
    """Forward then backward of a student gate against course_lib's gate on the same inputs."""
    gate, reference = gate_class(), reference_class()
    out = gate.forward(*inputs)
    expected_out = reference.forward(*inputs)
    if isinstance(expected_out, tuple):
        compare.true(isinstance(out, tuple) and len(out) == len(expected_out),
                     f"{name}.forward should return {len(expected_out)} outputs, got {out!r}")
        for k, (o, e) in enumerate(zip(out, expected_out)):
            compare.scalar(f"{name}.forward output {k}", o, e)
    else:
        compare.scalar(f"{name}.forward", out, expected_out)
    grads = gate.backward(upstream)
    expected = reference.backward(upstream)
    compare.true(isinstance(grads, tuple),
                 f"{name}.backward must return a tuple with one gradient per forward input, "
                 f"got {type(grads).__name__} {grads!r}" +
                 (" — write (value,) for a one-element tuple." if len(expected) == 1 else "."))
    compare.true(len(grads) == len(expected),
                 f"{name}.backward must return {len(expected)} gradient(s), one per forward input, "
                 f"got {len(grads)}: {grads!r}")
    for wrong, hint in _GATE_MISTAKES.get(name, []):
        guess = wrong(inputs, upstream)
        if all(_near(g, w) for g, w in zip(grads, guess)) and not all(
                _near(w, e) for w, e in zip(guess, expected)):
            compare.true(False, f"{name}.backward returned {grads!r}: {hint}")
    labels = ["a", "b"] if len(expected) == 2 else ["x"]
    for label, got, want in zip(labels, grads, expected):
        compare.scalar(f"{name}.backward: d{label}", got, want)


# (name -> [(the usual wrong answer as a function of (inputs, upstream), what to tell the student)])
_GATE_MISTAKES = {
    "MultiplyGate": [
        (lambda ab, g: (ab[0] * g, ab[1] * g),
         "each input got its OWN value times upstream. The multiply gate swaps: "
         "d(a*b)/da = b, so a receives b * upstream and b receives a * upstream."),
    ],
    "MaxGate": [
        (lambda ab, g: (g, g), "both inputs received the upstream gradient. max is a router: "
                               "only the larger input (the one forward returned) gets it, the other gets 0."),
        (lambda ab, g: (0.0, g) if ab[0] >= ab[1] else (g, 0.0),
         "the gradient went to the SMALLER input; route it to the one forward returned."),
    ],
    "CopyGate": [
        (lambda x, g: (g[1],), "that is only the second branch's gradient. x feeds both branches, so "
                               "its gradient is the SUM of the two upstream gradients."),
        (lambda x, g: (g[0],), "that is only the first branch's gradient. x feeds both branches, so "
                               "its gradient is the SUM of the two upstream gradients."),
    ],
    "SigmoidGate": [
        (lambda x, g: ((_logistic(x[0]) - 1.0) * _logistic(x[0]) * g,),
         "the sign is flipped. The sigmoid rises everywhere, so its local gradient "
         "(1 - σ(x)) σ(x) is positive."),
        (lambda x, g: (_logistic(x[0]) * g,), "you used σ(x) as the local gradient; it is (1 - σ(x)) σ(x)."),
    ],
}


def _gate_cases(rng, hidden, num_inputs):
    """(inputs, upstream) pairs; visible ones are the notebook's small integers."""
    if hidden:
        cases = []
        for _ in range(4):
            values = tuple(float(v) for v in rng.uniform(-4, 4, size=num_inputs))
            if num_inputs == 2 and abs(values[0] - values[1]) < 0.1:
                values = (values[0], values[0] + 1.0)
            cases.append((values, float(rng.uniform(-3, 3))))
        return cases
    if num_inputs == 2:
        return [((3.0, -1.0), 2.0), ((-1.0, 3.0), -1.5), ((-2.0, -4.0), 0.5)]
    return [((1.0,), 2.0), ((-0.5,), -1.5)]


def _graph_check(student_gates, rng, hidden):
    """The sigmoid neuron run through course_lib's Graph with the student's gates, vs the reference."""
    values = ({"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0} if not hidden else
              {k: float(v) for k, v in zip(["w0", "x0", "w1", "x1", "w2"], rng.uniform(-2, 2, size=5))})

    def neuron(multiply, maximum, copy, squash):
        return gates.Graph([
            (("x0_a", "x0_b"), copy(), ("x0",)),
            ("s0", multiply(), ("w0", "x0_a")),
            ("s1", multiply(), ("w1", "x1")),
            ("m", maximum(), ("s1", "x0_b")),
            ("s2", gates.AddGate(), ("s0", "m")),
            ("s3", gates.AddGate(), ("s2", "w2")),
            ("f", squash(), ("s3",)),
        ], output="f")

    reference = neuron(gates.MultiplyGate, gates.MaxGate, gates.CopyGate, gates.SigmoidGate)
    student = neuron(*[student_gates.get(k, r) for k, r in (
        ("MultiplyGate", gates.MultiplyGate), ("MaxGate", gates.MaxGate),
        ("CopyGate", gates.CopyGate), ("SigmoidGate", gates.SigmoidGate))])
    compare.case("sigmoid neuron run by course_lib.gates.Graph with your gates", **values)
    compare.scalar("graph output", student.forward(values), reference.forward(values))
    got, expected = student.backward(), reference.backward()
    for name in ["w0", "x0", "w1", "x1", "w2"]:
        compare.scalar(f"graph gradient d{name}", got[name], expected[name])


@exercise("nb01.gates_multiply_max")
def gates_multiply_max(rng, hidden, student_multiply_gate, student_max_gate):
    """Swap multiplier and gradient router, alone and inside a Graph."""
    number = 0
    for name, cls, reference in [("MultiplyGate", student_multiply_gate, gates.MultiplyGate),
                                 ("MaxGate", student_max_gate, gates.MaxGate)]:
        for inputs, upstream in _gate_cases(rng, hidden, 2):
            number += 1
            compare.case(number, gate=name, a=inputs[0], b=inputs[1], upstream=upstream)
            _check_gate(name, cls, reference, inputs, upstream)
    _graph_check({"MultiplyGate": student_multiply_gate, "MaxGate": student_max_gate}, rng, hidden)


@exercise("nb01.gates_copy_sigmoid")
def gates_copy_sigmoid(rng, hidden, student_copy_gate, student_sigmoid_gate):
    """Gradient adder and the sigmoid shortcut, alone and inside a Graph."""
    number = 0
    for inputs, upstream in _gate_cases(rng, hidden, 1):
        number += 1
        branches = (upstream, float(rng.uniform(-3, 3)) if hidden else -5.0)
        compare.case(number, gate="CopyGate", x=inputs[0], upstream=branches)
        _check_gate("CopyGate", student_copy_gate, gates.CopyGate, inputs, branches)
    for inputs, upstream in _gate_cases(rng, hidden, 1):
        number += 1
        compare.case(number, gate="SigmoidGate", x=inputs[0], upstream=upstream)
        _check_gate("SigmoidGate", student_sigmoid_gate, gates.SigmoidGate, inputs, upstream)
    _graph_check({"CopyGate": student_copy_gate, "SigmoidGate": student_sigmoid_gate}, rng, hidden)


# ---------------------------------------------------------------------------- Value local backward

def _near(got, target):
    """True when got is a real number within round-off of target (False for anything else)."""
    return (isinstance(got, (int, float)) and not isinstance(got, bool)
            and abs(got - target) <= 1e-9 * max(1.0, abs(target)))


def _grad_check(label, node, expected, before, op):
    """compare.scalar on node.grad, first naming an overwrite (= instead of +=) when it explains it."""
    got = node.grad
    if not _near(got, expected) and before != 0.0 and _near(got, expected - before):
        compare.true(False, f"{label}.grad was overwritten: it held {before:g} before "
                            f"{op}'s _backward ran and should have grown by local × upstream "
                            f"to {expected:.6g}, but it is {got:.6g}. Use += so that "
                            "contributions from several uses of a value add up.")
    compare.scalar(f"{label}.grad", got, expected)


def _local_cases(rng, hidden):
    if hidden:
        a, b = (float(v) for v in rng.uniform(-3, 3, size=2))
        if abs(a - b) < 0.1:
            b = a - 1.0
        return dict(a=a, b=b, a_grad=float(rng.uniform(-1, 1)), b_grad=float(rng.uniform(-1, 1)),
                    upstream=float(rng.uniform(-2, 2)), t_in=float(rng.uniform(-2, 2)),
                    square=float(rng.uniform(-3, 3)))
    return dict(a=2.0, b=-3.0, a_grad=0.5, b_grad=-0.25, upstream=1.5, t_in=0.7, square=3.0)


@exercise("nb01.value_local_backward")
def value_local_backward(rng, hidden, student_value):
    """Each _backward adds local × upstream into its inputs' grad (called one node at a time)."""
    p = _local_cases(rng, hidden)
    V = student_value

    def leaves():
        a, b = V(p["a"]), V(p["b"])
        a.grad, b.grad = p["a_grad"], p["b_grad"]
        return a, b

    compare.case("1 (a * b)", a=p["a"], b=p["b"], upstream=p["upstream"])
    a, b = leaves()
    out = a * b
    compare.scalar("(a * b).data", out.data, p["a"] * p["b"])
    out.grad = p["upstream"]
    out._backward()
    if _near(a.grad, p["a_grad"] + p["a"] * p["upstream"]) and abs(p["a"] - p["b"]) > 1e-6:
        compare.true(False, "a.grad got a × upstream: the multiply gate swaps — each input "
                            "receives the OTHER input times upstream (da = b · upstream).")
    _grad_check("a", a, p["a_grad"] + p["b"] * p["upstream"], p["a_grad"], "a * b")
    _grad_check("b", b, p["b_grad"] + p["a"] * p["upstream"], p["b_grad"], "a * b")

    compare.case("2 (a * a: one value used twice)", a=p["square"], upstream=p["upstream"])
    a = V(p["square"])
    out = a * a
    out.grad = p["upstream"]
    out._backward()
    expected = 2 * p["square"] * p["upstream"]
    if expected != 0 and _near(a.grad, expected / 2):
        compare.true(False, f"a.grad is {a.grad:.6g}, half of {expected:.6g}: in a * a both inputs "
                            "are the same Value, so both contributions must be ADDED (+=).")
    compare.scalar("a.grad", a.grad, expected)

    compare.case("3 (a.tanh())", a=p["t_in"], upstream=p["upstream"])
    a = V(p["t_in"])
    a.grad = p["a_grad"]
    out = a.tanh()
    t = math.tanh(p["t_in"])
    compare.scalar("a.tanh().data", out.data, t)
    out.grad = p["upstream"]
    out._backward()
    wrong_locals = [(1.0 - t, "1 - tanh(a) (the square is missing)"),
                    (t * t - 1.0, "tanh(a)² - 1 (the sign is flipped)"), (t, "tanh(a) itself")]
    for local, what in wrong_locals:
        if _near(a.grad, p["a_grad"] + local * p["upstream"]):
            compare.true(False, f"the local gradient you used is {what}; d tanh(a)/da = "
                                "1 - tanh(a)², and the forward value t = tanh(a) is at hand.")
    _grad_check("a", a, p["a_grad"] + (1 - t * t) * p["upstream"], p["a_grad"], "tanh")

    for number, (first, second) in enumerate([("a", "b"), ("b", "a")], start=4):
        compare.case(f"{number} ({first}.max({second}))", a=p["a"], b=p["b"], upstream=p["upstream"])
        a, b = leaves()
        nodes = {"a": a, "b": b}
        out = nodes[first].max(nodes[second])
        compare.scalar(f"{first}.max({second}).data", out.data, max(p["a"], p["b"]))
        out.grad = p["upstream"]
        out._backward()
        winner = "a" if p["a"] > p["b"] else "b"
        if _near(a.grad, p["a_grad"] + p["upstream"]) and _near(b.grad, p["b_grad"] + p["upstream"]):
            compare.true(False, f"both inputs received the upstream gradient; max routes ALL of it to "
                                f"the larger input ({winner} here) and nothing to the other.")
        for label, node in nodes.items():
            start = p[f"{label}_grad"]
            _grad_check(label, node, start + (p["upstream"] if label == winner else 0.0), start,
                        f"{first}.max({second})")


# ---------------------------------------------------------------------------- graphs for topo / backprop

def _describe(node):
    name = node.label or "unnamed"
    return f"{name!r} ({node.op or 'leaf'}, data {node.data:.4g})"


def _fixed_graphs():
    """(description, builder) pairs; each builder returns the root of a fresh labelled graph."""
    def sum_times():
        x, y, z = (autograd.Value(v, label=n) for v, n in [(-2.0, "x"), (5.0, "y"), (-4.0, "z")])
        q = x + y
        q.label = "q"
        f = q * z
        f.label = "f"
        return f

    def diamond():
        a = autograd.Value(2.0, label="a")
        b = autograd.Value(-3.0, label="b")
        c = a * b
        c.label = "c"
        d = c.tanh()
        d.label = "d"
        e = c * a
        e.label = "e"
        f = d + e
        f.label = "f"
        g = f.max(c)
        g.label = "g"
        return g

    def square_chain():
        x = autograd.Value(0.7, label="x")
        node = x
        for k in range(12):
            node = node * x if k % 3 == 0 else (node + 0.5).tanh()
            node.label = f"n{k}"
        return node

    def neuron():
        w = [autograd.Value(v, label=f"w{i}") for i, v in enumerate([2.0, -3.0, -3.0])]
        x = [autograd.Value(v, label=f"x{i}") for i, v in enumerate([-1.0, -2.0])]
        out = (w[0] * x[0] + w[1] * x[1] + w[2]).sigmoid()
        out.label = "out"
        return out

    return [("f = (x + y) z", sum_times), ("a graph where c and a feed several nodes", diamond),
            ("a chain where x is reused", square_chain), ("the sigmoid neuron", neuron)]


def _random_graph_builder(rng):
    """A builder of a random DAG with shared nodes (same structure every call)."""
    num_leaves = int(rng.integers(3, 6))
    leaf_values = rng.uniform(-1.5, 1.5, size=num_leaves).tolist()
    plan = []
    for k in range(int(rng.integers(8, 20))):
        available = num_leaves + k
        op = ["+", "*", "tanh", "max", "sigmoid"][int(rng.integers(0, 5))]
        first = int(rng.integers(max(0, available - 6), available))  # mostly recent: deep graphs
        second = int(rng.integers(0, available))
        plan.append((op, first, second))

    def build():
        nodes = [autograd.Value(v, label=f"leaf{i}") for i, v in enumerate(leaf_values)]
        for k, (op, first, second) in enumerate(plan):
            a, b = nodes[first], nodes[second]
            node = {"+": lambda: a + b, "*": lambda: a * b, "tanh": a.tanh,
                    "max": lambda: a.max(b), "sigmoid": a.sigmoid}[op]()
            node.label = f"n{k}"
            nodes.append(node)
        # the root combines the last node with an early one so some shared structure is reachable
        root = nodes[-1] + nodes[num_leaves]
        root.label = "root"
        return root
    return build


def _graph_builders(rng, hidden):
    if hidden:
        return [(f"random graph {k}", _random_graph_builder(rng)) for k in range(1, 5)]
    return _fixed_graphs()


def _reachable(root):
    seen, stack = {root}, [root]
    while stack:
        for child in stack.pop().inputs:
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen


@exercise("nb01.topological_order", forbid=["course_lib.autograd.topological_order"])
def topological_order(rng, hidden, student_topological_order):
    """Every reachable node once, each after its inputs, root last."""
    for number, (description, build) in enumerate(_graph_builders(rng, hidden), 1):
        root = build()
        reachable = _reachable(root)
        compare.case(f"case {number}: {description} ({len(reachable)} nodes)")
        order = student_topological_order(root)
        compare.true(order is not None, "topological_order returned None: return the list of nodes.")
        compare.true(isinstance(order, (list, tuple)),
                     f"topological_order should return a list of nodes, got {type(order).__name__}")
        order = list(order)
        seen = set()
        for node in order:
            compare.true(node not in seen,
                         f"node {_describe(node)} appears more than once. It is reached along several "
                         "paths: keep a set of visited nodes and skip a node you have already placed.")
            seen.add(node)
        missing = [n for n in reachable if n not in seen]
        if missing:
            compare.true(False, f"{len(missing)} node(s) that root depends on are missing, e.g. "
                                f"{_describe(missing[0])}: visit every input, recursively, down to the leaves.")
        extra = [n for n in order if n not in reachable]
        if extra:
            compare.true(False, f"{len(extra)} entries are not nodes of this graph (e.g. {extra[0]!r}): "
                                "return only the Values root depends on.")
        position = {node: k for k, node in enumerate(order)}
        for node in order:
            for child in node.inputs:
                compare.true(position[child] < position[node],
                             f"node {_describe(node)} comes before its input {_describe(child)}. "
                             "Append a node only AFTER all of its inputs have been placed.")
        compare.true(order[-1] is root, f"the root must come last, but the last node is {_describe(order[-1])}")
    return number


@exercise("nb01.backpropagate")
def backpropagate(rng, hidden, student_backpropagate):
    """Gradients of every node against course_lib's engine on an identical graph.

    The student's function is run with course_lib's topological_order in place of the student's
    own, so that a bug in Exercise 6 is not counted again here.
    """
    student_globals = getattr(student_backpropagate, "__globals__", None)
    if isinstance(student_globals, dict) and "topological_order" in student_globals:
        student_globals["topological_order"] = autograd.topological_order
    for number, (description, build) in enumerate(_graph_builders(rng, hidden), 1):
        root, reference_root = build(), build()
        compare.case(f"case {number}: {description}")
        student_backpropagate(root)
        reference_root.backward()
        got_order = autograd.topological_order(root)
        expected_order = autograd.topological_order(reference_root)
        if _near(root.grad, 0.0):
            compare.true(False, "root.grad is still 0 after backpropagate: the backward pass starts from "
                                "d root / d root = 1, so set root.grad = 1.0 before calling any _backward.")
        compare.scalar("root.grad", root.grad, 1.0)
        got = np.array([node.grad for node in got_order])
        expected = np.array([node.grad for node in expected_order])
        if np.any(expected) and not np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            direct = {id(c) for c in root.inputs}
            only_near_root = all(node.grad == 0.0 for node in got_order
                                 if node is not root and id(node) not in direct)
            compare.true(not only_near_root,
                         "only the root's direct inputs received a gradient: call _backward on the "
                         "nodes in REVERSE topological order (root first), so that each node has "
                         "its full gradient before it passes it on.")
        worst = int(np.argmax(np.abs(got - expected))) if len(got) else 0
        compare.true(np.allclose(got, expected, rtol=1e-9, atol=1e-12),
                     f"node {_describe(got_order[worst])} has grad {got[worst]:.6g}, expected "
                     f"{expected[worst]:.6g} (d root / d node). Set root.grad = 1, then call every "
                     "node's _backward once, in reverse topological order.")
    return number
