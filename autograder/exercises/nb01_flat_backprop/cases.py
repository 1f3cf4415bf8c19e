"""Cases of notebook 01's exercises (instructor side): inputs and the reference's answers.

Expected values come from course_lib's reference (gradcheck, gates, the autograd engine) or
from closed forms written out here. What the verdicts cannot receive as objects is described
as data: the functions whose gradient is taken ({"kind": ...}, rebuilt by verdicts.function),
and the graphs of the autograd exercises (node lists with each node's local gradients, probed
from the reference engine and rebuilt by verdicts.build_graph).
"""
import math

import numpy as np

from autograder.exercises.casebook import cases
from autograder.exercises.nb01_flat_backprop.verdicts import function
from course_lib import autograd, gates


def _logistic(x):
    return 1.0 / (math.exp(-x) + 1.0)


# ---------------------------------------------------------------------------- numerical gradient

def _softmax_loss_grad(X, y, W):
    """Analytic gradient of the average softmax cross-entropy of X @ W (W: (D, C))."""
    scores = X @ W
    p = np.exp(scores - np.max(scores, axis=1, keepdims=True))
    p = p / np.sum(p, axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1.0  # P - Y
    return X.T @ p / len(y)


def _centered(f, w, h):
    grad = np.zeros(w.shape)
    for index in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


def _one_sided(f, w, h):
    grad = np.zeros(w.shape)
    f_w = f(w.copy())
    for index in np.ndindex(w.shape):
        plus = w.copy()
        plus[index] += h
        grad[index] = (f(plus) - f_w) / h
    return grad


def _gradient_inputs(rng, hidden):
    """(description, function spec, w, h or None for the default, expected gradient, rtol)."""
    inputs = []
    if hidden:
        for shape in [(int(rng.integers(2, 6)),), (int(rng.integers(2, 4)), int(rng.integers(2, 4)))]:
            w = rng.uniform(-1.5, 1.5, size=shape)
            c = rng.uniform(0.5, 2.0, size=shape)
            d = rng.uniform(-1.0, 1.0, size=shape)
            soft = np.exp(c * w) / np.sum(np.exp(c * w))
            inputs.append(("log-sum-exp plus cubic", {"kind": "logsumexp_cubic", "c": c, "d": d},
                           w, None, soft * c + 3 * d * w**2, 1e-6))
        X = np.column_stack([rng.standard_normal((5, 2)), np.ones(5)])
        y = rng.integers(0, 3, size=5)
        W = rng.standard_normal((3, 3))
        inputs.append(("softmax loss of W (3, 3)", {"kind": "softmax_loss", "X": X, "y": y}, W, None,
                       _softmax_loss_grad(X, y, W), 1e-6))
        h = float(rng.uniform(0.05, 0.3))
        w = rng.uniform(-2, 2, size=(int(rng.integers(2, 5)),))
        inputs.append((f"sum(sin(w)) with h={h:.3f}", {"kind": "sum_sin"}, w, h,
                       np.cos(w) * math.sin(h) / h, 1e-9))
    else:
        w = np.array([1.0, -2.0, 0.5])
        inputs.append(("sum(w**3)", {"kind": "sum_cubes"}, w, None, 3 * w**2, 1e-7))
        X = np.array([[1.0, 2.0, 1.0], [-1.5, 0.5, 1.0], [0.3, -1.2, 1.0], [2.0, -0.7, 1.0]])
        y = np.array([0, 1, 2, 1])
        W = np.array([0.34, -1.11, 0.78, 0.12, 0.55, 2.81, -3.1, -1.5, 0.33]).reshape(3, 3)
        inputs.append(("the notebook's 9-weight softmax loss", {"kind": "softmax_loss", "X": X, "y": y},
                       W, None, _softmax_loss_grad(X, y, W), 1e-6))
        w = np.array([[0.3, -1.2], [2.0, 0.7]])
        # with h = 0.1 the centered difference of sin is exactly cos(w) sin(h) / h
        inputs.append(("sum(sin(w)) with h=0.1", {"kind": "sum_sin"}, w, 0.1,
                       np.cos(w) * math.sin(0.1) / 0.1, 1e-9))
    return inputs


def _all_at_once(f, w, h):
    """Every entry nudged together: (f(w + h) - f(w - h)) / 2h in every position."""
    return np.full(w.shape, (f(w + h) - f(w - h)) / (2 * h))


@cases("nb01.numerical_gradient", answered_by=["course_lib.gradcheck.eval_numerical_gradient"])
def numerical_gradient(rng, hidden):
    """Each case: f as data, w, h (None: the default), the expected gradient, and the usual
    wrong answers computed with the same f: one-sided differences, h ignored (1e-5 used), the
    centered difference divided by h instead of 2h, and every entry nudged at once."""
    result = []
    for description, spec, w, h, expected, rtol in _gradient_inputs(rng, hidden):
        f = function(spec)
        step = 1e-5 if h is None else h
        result.append({"description": description, "f": spec, "w": w, "h": h,
                       "expected": expected, "rtol": rtol,
                       "one_sided": _one_sided(f, w, step),
                       "default_step": None if h is None else _centered(f, w, 1e-5),
                       "over_h": 2.0 * _centered(f, w, step),
                       "all_at_once": _all_at_once(f, w, step)})
    return result


# ---------------------------------------------------------------------------- flat backward

# the usual wrong backward passes, named as in verdicts._FLAT_HINTS
_FLAT_MISTAKES = ("max_to_both", "max_to_smaller", "tie_to_z", "sigma_as_local", "sigmoid_sign",
                  "sigmoid_without_upstream", "product_not_swapped", "xy_not_swapped",
                  "xy_without_upstream")


def _flat_gradients(x, y, z, mistake=None):
    """(dx, dy, dz) of f = sigmoid(x) (x y + max(y, z)), right or with one named mistake."""
    s = _logistic(x)
    inner = x * y + max(y, z)
    d_sigmoid, d_inner = (s, inner) if mistake == "product_not_swapped" else (inner, s)
    y_gets = {"tie_to_z": y > z, "max_to_smaller": y < z}.get(mistake, y >= z)
    dy_max, dz = (d_inner, 0.0) if y_gets else (0.0, d_inner)
    if mistake == "max_to_both":
        dy_max = dz = d_inner
    local = {"sigma_as_local": s, "sigmoid_sign": (s - 1.0) * s}.get(mistake, (1.0 - s) * s)
    dx_sigmoid = local if mistake == "sigmoid_without_upstream" else local * d_sigmoid
    dx_xy, dy_xy = {"xy_not_swapped": (x * d_inner, y * d_inner),
                    "xy_without_upstream": (y, x)}.get(mistake, (y * d_inner, x * d_inner))
    return dx_xy + dx_sigmoid, dy_max + dy_xy, dz


@cases("nb01.flat_backward")
def flat_backward(rng, hidden):
    """Points (x, y, z), f = sigmoid(x) (x y + max(y, z)) and its partials, the one-branch
    values of the fanned-out x and y, and (dx, dy, dz) of each usual mistake. The last point
    is a tie (y = z), where the text sends the max's gradient to y."""
    if hidden:
        points = []
        while len(points) < 6:
            x, y, z = (float(v) for v in rng.uniform(-3, 3, size=3))
            if abs(y - z) > 0.2:
                points.append((x, y, z))
        x, y = (float(v) for v in rng.uniform(-3, 3, size=2))
        points.append((x, y, y))
    else:
        points = [(1.0, -2.0, 3.0), (-0.5, 2.0, 1.0), (2.0, 0.5, -1.0), (0.5, -1.0, -1.0)]
    result = []
    for x, y, z in points:
        s = _logistic(x)
        inner = x * y + max(y, z)
        y_wins = y >= z
        dx, dy, dz = _flat_gradients(x, y, z)
        mistakes = {}
        for name in _FLAT_MISTAKES:
            if name == "max_to_smaller" and y == z:
                continue  # a tie has no smaller input: that is tie_to_z
            wrong = _flat_gradients(x, y, z, name)
            if max(abs(w - r) for w, r in zip(wrong, (dx, dy, dz))) > 1e-6:
                mistakes[name] = list(wrong)
        result.append({
            "x": x, "y": y, "z": z, "y_wins": y_wins, "tie": y == z,
            "f": s * inner, "dx": dx, "dy": dy, "dz": dz,
            "dx_branches": [s * (1 - s) * inner, s * y],
            "dy_branches": [s * x, s if y_wins else 0.0],
            "dy_with_max": s * x + s,   # dy if the max's gradient went to y although z won
            "dz_routed": s,             # dz if the max's gradient went to z although y won
            "mistakes": mistakes,
        })
    return result


# ---------------------------------------------------------------------------- gates

_REFERENCE_GATES = {"MultiplyGate": gates.MultiplyGate, "MaxGate": gates.MaxGate,
                    "CopyGate": gates.CopyGate, "SigmoidGate": gates.SigmoidGate}


def _sigmoid_local(x):
    s = _logistic(x)
    return (1.0 - s) * s


# gate -> {mistake name: its backward as a function of (inputs, upstream), or None where the
# mistake gives the right answer}; the names are those of verdicts._GATE_HINTS
_GATE_MISTAKES = {
    "MultiplyGate": {
        "not_swapped": lambda ab, g: (ab[0] * g, ab[1] * g),
        "without_upstream": lambda ab, g: (ab[1], ab[0]),
    },
    "MaxGate": {
        "both": lambda ab, g: (g, g),
        "to_b_although_a_wins": lambda ab, g: (0.0, g) if ab[0] >= ab[1] else None,
        "to_a_although_b_wins": lambda ab, g: (g, 0.0) if ab[0] < ab[1] else None,
        "without_upstream": lambda ab, g: (1.0, 0.0) if ab[0] >= ab[1] else (0.0, 1.0),
    },
    "CopyGate": {
        "second_only": lambda x, g: (g[1],),
        "first_only": lambda x, g: (g[0],),
    },
    "SigmoidGate": {
        "sign_flipped": lambda x, g: (-_sigmoid_local(x[0]) * g,),
        "sigma_as_local": lambda x, g: (_logistic(x[0]) * g,),
        "without_upstream": lambda x, g: (_sigmoid_local(x[0]),),
        "sigmoid_of_output": lambda x, g: (_sigmoid_local(_logistic(x[0])) * g,),
    },
}


def _gate_inputs(rng, hidden, num_inputs):
    """(inputs, upstream) pairs; visible ones are the notebook's small integers."""
    if hidden:
        pairs = []
        for k in range(4):
            values = tuple(float(v) for v in rng.uniform(-4, 4, size=num_inputs))
            if num_inputs == 2:
                if abs(values[0] - values[1]) < 0.1:
                    values = (values[0], values[0] + 1.0)
                # a is the larger input in the even cases, b in the odd ones
                values = tuple(sorted(values, reverse=k % 2 == 0))
            pairs.append((values, float(rng.uniform(-3, 3))))
        return pairs
    if num_inputs == 2:
        return [((3.0, -1.0), 2.0), ((-1.0, 3.0), -1.5), ((-2.0, -4.0), 0.5)]
    return [((1.0,), 2.0), ((-0.5,), -1.5)]


def _gate_case(name, inputs, upstream):
    """The reference gate's forward and backward on one input, and the usual wrong answers."""
    reference = _REFERENCE_GATES[name]()
    forward = reference.forward(*inputs)
    backward = tuple(float(g) for g in reference.backward(upstream))
    return {"gate": name, "inputs": inputs, "upstream": upstream, "forward": forward,
            "backward": backward,
            "mistakes": {mistake: tuple(float(v) for v in wrong(inputs, upstream))
                         for mistake, wrong in _GATE_MISTAKES[name].items()
                         if wrong(inputs, upstream) is not None}}


def _local_jacobian(gate):
    """[[d output j / d input i for i] for j]: the gate's backward probed with unit upstreams."""
    if gate.num_outputs == 1:
        return [list(gate.backward(1.0))]
    rows = []
    for j in range(gate.num_outputs):
        unit = tuple(1.0 if k == j else 0.0 for k in range(gate.num_outputs))
        rows.append(list(gate.backward(unit)))
    return rows


def _graph_case(rng, hidden):
    """The sigmoid neuron of verdicts.neuron_graph run by course_lib's Graph with the reference
    gates: inputs, output, every gradient, and the local Jacobian of each non-add gate."""
    values = ({"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0} if not hidden else
              {k: float(v) for k, v in zip(["w0", "x0", "w1", "x1", "w2"], rng.uniform(-2, 2, size=5))})
    kinds = {"x0_a": "CopyGate", "s0": "MultiplyGate", "s1": "MultiplyGate", "m": "MaxGate",
             "f": "SigmoidGate"}
    gate_of = {node: _REFERENCE_GATES[kind]() for node, kind in kinds.items()}
    graph = gates.Graph([
        (("x0_a", "x0_b"), gate_of["x0_a"], ("x0",)),
        ("s0", gate_of["s0"], ("w0", "x0_a")),
        ("s1", gate_of["s1"], ("w1", "x1")),
        ("m", gate_of["m"], ("s1", "x0_b")),
        ("s2", gates.AddGate(), ("s0", "m")),
        ("s3", gates.AddGate(), ("s2", "w2")),
        ("f", gate_of["f"], ("s3",)),
    ], output="f")
    output = graph.forward(values)
    grads = graph.backward()
    return {"values": values, "output": output,
            "grads": {name: float(grads[name]) for name in ["w0", "x0", "w1", "x1", "w2"]},
            "local": {node: _local_jacobian(gate) for node, gate in gate_of.items()}}


@cases("nb01.gates_multiply_max", answered_by=["course_lib.gates.MultiplyGate.backward",
                                               "course_lib.gates.MaxGate.backward"])
def gates_multiply_max(rng, hidden):
    gate_cases = [_gate_case(name, inputs, upstream)
                  for name in ("MultiplyGate", "MaxGate")
                  for inputs, upstream in _gate_inputs(rng, hidden, 2)]
    return {"gates": gate_cases, "graph": _graph_case(rng, hidden)}


@cases("nb01.gates_copy_sigmoid", answered_by=["course_lib.gates.CopyGate.backward",
                                               "course_lib.gates.SigmoidGate.backward"])
def gates_copy_sigmoid(rng, hidden):
    gate_cases = []
    for inputs, upstream in _gate_inputs(rng, hidden, 1):
        branches = (upstream, float(rng.uniform(-3, 3)) if hidden else -5.0)
        gate_cases.append(_gate_case("CopyGate", inputs, branches))
    for inputs, upstream in _gate_inputs(rng, hidden, 1):
        gate_cases.append(_gate_case("SigmoidGate", inputs, upstream))
    return {"gates": gate_cases, "graph": _graph_case(rng, hidden)}


# ---------------------------------------------------------------------------- Value local backward

def _after_backward(op, data, grads, upstream):
    """Run one reference engine node: inputs `data` with starting `grads`, `op` applied
    ("mul", "square", "tanh", "max_ab", "max_ba"), out.grad = upstream, out._backward().
    Returns (out.data, the inputs' grads afterwards)."""
    nodes = [autograd.Value(v) for v in data]
    for node, grad in zip(nodes, grads):
        node.grad = grad
    if op == "mul":
        out = nodes[0] * nodes[1]
    elif op == "square":
        out = nodes[0] * nodes[0]
    elif op == "tanh":
        out = nodes[0].tanh()
    elif op == "max_ab":
        out = nodes[0].max(nodes[1])
    else:
        out = nodes[1].max(nodes[0])
    out.grad = upstream
    out._backward()
    return out.data, [node.grad for node in nodes]


@cases("nb01.value_local_backward", answered_by=["course_lib.autograd.Value.__mul__",
                                                 "course_lib.autograd.Value.tanh",
                                                 "course_lib.autograd.Value.max",
                                                 "course_lib.autograd.Value._result"])
def value_local_backward(rng, hidden):
    """The inputs (a, b with their starting grads, upstream, tanh's input, the squared value, a
    tie value), the reference engine's results of each node, and the usual wrong grads: among
    them the grads without the upstream factor (local gradient alone, as if out.grad were 1)."""
    if hidden:
        a, b = (float(v) for v in rng.uniform(-3, 3, size=2))
        if abs(a - b) < 0.1:
            b = a - 1.0
        p = dict(a=a, b=b, a_grad=float(rng.uniform(-1, 1)), b_grad=float(rng.uniform(-1, 1)),
                 upstream=float(rng.uniform(1.2, 2.5) * rng.choice([-1.0, 1.0])),
                 t_in=float(rng.uniform(-2, 2)), square=float(rng.uniform(-3, 3)),
                 tie=float(rng.uniform(-3, 3)))
    else:
        p = dict(a=2.0, b=-3.0, a_grad=0.5, b_grad=-0.25, upstream=1.5, t_in=0.7, square=3.0, tie=1.5)
    up = p["upstream"]
    start = [p["a_grad"], p["b_grad"]]

    data, (a_grad, b_grad) = _after_backward("mul", [p["a"], p["b"]], start, up)
    p["mul"] = {"data": data, "a_grad": a_grad, "b_grad": b_grad,
                "a_grad_not_swapped": p["a_grad"] + p["a"] * up,
                "swap_visible": abs(p["a"] - p["b"]) > 1e-6,
                "no_upstream": [p["a_grad"] + p["b"], p["b_grad"] + p["a"]]}

    _, (square_grad,) = _after_backward("square", [p["square"]], [0.0], up)
    p["square_grad"] = square_grad
    p["square_no_upstream"] = 2.0 * p["square"]

    data, (tanh_grad,) = _after_backward("tanh", [p["t_in"]], [p["a_grad"]], up)
    t = math.tanh(p["t_in"])
    # the usual wrong local gradients (names as in verdicts._TANH_MISTAKES), each times upstream
    wrong_local = {"square_missing": 1.0 - t, "sign_flipped": t * t - 1.0, "tanh_itself": t,
                   "input_squared": 1.0 - p["t_in"] ** 2}
    wrong = {name: p["a_grad"] + local * up for name, local in wrong_local.items()}
    wrong["without_upstream"] = p["a_grad"] + (1.0 - t * t)
    p["tanh"] = {"data": data, "a_grad": tanh_grad, "wrong": wrong}

    p["max"] = []
    for first, second, op, tie in [("a", "b", "max_ab", False), ("b", "a", "max_ba", False),
                                   ("a", "b", "max_ab", True)]:
        values = [p["tie"], p["tie"]] if tie else [p["a"], p["b"]]
        data, (a_grad, b_grad) = _after_backward(op, values, start, up)
        winner = first if tie else ("a" if values[0] > values[1] else "b")
        loser = "b" if winner == "a" else "a"
        to_loser = {winner: p[f"{winner}_grad"], loser: p[f"{loser}_grad"] + up}
        no_upstream = {winner: p[f"{winner}_grad"] + 1.0, loser: p[f"{loser}_grad"]}
        p["max"].append({"first": first, "second": second, "tie": tie,
                         "a": values[0], "b": values[1], "data": data,
                         "winner": winner, "a_grad": a_grad, "b_grad": b_grad,
                         "both_routed": [p["a_grad"] + up, p["b_grad"] + up],
                         "to_loser": [to_loser["a"], to_loser["b"]],
                         "no_upstream": [no_upstream["a"], no_upstream["b"]]})
    return p


# ---------------------------------------------------------------------------- graphs for topo / backprop

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


def _graph_data(description, build):
    """A reference graph as plain data: its nodes in the reference topological order (root
    last), each with label, op, data, inputs (indices into the list, in the node's input
    order) and local (pairs [input index, d node / d input] for each distinct input, probed by
    running the node's _backward alone with upstream 1); and every node's grad after the
    reference engine's backward from the root."""
    root = build()
    order = autograd.topological_order(root)
    index = {node: k for k, node in enumerate(order)}
    local = []
    for node in order:
        sources = list(dict.fromkeys(node.inputs))
        for source in sources:
            source.grad = 0.0
        node.grad = 1.0
        node._backward()
        local.append([[index[source], source.grad] for source in sources])
        for source in sources:
            source.grad = 0.0
        node.grad = 0.0
    root.backward()
    nodes = [{"label": node.label, "op": node.op, "data": node.data,
              "inputs": [index[child] for child in node.inputs], "local": pushes}
             for node, pushes in zip(order, local)]
    return {"description": description, "nodes": nodes, "grads": [node.grad for node in order]}


def _graphs(rng, hidden):
    if hidden:
        builders = [(f"random graph {k}", _random_graph_builder(rng)) for k in range(1, 5)]
    else:
        builders = _fixed_graphs()
    return [_graph_data(description, build) for description, build in builders]


@cases("nb01.topological_order", answered_by=["course_lib.autograd.topological_order"])
def topological_order(rng, hidden):
    """Graphs as node lists (see _graph_data); the verdict checks the order itself."""
    return _graphs(rng, hidden)


@cases("nb01.backpropagate", answered_by=["course_lib.autograd.Value.backward"])
def backpropagate(rng, hidden):
    """Graphs as node lists with the reference engine's gradient of every node."""
    return _graphs(rng, hidden)
