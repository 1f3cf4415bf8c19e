"""Verdicts of notebook 01's exercises (student side): the student's answers against the case data.

Every expected value comes from the case data (cases.py, computed with the reference). The
functions of the numerical-gradient cases are rebuilt from their description (`function`);
the graphs of the autograd exercises from their node lists (`build_graph`), as nodes whose
_backward passes gradient back with the local gradients the case data gives. The gates that
are not under test in a gates exercise are `_KnownGate`s: the notebook's forward, and a
backward that multiplies by the local Jacobian the case data gives.
"""
import numpy as np

from autograder.check import compare
from autograder.check.registry import verdict
from course_lib.autograd import sigmoid
from course_lib.gates import AddGate, Gate, Graph


def _near(got, target):
    """True when got is a real number within round-off of target (False for anything else)."""
    return (isinstance(got, (int, float)) and not isinstance(got, bool)
            and abs(got - target) <= 1e-9 * max(1.0, abs(target)))


# ---------------------------------------------------------------------------- numerical gradient

def function(spec):
    """The scalar function of an array that a {"kind": ...} description stands for."""
    kind = spec["kind"]
    if kind == "sum_cubes":
        return lambda v: float(np.sum(v**3))
    if kind == "sum_sin":
        return lambda v: float(np.sum(np.sin(v)))
    if kind == "logsumexp_cubic":
        c, d = spec["c"], spec["d"]
        return lambda v: float(np.log(np.sum(np.exp(c * v))) + np.sum(d * v**3))
    if kind == "softmax_loss":
        X, y = spec["X"], spec["y"]

        def loss(W):  # average softmax cross-entropy of the scores X @ W
            scores = X @ W
            shifted = scores - np.max(scores, axis=1, keepdims=True)
            normalizer = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            return float(-(shifted - normalizer)[np.arange(len(y)), y].mean())
        return loss
    raise ValueError(f"unknown function {kind!r}")


@verdict("nb01.numerical_gradient", forbid=["course_lib.gradcheck.eval_numerical_gradient"])
def numerical_gradient(case_data, student_numerical_gradient):
    """Centered differences at every entry, honouring h, leaving w unchanged."""
    for number, case in enumerate(case_data, 1):
        w, h = case["w"], case["h"]
        f = function(case["f"])
        compare.case(number, f=case["description"], w=w)
        w_given = w.copy()
        got = student_numerical_gradient(f, w_given) if h is None else student_numerical_gradient(f, w_given, h)
        compare.true(np.array_equal(w_given, w),
                     "numerical_gradient changed the array w it was given: nudge a copy "
                     "(np.array(w, dtype=float)) or put each entry back after evaluating f.")
        if isinstance(got, np.ndarray) and got.shape == w.shape:
            compare.true(not np.allclose(got, case["one_sided"], rtol=1e-9, atol=1e-12),
                         "numerical_gradient matches the ONE-SIDED difference (f(w + h e_i) - f(w)) / h. "
                         "Use the centered difference (f(w + h e_i) - f(w - h e_i)) / (2h): "
                         "its error shrinks like h² instead of h.")
            if h is not None:
                compare.true(not np.allclose(got, case["default_step"], rtol=1e-9, atol=1e-12),
                             f"numerical_gradient ignored the step h={h:g} it was given "
                             "and used 1e-5: use the argument h.")
        compare.array("grad", got, case["expected"], rtol=case["rtol"], atol=1e-9)


# ---------------------------------------------------------------------------- flat backward

@verdict("nb01.flat_backward")
def flat_backward(case_data, student_flat_forward_backward):
    """f = sigmoid(x) (x y + max(y, z)) and its three partial derivatives."""
    for number, case in enumerate(case_data, 1):
        x, y, z = case["x"], case["y"], case["z"]
        compare.case(number, x=x, y=y, z=z)
        result = student_flat_forward_backward(x, y, z)
        compare.true(isinstance(result, tuple) and len(result) == 4,
                     f"flat_forward_backward must return the tuple (f, dx, dy, dz), got {result!r}")
        f, dx, dy, dz = result
        compare.scalar("f", f, case["f"])
        _explain_fan_out("dx", dx, case["dx"], case["dx_branches"],
                         "x is used twice (in sigmoid(x) and in x*y)")
        if not case["y_wins"] and _near(dy, case["dy_with_max"]):
            compare.true(False, f"dy includes the max's gradient, but z = {z:g} is larger than y = {y:g}: "
                                "max routes all of its gradient to the larger input (gradient router).")
        _explain_fan_out("dy", dy, case["dy"], case["dy_branches"],
                         "y is used twice (in x*y and in max(y, z))")
        if case["y_wins"] and _near(dz, case["dz_routed"]):
            compare.true(False, f"dz should be 0 here: y = {y:g} is larger than z = {z:g}, so the max "
                                "routes all of its gradient to y (gradient router).")
        compare.scalar("dz", dz, case["dz"])


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

# (name -> what to tell the student for each usual wrong answer, in the order of the case
# data's "mistakes")
_GATE_HINTS = {
    "MultiplyGate": [
        "each input got its OWN value times upstream. The multiply gate swaps: "
        "d(a*b)/da = b, so a receives b * upstream and b receives a * upstream.",
    ],
    "MaxGate": [
        "both inputs received the upstream gradient. max is a router: "
        "only the larger input (the one forward returned) gets it, the other gets 0.",
        "the gradient went to the SMALLER input; route it to the one forward returned.",
    ],
    "CopyGate": [
        "that is only the second branch's gradient. x feeds both branches, so "
        "its gradient is the SUM of the two upstream gradients.",
        "that is only the first branch's gradient. x feeds both branches, so "
        "its gradient is the SUM of the two upstream gradients.",
    ],
    "SigmoidGate": [
        "the sign is flipped. The sigmoid rises everywhere, so its local gradient "
        "(1 - σ(x)) σ(x) is positive.",
        "you used σ(x) as the local gradient; it is (1 - σ(x)) σ(x).",
    ],
}


def _check_gate(gate_class, case):
    """Forward then backward of a student gate against the reference's outputs in the case."""
    name, inputs, upstream = case["gate"], case["inputs"], case["upstream"]
    gate = gate_class()
    out = gate.forward(*inputs)
    expected_out = case["forward"]
    if isinstance(expected_out, tuple):
        compare.true(isinstance(out, tuple) and len(out) == len(expected_out),
                     f"{name}.forward should return {len(expected_out)} outputs, got {out!r}")
        for k, (o, e) in enumerate(zip(out, expected_out)):
            compare.scalar(f"{name}.forward output {k}", o, e)
    else:
        compare.scalar(f"{name}.forward", out, expected_out)
    grads = gate.backward(upstream)
    expected = case["backward"]
    compare.true(isinstance(grads, tuple),
                 f"{name}.backward must return a tuple with one gradient per forward input, "
                 f"got {type(grads).__name__} {grads!r}" +
                 (" — write (value,) for a one-element tuple." if len(expected) == 1 else "."))
    compare.true(len(grads) == len(expected),
                 f"{name}.backward must return {len(expected)} gradient(s), one per forward input, "
                 f"got {len(grads)}: {grads!r}")
    for guess, hint in zip(case["mistakes"], _GATE_HINTS[name]):
        if all(_near(g, w) for g, w in zip(grads, guess)) and not all(
                _near(w, e) for w, e in zip(guess, expected)):
            compare.true(False, f"{name}.backward returned {grads!r}: {hint}")
    labels = ["a", "b"] if len(expected) == 2 else ["x"]
    for label, got, want in zip(labels, grads, expected):
        compare.scalar(f"{name}.backward: d{label}", got, want)


class _KnownGate(Gate):
    """A gate the exercise does not test: the notebook's forward, and a backward that
    multiplies the upstream gradient(s) by a local Jacobian given by the case data
    (local[j][i] = d output j / d input i, at the case's inputs)."""

    _FORWARD = {
        "MultiplyGate": (2, 1, lambda a, b: a * b),
        "MaxGate": (2, 1, lambda a, b: a if a >= b else b),
        "CopyGate": (1, 2, lambda x: (x, x)),
        "SigmoidGate": (1, 1, sigmoid),
    }

    def __init__(self, kind, local):
        self.num_inputs, self.num_outputs, self._forward = self._FORWARD[kind]
        self.local = local

    def forward(self, *inputs):
        return self._forward(*inputs)

    def backward(self, upstream):
        upstreams = upstream if self.num_outputs > 1 else (upstream,)
        return tuple(sum(row[i] * u for row, u in zip(self.local, upstreams))
                     for i in range(self.num_inputs))


def neuron_graph(gate_for):
    """The sigmoid neuron with x0 fanned out into the max, as a course_lib Graph.

    gate_for(node, kind) -> the gate instance of that node (node: its first output's name)."""
    return Graph([
        (("x0_a", "x0_b"), gate_for("x0_a", "CopyGate"), ("x0",)),
        ("s0", gate_for("s0", "MultiplyGate"), ("w0", "x0_a")),
        ("s1", gate_for("s1", "MultiplyGate"), ("w1", "x1")),
        ("m", gate_for("m", "MaxGate"), ("s1", "x0_b")),
        ("s2", AddGate(), ("s0", "m")),
        ("s3", AddGate(), ("s2", "w2")),
        ("f", gate_for("f", "SigmoidGate"), ("s3",)),
    ], output="f")


def _graph_check(student_gates, graph_case):
    """The sigmoid neuron run by course_lib's Graph with the student's gates, vs the reference."""
    values = graph_case["values"]

    def gate_for(node, kind):
        if kind in student_gates:
            return student_gates[kind]()
        return _KnownGate(kind, graph_case["local"][node])

    student = neuron_graph(gate_for)
    compare.case("sigmoid neuron run by course_lib.gates.Graph with your gates", **values)
    compare.scalar("graph output", student.forward(values), graph_case["output"])
    got = student.backward()
    for name in ["w0", "x0", "w1", "x1", "w2"]:
        compare.scalar(f"graph gradient d{name}", got[name], graph_case["grads"][name])


def _check_gates(case_data, student_gates):
    for number, case in enumerate(case_data["gates"], 1):
        if case["gate"] == "CopyGate":
            compare.case(number, gate="CopyGate", x=case["inputs"][0], upstream=case["upstream"])
        elif case["gate"] == "SigmoidGate":
            compare.case(number, gate="SigmoidGate", x=case["inputs"][0], upstream=case["upstream"])
        else:
            compare.case(number, gate=case["gate"], a=case["inputs"][0], b=case["inputs"][1],
                         upstream=case["upstream"])
        _check_gate(student_gates[case["gate"]], case)
    _graph_check(student_gates, case_data["graph"])


@verdict("nb01.gates_multiply_max")
def gates_multiply_max(case_data, student_multiply_gate, student_max_gate):
    """Swap multiplier and gradient router, alone and inside a Graph."""
    _check_gates(case_data, {"MultiplyGate": student_multiply_gate, "MaxGate": student_max_gate})


@verdict("nb01.gates_copy_sigmoid")
def gates_copy_sigmoid(case_data, student_copy_gate, student_sigmoid_gate):
    """Gradient adder and the sigmoid shortcut, alone and inside a Graph."""
    _check_gates(case_data, {"CopyGate": student_copy_gate, "SigmoidGate": student_sigmoid_gate})


# ---------------------------------------------------------------------------- Value local backward

def _grad_check(label, node, expected, before, op):
    """compare.scalar on node.grad, first naming an overwrite (= instead of +=) when it explains it."""
    got = node.grad
    if not _near(got, expected) and before != 0.0 and _near(got, expected - before):
        compare.true(False, f"{label}.grad was overwritten: it held {before:g} before "
                            f"{op}'s _backward ran and should have grown by local × upstream "
                            f"to {expected:.6g}, but it is {got:.6g}. Use += so that "
                            "contributions from several uses of a value add up.")
    compare.scalar(f"{label}.grad", got, expected)


# what each of the case data's tanh "wrong" grads means, in its order
_TANH_MISTAKES = ["1 - tanh(a) (the square is missing)", "tanh(a)² - 1 (the sign is flipped)",
                  "tanh(a) itself"]


@verdict("nb01.value_local_backward")
def value_local_backward(case_data, student_value):
    """Each _backward adds local × upstream into its inputs' grad (called one node at a time)."""
    p = case_data
    V = student_value

    def leaves():
        a, b = V(p["a"]), V(p["b"])
        a.grad, b.grad = p["a_grad"], p["b_grad"]
        return a, b

    compare.case("1 (a * b)", a=p["a"], b=p["b"], upstream=p["upstream"])
    a, b = leaves()
    out = a * b
    compare.scalar("(a * b).data", out.data, p["mul"]["data"])
    out.grad = p["upstream"]
    out._backward()
    if _near(a.grad, p["mul"]["a_grad_not_swapped"]) and p["mul"]["swap_visible"]:
        compare.true(False, "a.grad got a × upstream: the multiply gate swaps — each input "
                            "receives the OTHER input times upstream (da = b · upstream).")
    _grad_check("a", a, p["mul"]["a_grad"], p["a_grad"], "a * b")
    _grad_check("b", b, p["mul"]["b_grad"], p["b_grad"], "a * b")

    compare.case("2 (a * a: one value used twice)", a=p["square"], upstream=p["upstream"])
    a = V(p["square"])
    out = a * a
    out.grad = p["upstream"]
    out._backward()
    expected = p["square_grad"]
    if expected != 0 and _near(a.grad, expected / 2):
        compare.true(False, f"a.grad is {a.grad:.6g}, half of {expected:.6g}: in a * a both inputs "
                            "are the same Value, so both contributions must be ADDED (+=).")
    compare.scalar("a.grad", a.grad, expected)

    compare.case("3 (a.tanh())", a=p["t_in"], upstream=p["upstream"])
    a = V(p["t_in"])
    a.grad = p["a_grad"]
    out = a.tanh()
    compare.scalar("a.tanh().data", out.data, p["tanh"]["data"])
    out.grad = p["upstream"]
    out._backward()
    for wrong, what in zip(p["tanh"]["wrong"], _TANH_MISTAKES):
        if _near(a.grad, wrong):
            compare.true(False, f"the local gradient you used is {what}; d tanh(a)/da = "
                                "1 - tanh(a)², and the forward value t = tanh(a) is at hand.")
    _grad_check("a", a, p["tanh"]["a_grad"], p["a_grad"], "tanh")

    for number, case in enumerate(p["max"], start=4):
        first, second = case["first"], case["second"]
        compare.case(f"{number} ({first}.max({second}))", a=p["a"], b=p["b"], upstream=p["upstream"])
        a, b = leaves()
        nodes = {"a": a, "b": b}
        out = nodes[first].max(nodes[second])
        compare.scalar(f"{first}.max({second}).data", out.data, case["data"])
        out.grad = p["upstream"]
        out._backward()
        if _near(a.grad, case["both_routed"][0]) and _near(b.grad, case["both_routed"][1]):
            compare.true(False, f"both inputs received the upstream gradient; max routes ALL of it to "
                                f"the larger input ({case['winner']} here) and nothing to the other.")
        for label, node in nodes.items():
            _grad_check(label, node, case[f"{label}_grad"], p[f"{label}_grad"],
                        f"{first}.max({second})")


# ---------------------------------------------------------------------------- graphs for topo / backprop

class _Node:
    """A graph node with the attributes of the notebook's Value (data, grad, inputs, op, label,
    _backward). Its _backward adds local gradient × self.grad into each input's grad, with the
    local gradients the case data gives."""

    def __init__(self, data, inputs, op, label):
        self.data = float(data)
        self.grad = 0.0
        self.inputs = tuple(inputs)
        self.op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"


def _pass_back(node, pushes):
    def _backward():
        for source, local_gradient in pushes:
            source.grad += local_gradient * node.grad
    return _backward


def build_graph(graph):
    """The nodes of a case's graph, in the case data's order (a topological order, root last)."""
    nodes = []
    for spec in graph["nodes"]:
        node = _Node(spec["data"], [nodes[k] for k in spec["inputs"]], spec["op"], spec["label"])
        node._backward = _pass_back(node, [(nodes[k], local) for k, local in spec["local"]])
        nodes.append(node)
    return nodes


def _describe(node):
    name = node.label or "unnamed"
    return f"{name!r} ({node.op or 'leaf'}, data {node.data:.4g})"


@verdict("nb01.topological_order", forbid=["course_lib.autograd.topological_order"])
def topological_order(case_data, student_topological_order):
    """Every reachable node once, each after its inputs, root last."""
    for number, graph in enumerate(case_data, 1):
        nodes = build_graph(graph)
        root = nodes[-1]
        reachable = set(nodes)
        compare.case(f"case {number}: {graph['description']} ({len(nodes)} nodes)")
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
        missing = [n for n in nodes if n not in seen]
        if missing:
            compare.true(False, f"{len(missing)} node(s) that root depends on are missing, e.g. "
                                f"{_describe(missing[0])}: visit every input, recursively, down to the leaves.")
        extra = [n for n in order if n not in reachable]
        if extra:
            compare.true(False, f"{len(extra)} entries are not nodes of this graph (e.g. {extra[0]!r}): "
                                "return only the Values root depends on.")
        position = {node: k for k, node in enumerate(order)}
        for node in order:
            for source in node.inputs:
                compare.true(position[source] < position[node],
                             f"node {_describe(node)} comes before its input {_describe(source)}. "
                             "Append a node only AFTER all of its inputs have been placed.")
        compare.true(order[-1] is root, f"the root must come last, but the last node is {_describe(order[-1])}")
    return number


@verdict("nb01.backpropagate")
def backpropagate(case_data, student_backpropagate):
    """Gradients of every node against the reference engine's on the same graph.

    The student's function is run with a known topological order (the case data's) in place of
    the student's own topological_order, so that a bug in Exercise 6 is not counted again here.
    """
    current = {"nodes": []}

    def known_topological_order(root):
        """The case's nodes up to root, in the case data's (topological) order."""
        nodes = current["nodes"]
        return nodes[:nodes.index(root) + 1] if root in nodes else [root]

    student_globals = getattr(student_backpropagate, "__globals__", None)
    if isinstance(student_globals, dict) and "topological_order" in student_globals:
        student_globals["topological_order"] = known_topological_order
    for number, graph in enumerate(case_data, 1):
        nodes = build_graph(graph)
        current["nodes"] = nodes
        root = nodes[-1]
        compare.case(f"case {number}: {graph['description']}")
        student_backpropagate(root)
        if _near(root.grad, 0.0):
            compare.true(False, "root.grad is still 0 after backpropagate: the backward pass starts from "
                                "d root / d root = 1, so set root.grad = 1.0 before calling any _backward.")
        compare.scalar("root.grad", root.grad, 1.0)
        got = np.array([node.grad for node in nodes])
        expected = np.array(graph["grads"])
        if np.any(expected) and not np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            direct = {id(c) for c in root.inputs}
            only_near_root = all(node.grad == 0.0 for node in nodes
                                 if node is not root and id(node) not in direct)
            compare.true(not only_near_root,
                         "only the root's direct inputs received a gradient: call _backward on the "
                         "nodes in REVERSE topological order (root first), so that each node has "
                         "its full gradient before it passes it on.")
        worst = int(np.argmax(np.abs(got - expected))) if len(got) else 0
        compare.true(np.allclose(got, expected, rtol=1e-9, atol=1e-12),
                     f"node {_describe(nodes[worst])} has grad {got[worst]:.6g}, expected "
                     f"{expected[worst]:.6g} (d root / d node). Set root.grad = 1, then call every "
                     "node's _backward once, in reverse topological order.")
    return number
