"""The modular API: gate gradient patterns, the Graph's ordering and fan-out, the worked examples."""
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from course_lib.autograd import Value
from course_lib.gates import AddGate, CopyGate, ExpGate, Gate, Graph, MaxGate, MultiplyGate, ReciprocalGate, SigmoidGate
from course_lib.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

H = 1e-5
TOLERANCE = 1e-7  # on |analytic - numerical| / max(1, |analytic| + |numerical|)

floats = st.floats(-3.0, 3.0)
upstreams = st.floats(-2.0, 2.0)


def assert_close(analytic, numerical, names):
    """Raise AssertionError naming the worst entry if analytic and numerical differ by > TOLERANCE."""
    analytic, numerical = np.asarray(analytic, dtype=np.float64), np.asarray(numerical, dtype=np.float64)
    errors = np.abs(analytic - numerical) / np.maximum(1.0, np.abs(analytic) + np.abs(numerical))
    worst = int(np.argmax(errors))
    assert errors[worst] < TOLERANCE, (
        f"d/d{names[worst]}: analytic {analytic[worst]!r}, numerical {numerical[worst]!r}, "
        f"error {errors[worst]:.3g}"
    )


def assert_graph_gradients_match(graph, inputs):
    """Compare graph.backward() with centered differences of graph.forward, input by input."""
    names = graph.input_names
    point = np.array([inputs[name] for name in names], dtype=np.float64)
    graph.forward(inputs)
    analytic = [graph.backward()[name] for name in names]
    numerical = eval_numerical_gradient(lambda p: graph.forward(dict(zip(names, p))), point, h=H)
    assert_close(analytic, numerical, names)


def float_sigmoid(s):
    return 1.0 / (1.0 + math.exp(-s))


# ---------------------------------------------------------------- the four patterns

@settings(max_examples=50, deadline=None, derandomize=True)
@given(a=floats, b=floats, upstream=upstreams)
def test_add_gate_distributes(a, b, upstream):
    gate = AddGate()
    assert gate.forward(a, b) == a + b
    assert gate.backward(upstream) == (upstream, upstream)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(a=floats, b=floats, upstream=upstreams)
def test_multiply_gate_swaps(a, b, upstream):
    gate = MultiplyGate()
    assert gate.forward(a, b) == a * b
    assert gate.backward(upstream) == (b * upstream, a * upstream)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(x=floats, first=upstreams, second=upstreams)
def test_copy_gate_adds(x, first, second):
    gate = CopyGate()
    assert gate.forward(x) == (x, x)
    assert gate.backward((first, second)) == (first + second,)


@settings(max_examples=50, deadline=None, derandomize=True)
@given(a=floats, b=floats, upstream=upstreams)
def test_max_gate_routes_to_the_larger_input(a, b, upstream):
    gate = MaxGate()
    assert gate.forward(a, b) == max(a, b)
    grads = gate.backward(upstream)
    assert grads == ((upstream, 0.0) if a >= b else (0.0, upstream))


def test_max_gate_routes_ties_to_the_first_input_like_value_max():
    gate = MaxGate()
    gate.forward(1.0, 1.0)
    assert gate.backward(3.0) == (3.0, 0.0)


# ---------------------------------------------------------------- each gate against finite differences

GATE_CASES = [
    (AddGate, lambda a, b: a + b, 2),
    (MultiplyGate, lambda a, b: a * b, 2),
    (MaxGate, lambda a, b: max(a, b), 2),
    (SigmoidGate, float_sigmoid, 1),
    (ExpGate, math.exp, 1),
    (ReciprocalGate, lambda x: 1.0 / x, 1),
]


@pytest.mark.parametrize("gate_class, reference, num_inputs", GATE_CASES,
                         ids=[case[0].__name__ for case in GATE_CASES])
def test_gate_forward_and_local_gradients(gate_class, reference, num_inputs):
    rng = np.random.default_rng(0)
    for _ in range(20):
        point = rng.uniform(0.5, 2.0, size=num_inputs) * rng.choice([-1.0, 1.0], size=num_inputs)
        if gate_class is MaxGate and abs(point[0] - point[1]) < 0.1:
            continue  # the kink of max, where no derivative exists
        upstream = float(rng.normal())
        gate = gate_class()
        assert gate.forward(*point) == pytest.approx(reference(*point), rel=1e-15)
        analytic = gate.backward(upstream)
        numerical = eval_numerical_gradient(lambda p: upstream * reference(*p), point.copy(), h=H)
        assert_close(analytic, numerical, [f"input {i}" for i in range(num_inputs)])


def test_copy_gate_against_finite_differences():
    x, upstream = np.array([0.7]), np.array([1.5, -0.25])
    gate = CopyGate()
    gate.forward(float(x[0]))
    numerical = eval_numerical_gradient_array(lambda p: np.array(CopyGate().forward(p[0])), x, upstream, h=H)
    assert_close(gate.backward(tuple(upstream)), numerical, ["x"])


# ---------------------------------------------------------------- the worked examples

def test_sum_times_z_example():
    graph = Graph([("q", AddGate(), ("x", "y")), ("f", MultiplyGate(), ("q", "z"))], output="f")
    assert graph.forward({"x": -2.0, "y": 5.0, "z": -4.0}) == -12.0
    assert graph.values["q"] == 3.0
    grads = graph.backward()
    assert (grads["z"], grads["q"], grads["x"], grads["y"]) == (3.0, -4.0, -4.0, -4.0)


NEURON_INPUTS = {"w0": 2.0, "w1": -3.0, "w2": -3.0, "x0": -1.0, "x1": -2.0}
NEURON_NAMES = ["w0", "w1", "w2", "x0", "x1"]
WEIGHTED_SUM = [
    ("s0", MultiplyGate, ("w0", "x0")),
    ("s1", MultiplyGate, ("w1", "x1")),
    ("s2", AddGate, ("s0", "s1")),
    ("s3", AddGate, ("s2", "w2")),
]


def neuron_grouped():
    """The sigmoid as one node."""
    nodes = [(out, gate(), ins) for out, gate, ins in WEIGHTED_SUM]
    return Graph(nodes + [("f", SigmoidGate(), ("s3",))], output="f")


def neuron_staged():
    """The sigmoid staged as * -1, exp, + 1, 1 / x; the constants are graph inputs."""
    nodes = [(out, gate(), ins) for out, gate, ins in WEIGHTED_SUM]
    return Graph(nodes + [
        ("negated", MultiplyGate(), ("s3", "minus_one")),
        ("exponential", ExpGate(), ("negated",)),
        ("denominator", AddGate(), ("exponential", "one")),
        ("f", ReciprocalGate(), ("denominator",)),
    ], output="f")


def neuron_float(params):
    w0, w1, w2, x0, x1 = params
    return float_sigmoid(w0 * x0 + w1 * x1 + w2)


@pytest.mark.parametrize("build", [neuron_grouped, neuron_staged])
def test_sigmoid_neuron_example(build):
    graph = build()
    out = graph.forward({**NEURON_INPUTS, "minus_one": -1.0, "one": 1.0})
    grads = graph.backward()
    dparams = [grads[name] for name in NEURON_NAMES]

    assert abs(out - 0.73) < 0.005
    assert abs(graph.values["s3"] - 1.0) < 1e-15
    for grad, literal in zip(dparams, [-0.20, -0.39, 0.20, 0.39, -0.59]):
        assert abs(grad - literal) < 0.005

    slope = float_sigmoid(1.0) * (1.0 - float_sigmoid(1.0))
    assert rel_error(dparams, [-slope, -2.0 * slope, slope, 2.0 * slope, -3.0 * slope]) < 1e-12
    numerical = eval_numerical_gradient(neuron_float, np.array([NEURON_INPUTS[n] for n in NEURON_NAMES]), h=H)
    assert rel_error(dparams, numerical) < 1e-9


def test_gates_value_engine_staged_and_grouped_all_agree():
    answers = []
    for build in (neuron_grouped, neuron_staged):
        graph = build()
        graph.forward({**NEURON_INPUTS, "minus_one": -1.0, "one": 1.0})
        grads = graph.backward()
        answers.append([grads[name] for name in NEURON_NAMES])
    params = {name: Value(v) for name, v in NEURON_INPUTS.items()}
    (params["w0"] * params["x0"] + params["w1"] * params["x1"] + params["w2"]).sigmoid().backward()
    answers.append([params[name].grad for name in NEURON_NAMES])
    for answer in answers[1:]:
        assert rel_error(answer, answers[0]) < 1e-12


# ---------------------------------------------------------------- the graph

def test_node_order_in_the_list_does_not_matter():
    nodes = [(out, gate(), ins) for out, gate, ins in WEIGHTED_SUM] + [("f", SigmoidGate(), ("s3",))]
    random.Random(0).shuffle(nodes)
    graph = Graph(nodes, output="f")
    position = {name: i for i, (outputs, _, _) in enumerate(graph.order) for name in outputs}
    for i, (_, _, inputs) in enumerate(graph.order):
        assert all(position[name] < i for name in inputs if name in position)
    assert_graph_gradients_match(graph, NEURON_INPUTS)


def test_implicit_fan_out_equals_an_explicit_copy_gate():
    # f = x * y + x: x is read twice
    implicit = Graph([("p", MultiplyGate(), ("x", "y")), ("f", AddGate(), ("p", "x"))], output="f")
    explicit = Graph([
        (("x_a", "x_b"), CopyGate(), ("x",)),
        ("p", MultiplyGate(), ("x_a", "y")),
        ("f", AddGate(), ("p", "x_b")),
    ], output="f")
    inputs = {"x": 1.5, "y": -2.0}
    assert implicit.forward(inputs) == explicit.forward(inputs) == 1.5 * -2.0 + 1.5
    implicit_grads, explicit_grads = implicit.backward(), explicit.backward()
    assert implicit_grads["x"] == explicit_grads["x"] == -2.0 + 1.0
    assert implicit_grads["y"] == explicit_grads["y"] == 1.5


def test_max_in_a_graph_routes_and_unused_values_get_zero():
    graph = Graph([
        (("a", "unused"), CopyGate(), ("x",)),
        ("m", MaxGate(), ("a", "y")),
        ("f", MultiplyGate(), ("m", "z")),
    ], output="f")
    graph.forward({"x": 4.0, "y": 1.0, "z": 2.0})
    grads = graph.backward()
    assert (grads["x"], grads["y"], grads["z"], grads["unused"]) == (2.0, 0.0, 4.0, 0.0)


def test_backward_can_be_repeated_and_does_not_accumulate():
    graph = neuron_grouped()
    graph.forward(NEURON_INPUTS)
    assert graph.backward() == graph.backward()


@settings(max_examples=30, deadline=None, derandomize=True)
@given(values=st.lists(st.floats(-2.0, 2.0), min_size=5, max_size=5))
def test_neuron_graph_gradients_match_centered_differences(values):
    assert_graph_gradients_match(neuron_staged(), {**dict(zip(NEURON_NAMES, values)),
                                                    "minus_one": -1.0, "one": 1.0})


# ---------------------------------------------------------------- test the tester

class MultiplyGateThatForgetsToSwap(MultiplyGate):
    def backward(self, upstream):
        a, b = self.saved_values
        return a * upstream, b * upstream


class SigmoidGateWithoutOneMinus(SigmoidGate):
    def backward(self, upstream):
        (out,) = self.saved_values
        return (out * upstream,)


@pytest.mark.parametrize("wrong_multiply, wrong_sigmoid", [(True, False), (False, True)])
def test_checker_fails_on_a_wrong_gate(wrong_multiply, wrong_sigmoid):
    multiply = MultiplyGateThatForgetsToSwap if wrong_multiply else MultiplyGate
    sigmoid = SigmoidGateWithoutOneMinus if wrong_sigmoid else SigmoidGate
    graph = Graph([
        ("s0", multiply(), ("w0", "x0")),
        ("s1", AddGate(), ("s0", "w1")),
        ("f", sigmoid(), ("s1",)),
    ], output="f")
    with pytest.raises(AssertionError, match="analytic"):
        assert_graph_gradients_match(graph, {"w0": 0.8, "x0": -1.7, "w1": 0.3})


# ---------------------------------------------------------------- errors

def test_graph_rejects_bad_wiring():
    with pytest.raises(ValueError, match="cycle"):
        Graph([("a", AddGate(), ("b", "x")), ("b", AddGate(), ("a", "x"))], output="a")
    with pytest.raises(ValueError, match="produced twice"):
        Graph([("a", AddGate(), ("x", "y")), ("a", MultiplyGate(), ("x", "y"))], output="a")
    shared = AddGate()
    with pytest.raises(ValueError, match="gate instance appears twice"):
        Graph([("a", shared, ("x", "y")), ("b", shared, ("a", "y"))], output="b")
    with pytest.raises(ValueError, match="takes 2 input"):
        Graph([("a", AddGate(), ("x",))], output="a")
    with pytest.raises(ValueError, match="output must name"):
        Graph([("a", AddGate(), ("x", "y"))], output="x")
    with pytest.raises(TypeError, match="expected a Gate"):
        Graph([("a", lambda x, y: x + y, ("x", "y"))], output="a")


def test_graph_reports_missing_inputs_and_order_of_calls():
    graph = Graph([("a", AddGate(), ("x", "y"))], output="a")
    with pytest.raises(RuntimeError, match="before forward"):
        graph.backward()
    with pytest.raises(ValueError, match=r"missing \['y'\]"):
        graph.forward({"x": 1.0})
    with pytest.raises(RuntimeError, match="MultiplyGate.backward called before forward"):
        MultiplyGate().backward(1.0)


def test_graph_names_a_gate_whose_backward_returns_a_bare_number():
    class SigmoidGateReturningFloat(SigmoidGate):
        def backward(self, upstream):
            (out,) = self.saved_values
            return (1.0 - out) * out * upstream  # forgot the 1-tuple

    graph = Graph([("f", SigmoidGateReturningFloat(), ("x",))], output="f")
    graph.forward({"x": 0.5})
    with pytest.raises(TypeError, match="SigmoidGateReturningFloat.backward must return a tuple of 1"):
        graph.backward()


def test_base_gate_is_abstract():
    with pytest.raises(NotImplementedError):
        Gate().forward(1.0)
    with pytest.raises(NotImplementedError):
        Gate().backward(1.0)
