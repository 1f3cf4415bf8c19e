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
from autograder.check.remote import Trace, in_runner
from course_lib.autograd import sigmoid
from course_lib.gates import AddGate, Gate, Graph


def _near(got, target):
    """True when got is a real number within round-off of target (False for anything else)."""
    return (isinstance(got, (int, float)) and not isinstance(got, bool)
            and abs(got - target) <= 1e-9 * max(1.0, abs(target)))


# ---------------------------------------------------------------------------- numerical gradient

@in_runner
def function(spec):
    """The scalar function of an array that a {"kind": ...} description stands for (made in the
    runner, where the student's numerical_gradient calls it)."""
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
            _explain_gradient_mistake(got, case)
        compare.array("grad", got, case["expected"], rtol=case["rtol"], atol=1e-9)


def _explain_gradient_mistake(got, case):
    """Fail naming the mistake when got is what a usual wrong numerical gradient gives."""
    expected = case["expected"]

    def is_(wrong):
        return (np.allclose(got, wrong, rtol=1e-9, atol=1e-12)
                and not np.allclose(wrong, expected, rtol=case["rtol"], atol=1e-9))

    compare.true(not is_(case["over_h"]),
                 "numerical_gradient is exactly twice the centered difference: you divided "
                 "f(w + h e_i) - f(w - h e_i) by h, but the two points are 2h apart: divide by 2h.")
    compare.true(not is_(case["all_at_once"]),
                 "every entry of your gradient is the same number, (f(w + h) - f(w - h)) / 2h with "
                 "ALL entries of w nudged together. Nudge one entry at a time: w + h e_i changes "
                 "only entry i (e_i is 1 at position i and 0 elsewhere).")
    compare.true(bool(np.any(got)) or not np.any(np.abs(expected) > 1e-6),
                 "numerical_gradient returned all zeros although f changes with w: either nothing "
                 "was written into the gradient array, or f(w + h e_i) and f(w - h e_i) were "
                 "evaluated on the same array (w_minus = w_plus makes two names for ONE array, "
                 "so both nudges cancel): make each nudged point its own copy of w.")


# ---------------------------------------------------------------------------- flat backward

def _larger(case):
    return f"y = {case['y']:g}" if case["y"] > case["z"] else f"z = {case['z']:g}"


# what each usual wrong backward pass of the case data's "mistakes" did, as a function of the case
_FLAT_HINTS = {
    "max_to_both": lambda c: (
        "both y and z received the max's gradient. max is a router: ALL of its gradient goes "
        f"to the larger input ({_larger(c)} here), nothing to the other."),
    "max_to_smaller": lambda c: (
        f"the max's gradient went to the SMALLER input; {_larger(c)} is the larger one, so it "
        "gets all of it and the other input gets 0."),
    "tie_to_z": lambda c: (
        f"at a tie (y = z = {c['y']:g}) you sent the max's gradient to z. max has no derivative "
        "at a tie, so the exercise fixes a convention: all of it goes to y (compare with y >= z, "
        "not y > z), and z gets 0."),
    "sigma_as_local": lambda c: (
        "the sigmoid branch of dx used σ(x) itself as the local gradient; the sigmoid shortcut "
        "is σ'(x) = (1 - σ(x)) σ(x)."),
    "sigmoid_sign": lambda c: (
        "the sigmoid branch of dx has the wrong sign: σ'(x) = (1 - σ(x)) σ(x) is positive, "
        "since σ rises everywhere."),
    "sigmoid_without_upstream": lambda c: (
        "the sigmoid branch of dx is the local gradient (1 - σ(x)) σ(x) alone: multiply it by "
        "the upstream gradient of s3, which is s2 (= x*y + max(y, z), the other factor of f)."),
    "product_not_swapped": lambda c: (
        "the product f = s3 * s2 did not swap: the gradient of s3 is s2 times upstream, and the "
        "gradient of s2 is s3 times upstream (each input gets the OTHER input)."),
    "xy_not_swapped": lambda c: (
        "the x*y stage did not swap: x gets y times the upstream gradient ds0, "
        "and y gets x times ds0."),
    "xy_without_upstream": lambda c: (
        "the x*y stage passed back its local gradients alone (y to x, x to y): multiply them by "
        "its upstream gradient ds0 (= σ(x) here, through the add and the product)."),
}


def _numbers(values):
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


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
        expected = (case["dx"], case["dy"], case["dz"])
        for mistake, wrong in case["mistakes"].items():
            if all(_near(got, w) for got, w in zip((dx, dy, dz), wrong)):
                compare.true(False, f"(dx, dy, dz) = {_numbers((dx, dy, dz))}, expected "
                                    f"{_numbers(expected)}: {_FLAT_HINTS[mistake](case)}")
        _explain_fan_out("dx", dx, case["dx"], case["dx_branches"],
                         "x is used twice (in sigmoid(x) and in x*y)")
        if not case["y_wins"] and _near(dy, case["dy_with_max"]):
            compare.true(False, f"dy includes the max's gradient, but z = {z:g} is larger than y = {y:g}: "
                                "max routes all of its gradient to the larger input (gradient router).")
        _explain_fan_out("dy", dy, case["dy"], case["dy_branches"],
                         "y is used twice (in x*y and in max(y, z))")
        if case["y_wins"] and _near(dz, case["dz_routed"]):
            reason = (f"at a tie (y = z = {y:g}) the exercise sends the max's gradient to y" if case["tie"]
                      else f"y = {y:g} is larger than z = {z:g}, so the max routes all of its gradient to y")
            compare.true(False, f"dz should be 0 here: {reason} (gradient router).")
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

_TUPLE_NOTE = ("self.saved_values is always a tuple, even when forward saved a single value: "
               "unpack it first, e.g. `(value,) = self.saved_values` or `self.saved_values[0]`.")

# gate -> {name of a usual wrong answer in the case data's "mistakes": what to tell the
# student, as a function of (inputs, upstream)}
_GATE_HINTS = {
    "MultiplyGate": {
        "not_swapped": lambda ab, g: (
            "each input got its OWN value times upstream. The multiply gate swaps: "
            "d(a*b)/da = b, so a receives b * upstream and b receives a * upstream."),
        "without_upstream": lambda ab, g: (
            f"that is (b, a) = ({ab[1]:g}, {ab[0]:g}), the local gradients alone. Multiply each by "
            f"the upstream gradient ({g:g}): downstream = local × upstream."),
    },
    "MaxGate": {
        "both": lambda ab, g: (
            "both inputs received the upstream gradient. max is a router: "
            "only the larger input (the one forward returned) gets it, the other gets 0."),
        "to_b_although_a_wins": lambda ab, g: (
            f"the gradient went to the SMALLER input b = {ab[1]:g}; route it to the one forward "
            f"returned, a = {ab[0]:g}."),
        "to_a_although_b_wins": lambda ab, g: (
            f"the gradient went to a = {ab[0]:g}, but b = {ab[1]:g} is larger and forward returned "
            "it: route the gradient to b. If you read the flag forward saved as "
            "`a_wins = self.saved_values`, a_wins is the tuple (False,), and a non-empty tuple "
            "counts as true in an `if`. " + _TUPLE_NOTE),
        "without_upstream": lambda ab, g: (
            f"the router passed 1 instead of the upstream gradient ({g:g}): the larger input "
            "receives upstream itself (its local gradient 1 × upstream)."),
    },
    "CopyGate": {
        "second_only": lambda x, g: (
            "that is only the second branch's gradient. x feeds both branches, so "
            "its gradient is the SUM of the two upstream gradients."),
        "first_only": lambda x, g: (
            "that is only the first branch's gradient. x feeds both branches, so "
            "its gradient is the SUM of the two upstream gradients."),
    },
    "SigmoidGate": {
        "sign_flipped": lambda x, g: (
            "the sign is flipped. The sigmoid rises everywhere, so its local gradient "
            "(1 - σ(x)) σ(x) is positive."),
        "sigma_as_local": lambda x, g: "you used σ(x) as the local gradient; it is (1 - σ(x)) σ(x).",
        "without_upstream": lambda x, g: (
            f"that is the local gradient (1 - σ(x)) σ(x) alone: multiply it by the upstream "
            f"gradient ({g:g})."),
        "sigmoid_of_output": lambda x, g: (
            "you applied the sigmoid to the saved value again: forward saved the OUTPUT "
            "σ(x) already, so the local gradient is (1 - out) * out with out the saved value."),
    },
}


def _run_backward(gate, name, upstream):
    """gate.backward(upstream), naming the tuple that a TypeError about a tuple came from."""
    try:
        return gate.backward(upstream)
    except TypeError as error:
        if "tuple" in str(error) or "sequence" in str(error):
            if name == "CopyGate":
                compare.true(False, f"{name}.backward raised TypeError: {error}. Its upstream is a "
                                    "tuple (first, second), one gradient per output: unpack it "
                                    "before doing arithmetic.")
            compare.true(False, f"{name}.backward raised TypeError: {error}. " + _TUPLE_NOTE)
        raise


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
    grads = _run_backward(gate, name, upstream)
    expected = case["backward"]
    compare.true(isinstance(grads, tuple),
                 f"{name}.backward must return a tuple with one gradient per forward input, "
                 f"got {type(grads).__name__} {grads!r}" +
                 (" — write (value,) for a one-element tuple." if len(expected) == 1 else "."))
    if name == "CopyGate" and len(grads) == 2:
        compare.true(False, f"{name}.backward returned 2 gradients, {grads!r}: one per OUTPUT. backward "
                            "returns one gradient per INPUT, and the copy gate has one input x: "
                            "return a one-element tuple holding the sum of the two.")
    compare.true(len(grads) == len(expected),
                 f"{name}.backward must return {len(expected)} gradient(s), one per forward input, "
                 f"got {len(grads)}: {grads!r}")
    for mistake, guess in case["mistakes"].items():
        if all(_near(g, w) for g, w in zip(grads, guess)) and not all(
                _near(w, e) for w, e in zip(guess, expected)):
            compare.true(False, f"{name}.backward returned {grads!r}: "
                                f"{_GATE_HINTS[name][mistake](inputs, upstream)}")
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


@in_runner
def _neuron_with(student_gates, local):
    """The sigmoid neuron with the student's gates, and _KnownGates (with these local
    Jacobians) for the others; made in the runner, where it runs the student's gates."""
    def gate_for(node, kind):
        if kind in student_gates:
            return student_gates[kind]()
        return _KnownGate(kind, local[node])

    return neuron_graph(gate_for)


def _graph_check(student_gates, graph_case):
    """The sigmoid neuron run by course_lib's Graph with the student's gates, vs the reference."""
    values = graph_case["values"]
    student = _neuron_with(student_gates, graph_case["local"])
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


def _without_upstream(label, node, no_upstream, before, local, upstream, op):
    """Fail when node.grad grew by the local gradient alone (the upstream factor forgotten)."""
    if _near(node.grad, no_upstream) and not _near(local * upstream, local):
        compare.true(False, f"{label}.grad grew by {node.grad - before:.6g}, the local gradient of "
                            f"{op} alone, instead of local × upstream = {local:.6g} × {upstream:g} = "
                            f"{local * upstream:.6g}: multiply the local gradient by out.grad, the "
                            "upstream gradient (downstream = local × upstream).")


# what each of the case data's tanh "wrong" grads means
_TANH_MISTAKES = {"square_missing": "1 - tanh(a) (the square is missing)",
                  "sign_flipped": "tanh(a)² - 1 (the sign is flipped)",
                  "tanh_itself": "tanh(a) itself",
                  "input_squared": "1 - a², with the input a where the output t = tanh(a) belongs"}


@verdict("nb01.value_local_backward")
def value_local_backward(case_data, student_value):
    """Each _backward adds local × upstream into its inputs' grad (called one node at a time)."""
    p = case_data
    V = student_value
    up = p["upstream"]

    def leaves(a_value, b_value):
        a, b = V(a_value), V(b_value)
        a.grad, b.grad = p["a_grad"], p["b_grad"]
        return a, b

    compare.case("1 (a * b)", a=p["a"], b=p["b"], upstream=up)
    a, b = leaves(p["a"], p["b"])
    out = a * b
    compare.scalar("(a * b).data", out.data, p["mul"]["data"])
    out.grad = up
    out._backward()
    if _near(a.grad, p["mul"]["a_grad_not_swapped"]) and p["mul"]["swap_visible"]:
        compare.true(False, "a.grad got a × upstream: the multiply gate swaps — each input "
                            "receives the OTHER input times upstream (da = b · upstream).")
    _without_upstream("a", a, p["mul"]["no_upstream"][0], p["a_grad"], p["b"], up, "a * b (that is b)")
    _without_upstream("b", b, p["mul"]["no_upstream"][1], p["b_grad"], p["a"], up, "a * b (that is a)")
    _grad_check("a", a, p["mul"]["a_grad"], p["a_grad"], "a * b")
    _grad_check("b", b, p["mul"]["b_grad"], p["b_grad"], "a * b")

    compare.case("2 (a * a: one value used twice)", a=p["square"], upstream=up)
    a = V(p["square"])
    out = a * a
    out.grad = up
    out._backward()
    expected = p["square_grad"]
    _without_upstream("a", a, p["square_no_upstream"], 0.0, 2 * p["square"], up,
                      "a * a (a from each of its two uses)")
    if expected != 0 and _near(a.grad, expected / 2):
        compare.true(False, f"a.grad is {a.grad:.6g}, half of {expected:.6g}: in a * a both inputs "
                            "are the same Value, so both contributions must be ADDED (+=).")
    compare.scalar("a.grad", a.grad, expected)

    compare.case("3 (a.tanh())", a=p["t_in"], upstream=up)
    a = V(p["t_in"])
    a.grad = p["a_grad"]
    out = a.tanh()
    compare.scalar("a.tanh().data", out.data, p["tanh"]["data"])
    out.grad = up
    out._backward()
    wrong = p["tanh"]["wrong"]
    _without_upstream("a", a, wrong["without_upstream"], p["a_grad"],
                      (p["tanh"]["a_grad"] - p["a_grad"]) / up, up, "tanh")
    for mistake, what in _TANH_MISTAKES.items():
        if _near(a.grad, wrong[mistake]) and not _near(wrong[mistake], p["tanh"]["a_grad"]):
            compare.true(False, f"the local gradient you used is {what}; d tanh(a)/da = "
                                "1 - tanh(a)², and the forward value t = tanh(a) is at hand.")
    _grad_check("a", a, p["tanh"]["a_grad"], p["a_grad"], "tanh")

    for number, case in enumerate(p["max"], start=4):
        first, second = case["first"], case["second"]
        if case["tie"]:
            compare.case(f"{number} ({first}.max({second}) with a = b: a tie)", a=case["a"], b=case["b"],
                         upstream=up)
        else:
            compare.case(f"{number} ({first}.max({second}))", a=case["a"], b=case["b"], upstream=up)
        a, b = leaves(case["a"], case["b"])
        nodes = {"a": a, "b": b}
        out = nodes[first].max(nodes[second])
        compare.scalar(f"{first}.max({second}).data", out.data, case["data"])
        out.grad = up
        out._backward()
        got = (a.grad, b.grad)
        winner = case["winner"]

        def is_(key):
            return (all(_near(g, w) for g, w in zip(got, case[key]))
                    and not all(_near(w, case[f"{label}_grad"]) for w, label in zip(case[key], "ab")))

        if is_("both_routed"):
            larger = (f"self on a tie: {winner} here" if case["tie"] else f"{winner} here")
            compare.true(False, f"both inputs received the upstream gradient; max routes ALL of it to "
                                f"the larger input ({larger}) and nothing to the other.")
        if is_("to_loser") and case["tie"]:
            compare.true(False, f"on a tie (a = b = {case['a']:g}) the gradient went to {second}, the "
                                f"argument; the rule is that it goes to self, the Value max was called "
                                f"on ({first} here). Decide with self.data >= other.data, as the given "
                                "self_wins does (a strict > sends a tie to the other input).")
        if is_("to_loser"):
            compare.true(False, f"the gradient went to the SMALLER input; max routes all of it to the "
                                f"larger one ({winner} here, the value forward returned).")
        if is_("no_upstream"):
            compare.true(False, f"{winner}.grad grew by 1, the local gradient alone, instead of "
                                f"1 × upstream = {up:g}: the larger input receives out.grad itself.")
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


@in_runner
def build_graph(graph):
    """The nodes of a case's graph, in the case data's order (a topological order, root last);
    made in the runner, where the student's code walks them."""
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
        if root in missing:
            compare.true(False, f"root itself is missing from your list ({len(order)} nodes): root "
                                "depends on itself, and the order ends with it.")
        if missing and all(not n.inputs for n in missing) and all(n.inputs for n in order):
            compare.true(False, f"{len(missing)} leaf node(s) are missing, e.g. {_describe(missing[0])}: "
                                "a leaf (a Value with no inputs) is a node too; place it like any other.")
        if missing:
            compare.true(False, f"{len(missing)} node(s) that root depends on are missing, e.g. "
                                f"{_describe(missing[0])}: visit every input, recursively, down to the leaves.")
        extra = [n for n in order if n not in reachable]
        if extra:
            compare.true(False, f"{len(extra)} entries are not nodes of this graph (e.g. {extra[0]!r}): "
                                "return only the Values root depends on.")
        position = {node: k for k, node in enumerate(order)}
        if len(order) > 1 and order[0] is root and all(
                position[source] > position[node] for node in order for source in node.inputs):
            compare.true(False, "your list is reversed: root comes first and every node before its "
                                "inputs. The order asked for is inputs first, root last (append a node "
                                "after its inputs, and do not reverse the list).")
        for node in order:
            for source in node.inputs:
                compare.true(position[source] < position[node],
                             f"node {_describe(node)} comes before its input {_describe(source)}. "
                             "Append a node only AFTER all of its inputs have been placed.")
        compare.true(order[-1] is root, f"the root must come last, but the last node is {_describe(order[-1])}")
    return number


@in_runner
def _traced(nodes):
    """Wrap every node's _backward to record (node index, node.grad) at each call; returns the
    Trace that records them."""
    trace = Trace()
    for index, node in enumerate(nodes):
        def run(index=index, node=node, inner=node._backward):
            trace.calls.append((index, node.grad))
            inner()
        node._backward = run
    return trace


class _KnownOrder:
    """A stand-in for the student's topological_order: the case's nodes up to root, in the
    case data's (topological) order. `nodes` is set for each case."""

    def __init__(self):
        self.nodes = []

    def __call__(self, root):
        return self.nodes[:self.nodes.index(root) + 1] if root in self.nodes else [root]


@in_runner
def _with_known_order(student_backpropagate):
    """Put a _KnownOrder where the student's backpropagate looks up topological_order; returns it."""
    known = _KnownOrder()
    student_globals = getattr(student_backpropagate, "__globals__", None)
    if isinstance(student_globals, dict) and "topological_order" in student_globals:
        student_globals["topological_order"] = known
    return known


def _explain_backward_order(nodes, expected, calls):
    """Fail naming the mistake when the _backward calls were not each node once, in reverse
    topological order, after root.grad = 1."""
    root = len(nodes) - 1
    first_call = {}
    for position, (index, grad) in enumerate(calls):
        first_call.setdefault(index, (position, grad))
    if root in first_call and _near(first_call[root][1], 0.0):
        compare.true(False, "root.grad was still 0 when root's _backward ran, so nothing flowed back: "
                            "set root.grad = 1.0 BEFORE calling any _backward.")
    counts = {}
    for index, _ in calls:
        counts[index] = counts.get(index, 0) + 1
    repeated = [index for index, count in counts.items() if count > 1 and nodes[index].inputs]
    if repeated:
        node = nodes[repeated[0]]
        compare.true(False, f"the _backward of node {_describe(node)} ran {counts[repeated[0]]} times: "
                            "each run adds its contribution again. Call every node's _backward exactly "
                            "once — a node reached along several paths included — in reverse "
                            "topological order.")
    never = [index for index, node in enumerate(nodes) if node.inputs and index not in counts]
    if never:
        which = ("root's own _backward" if never == [root] else
                 f"the _backward of {len(never)} node(s), root's own among them," if root in never else
                 f"the _backward of {_describe(nodes[never[0]])}" if len(never) == 1 else
                 f"the _backward of {len(never)} nodes, e.g. {_describe(nodes[never[0]])},")
        compare.true(False, f"{which} never ran: call _backward on every node, in reverse "
                            "topological order (root first).")
    users = {index: [] for index in range(len(nodes))}
    for index, node in enumerate(nodes):
        for source in node.inputs:
            users[nodes.index(source)].append(index)
    for index, (position, grad) in sorted(first_call.items(), key=lambda item: item[1][0]):
        if not nodes[index].inputs or _near(grad, expected[index]):
            continue
        late = [user for user in users[index] if first_call.get(user, (-1,))[0] > position]
        node = nodes[index]
        if late:
            compare.true(False, f"the _backward of node {_describe(node)} ran before that of "
                                f"{_describe(nodes[late[0]])}, which uses it: its grad was {grad:.6g} "
                                f"then, not yet its full gradient {expected[index]:.6g}. Call _backward "
                                "in REVERSE topological order (root first), so that each node has all "
                                "of its gradient before it passes it on.")
        if _near(grad, 1.0) and index != root:
            compare.true(False, f"node {_describe(node)} had grad 1 when its _backward ran, but d root / "
                                f"d node is {expected[index]:.6g}: only root.grad starts at 1; every other "
                                "grad starts at 0 and collects what the nodes using it pass back.")


@verdict("nb01.backpropagate")
def backpropagate(case_data, student_backpropagate):
    """Gradients of every node against the reference engine's on the same graph.

    The student's function is run with a known topological order (the case data's) in place of
    the student's own topological_order, so that a bug in Exercise 6 is not counted again here.
    Every node's _backward is traced, so that a wrong order, a node run twice or never, or a
    missing root.grad = 1 is named.
    """
    known_order = _with_known_order(student_backpropagate)
    for number, graph in enumerate(case_data, 1):
        nodes = build_graph(graph)
        known_order.nodes = nodes
        root = nodes[-1]
        trace = _traced(nodes)
        compare.case(f"case {number}: {graph['description']}")
        student_backpropagate(root)
        if _near(root.grad, 0.0):
            compare.true(False, "root.grad is still 0 after backpropagate: the backward pass starts from "
                                "d root / d root = 1, so set root.grad = 1.0 before calling any _backward.")
        compare.scalar("root.grad", root.grad, 1.0)
        got = np.array([node.grad for node in nodes])
        expected = np.array(graph["grads"])
        if not np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            _explain_backward_order(nodes, expected, trace.calls)
        worst = int(np.argmax(np.abs(got - expected))) if len(got) else 0
        compare.true(np.allclose(got, expected, rtol=1e-9, atol=1e-12),
                     f"node {_describe(nodes[worst])} has grad {got[worst]:.6g}, expected "
                     f"{expected[worst]:.6g} (d root / d node). Set root.grad = 1, then call every "
                     "node's _backward once, in reverse topological order.")
    return number
