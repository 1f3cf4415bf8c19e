"""The scalar autograd engine: worked examples, gradient checks on random expressions, backward semantics."""
import math
import operator
import sys

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from course_lib.autograd import Value, sigmoid, topological_order
from course_lib.gradcheck import eval_numerical_gradient, rel_error

H = 1e-5
TOLERANCE = 1e-7  # on |analytic - numerical| / max(1, |analytic| + |numerical|)


def assert_gradients_match(analytic, numerical, names):
    """Raise AssertionError naming the worst input if any gradient is off by more than TOLERANCE.

    The error is relative for large gradients and absolute (scale 1) for small ones, because
    centered differences carry an absolute round-off of about eps * |f| / h.
    """
    analytic, numerical = np.asarray(analytic, dtype=np.float64), np.asarray(numerical, dtype=np.float64)
    errors = np.abs(analytic - numerical) / np.maximum(1.0, np.abs(analytic) + np.abs(numerical))
    worst = int(np.argmax(errors))
    assert errors[worst] < TOLERANCE, (
        f"d/d{names[worst]}: analytic {analytic[worst]!r}, numerical {numerical[worst]!r}, "
        f"error {errors[worst]:.3g}"
    )


def float_sigmoid(s):
    return 1.0 / (1.0 + math.exp(-s))


# ---------------------------------------------------------------- random expression trees
#
# A tree is a nested tuple. Leaves are variables ("var", i); constants appear only inside
# nodes, on the left of r-operations (c - e, c / e, ...) and as exponents, so every subtree
# holds at least one variable and evaluates to a Value on the engine side.

NUM_VARS = 3
UNARY = ["neg", "exp", "tanh", "sigmoid", "relu", "square_by_reuse"]
BINARY = ["add", "sub", "mul", "div", "max"]
CONSTANT_LEFT = ["radd", "rsub", "rmul", "rtruediv"]

MAGNITUDE_BOUND = 50.0
CONSTANTS = [-1.5, -0.5, 0.5, 2.0]
MAX_DEPTH = 6


@st.composite
def trees(draw, depth=MAX_DEPTH):
    """A random expression of depth at most `depth`; below the root a node is a leaf 1 time in 5."""
    if depth == 0 or (depth < MAX_DEPTH and draw(st.integers(0, 4)) == 0):
        return ("var", draw(st.integers(0, NUM_VARS - 1)))
    child = trees(depth - 1)
    kind = draw(st.sampled_from(UNARY + BINARY + CONSTANT_LEFT + ["pow_int", "pow_frac"]))
    if kind in UNARY:
        return (kind, draw(child))
    if kind in BINARY:
        return (kind, draw(child), draw(child))
    if kind in CONSTANT_LEFT:
        return (kind, draw(st.sampled_from(CONSTANTS)), draw(child))
    if kind == "pow_int":
        return (kind, draw(child), draw(st.sampled_from([2, 3, -1])))
    return (kind, draw(child), draw(st.sampled_from([0.5, 1.5, -0.5])))


inputs = st.lists(st.floats(-2.0, 2.0), min_size=NUM_VARS, max_size=NUM_VARS)

ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv}
CONSTANT_LEFT_OPS = {"radd": operator.add, "rsub": operator.sub, "rmul": operator.mul,
                     "rtruediv": operator.truediv}
FLOAT_OPS = {"exp": math.exp, "tanh": math.tanh, "sigmoid": float_sigmoid,
             "relu": lambda a: a if a > 0 else 0.0, "max": lambda a, b: a if a > b else b}
VALUE_OPS = {"exp": lambda a: a.exp(), "tanh": lambda a: a.tanh(), "sigmoid": lambda a: a.sigmoid(),
             "relu": lambda a: a.relu(), "max": lambda a, b: a.max(b)}  # looked up late: monkeypatchable


def evaluate(tree, xs, ops, margins=None):
    """Evaluate `tree` with leaves xs, using `ops` for the named functions.

    With plain floats, `margins` collects, for every kink or pole, how far the evaluation
    point is from it (relu input, max gap, denominators), and for every node how far its value
    is below MAGNITUDE_BOUND.
    """
    def walk(node):
        result = walk_unchecked(node)
        if margins is not None:
            margins.append(MAGNITUDE_BOUND - abs(result))
        return result

    def walk_unchecked(node):
        kind = node[0]
        if kind == "var":
            return xs[node[1]]
        if kind in CONSTANT_LEFT_OPS:
            operand = walk(node[2])
            if kind == "rtruediv":
                note(operand)
            return CONSTANT_LEFT_OPS[kind](node[1], operand)
        if kind == "pow_int":
            base = walk(node[1])
            if node[2] < 0:
                note(base)
            return base ** node[2]
        if kind == "pow_frac":  # raise a positive base (e^2 + 0.5) to a fractional power
            base = walk(node[1])
            return (base ** 2 + 0.5) ** node[2]
        if kind in BINARY:
            a, b = walk(node[1]), walk(node[2])
            if kind == "div":
                note(b)
            if kind == "max":
                note(a - b)
            return ARITHMETIC[kind](a, b) if kind in ARITHMETIC else ops[kind](a, b)
        a = walk(node[1])
        if kind == "neg":
            return -a
        if kind == "square_by_reuse":  # the same node is both inputs of one multiply
            return a * a
        if kind == "relu":
            note(a)
        return ops[kind](a)

    def note(distance):
        if margins is not None:
            margins.append(abs(distance))

    return walk(tree)


def safe_point(tree, xs):
    """True if the centered-difference check is trustworthy at xs, whatever the engine does.

    xs must be well away from every kink and pole, every value modest, and the differences
    with steps h and 2h must agree: their gap is about 3 times the truncation error
    (h^2 / 6) * third derivative, which high-degree nestings of ** can push past the tolerance.
    """
    margins = []
    try:
        evaluate(tree, xs, FLOAT_OPS, margins)
        if min(margins) <= 0.05:
            return False
        step_h, step_2h = numerical_grads(tree, xs), numerical_grads(tree, xs, h=2 * H)
    except (OverflowError, ZeroDivisionError):
        return False
    return np.all(np.abs(step_h - step_2h) / np.maximum(1.0, np.abs(step_h)) < TOLERANCE / 10)


def engine_value_and_grads(tree, xs):
    leaves_ = [Value(x) for x in xs]
    out = evaluate(tree, leaves_, VALUE_OPS)
    out.backward()
    return out.data, [leaf.grad for leaf in leaves_]


def numerical_grads(tree, xs, h=H):
    return eval_numerical_gradient(lambda arr: evaluate(tree, list(arr), FLOAT_OPS),
                                   np.array(xs, dtype=np.float64), h=h)

@settings(max_examples=200, deadline=None, derandomize=True)
@given(tree=trees(), xs=inputs)
def test_random_expression_forward_matches_plain_floats(tree, xs):
    assume(safe_point(tree, xs))
    data, _ = engine_value_and_grads(tree, xs)
    expected = evaluate(tree, xs, FLOAT_OPS)
    assert data == pytest.approx(expected, rel=1e-12, abs=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(tree=trees(), xs=inputs)
def test_random_expression_gradients_match_centered_differences(tree, xs):
    assume(safe_point(tree, xs))
    _, grads = engine_value_and_grads(tree, xs)
    assert_gradients_match(grads, numerical_grads(tree, xs), ["x0", "x1", "x2"])


def test_random_trees_cover_every_operation():
    # A fixed tree that uses every op once, checked the same way as the random ones.
    x0, x1, x2 = ("var", 0), ("var", 1), ("var", 2)
    tree = ("add", ("max", ("relu", ("mul", x0, x1)), ("tanh", x2)),
            ("sub", ("div", ("exp", x0), ("pow_int", x1, 2)),
             ("add", ("sigmoid", ("neg", x2)),
              ("rtruediv", 2.0, ("rsub", 0.5, ("rmul", -1.5, ("radd", 2.0,
               ("square_by_reuse", ("pow_frac", x0, 0.5)))))))))
    xs = [0.7, -1.3, 0.4]
    assert safe_point(tree, xs)
    _, grads = engine_value_and_grads(tree, xs)
    assert_gradients_match(grads, numerical_grads(tree, xs), ["x0", "x1", "x2"])


# ---------------------------------------------------------------- test the tester

def test_checker_fails_on_a_wrong_local_gradient(monkeypatch):
    tree = ("mul", ("tanh", ("var", 0)), ("var", 1))
    xs = [0.3, -1.2]
    _, grads = engine_value_and_grads(tree, xs)
    assert_gradients_match(grads, numerical_grads(tree, xs), ["x0", "x1"])

    def tanh_missing_the_one_minus(self):  # a classic slip: t^2 instead of 1 - t^2
        t = math.tanh(self.data)
        return self._result(t, "tanh", (self,), (t * t,))

    monkeypatch.setattr(Value, "tanh", tanh_missing_the_one_minus)
    _, grads = engine_value_and_grads(tree, xs)
    with pytest.raises(AssertionError, match="d/dx0"):
        assert_gradients_match(grads, numerical_grads(tree, xs), ["x0", "x1"])


def test_checker_fails_when_gradients_overwrite_instead_of_accumulate(monkeypatch):
    def result_that_overwrites(self, data, op, inputs, local_grads):
        out = Value(data, inputs, op)

        def _backward():
            for node, local_grad in zip(inputs, local_grads):
                node.grad = local_grad * out.grad  # = instead of +=: loses the other uses
        out._backward = _backward
        return out

    tree = ("add", ("mul", ("var", 0), ("var", 1)), ("var", 0))  # x0 used twice
    xs = [0.5, 2.0]
    monkeypatch.setattr(Value, "_result", result_that_overwrites)
    _, grads = engine_value_and_grads(tree, xs)
    with pytest.raises(AssertionError, match="d/dx0"):
        assert_gradients_match(grads, numerical_grads(tree, xs), ["x0", "x1"])


# ---------------------------------------------------------------- the worked examples

def test_sum_times_z_example():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    f = q * z
    f.backward()
    assert (q.data, f.data) == (3.0, -12.0)
    assert (z.grad, q.grad, x.grad, y.grad) == (3.0, -4.0, -4.0, -4.0)


def neuron_float(params):
    """sigmoid(w0 x0 + w1 x1 + w2) in plain floats; params = [w0, w1, w2, x0, x1]."""
    w0, w1, w2, x0, x1 = params
    return float_sigmoid(w0 * x0 + w1 * x1 + w2)


NEURON_PARAMS = [2.0, -3.0, -3.0, -1.0, -2.0]
NEURON_NAMES = ["w0", "w1", "w2", "x0", "x1"]


def neuron_staged(w0, w1, w2, x0, x1):
    """One operation per line, the sigmoid itself staged as -1 *, exp, + 1, 1 / ."""
    s0 = w0 * x0
    s1 = w1 * x1
    s2 = s0 + s1
    s3 = s2 + w2
    return 1 / (1 + (-s3).exp())


def neuron_grouped(w0, w1, w2, x0, x1):
    return (w0 * x0 + w1 * x1 + w2).sigmoid()


@pytest.mark.parametrize("build", [neuron_staged, neuron_grouped])
def test_sigmoid_neuron_example(build):
    params = [Value(p, label=name) for p, name in zip(NEURON_PARAMS, NEURON_NAMES)]
    out = build(*params)
    out.backward()
    grads = [p.grad for p in params]

    # the numbers on the lecture slide, to two decimals
    assert abs(out.data - 0.73) < 0.005
    for grad, literal in zip(grads, [-0.20, -0.39, 0.20, 0.39, -0.59]):
        assert abs(grad - literal) < 0.005

    # and at full precision: closed form sigma'(1) = sigma(1)(1 - sigma(1)) times the other factor
    slope = float_sigmoid(1.0) * (1.0 - float_sigmoid(1.0))
    closed_form = [-1.0 * slope, -2.0 * slope, slope, 2.0 * slope, -3.0 * slope]
    assert rel_error(grads, closed_form) < 1e-12
    numerical = eval_numerical_gradient(neuron_float, np.array(NEURON_PARAMS), h=H)
    assert rel_error(grads, numerical) < 1e-9


def test_staged_and_grouped_sigmoid_give_the_same_gradients():
    staged = [Value(p) for p in NEURON_PARAMS]
    grouped = [Value(p) for p in NEURON_PARAMS]
    neuron_staged(*staged).backward()
    neuron_grouped(*grouped).backward()
    assert rel_error([v.grad for v in staged], [v.grad for v in grouped]) < 1e-12


# ---------------------------------------------------------------- nodes used more than once

def test_a_value_used_twice_receives_the_sum_of_both_gradients():
    x = Value(3.0)
    (x * x).backward()
    assert x.grad == 6.0
    x.zero_grad()
    (x + x).backward()
    assert x.grad == 2.0


def test_shared_interior_node_adds_its_branches():
    x, y, z = Value(1.5), Value(-0.5), Value(2.0)
    q = x + y
    f = q * z + q.tanh()  # q feeds two branches
    f.backward()
    expected_dq = 2.0 + (1.0 - math.tanh(1.0) ** 2)
    assert q.grad == pytest.approx(expected_dq, rel=1e-14)
    assert x.grad == pytest.approx(expected_dq, rel=1e-14)
    assert z.grad == pytest.approx(1.0, rel=1e-14)


def test_deep_chain_beyond_the_recursion_limit():
    # v <- (tanh(v) + v) / 2, repeated; its derivative (1 - tanh(v)^2 + 1) / 2 multiplies along the chain
    steps = 3000
    x = Value(0.8)
    v = x
    for _ in range(steps):
        v = (v.tanh() + v) * 0.5
    num_nodes = len(topological_order(v))
    assert num_nodes > sys.getrecursionlimit()
    v.backward()

    def chain(start):
        value, slope = start, 1.0
        for _ in range(steps):
            slope *= (1.0 - math.tanh(value) ** 2 + 1.0) / 2.0
            value = (math.tanh(value) + value) / 2.0
        return value, slope

    value, slope = chain(0.8)
    assert v.data == pytest.approx(value, rel=1e-12)
    assert x.grad == pytest.approx(slope, rel=1e-12)
    numerical = (chain(0.8 + H)[0] - chain(0.8 - H)[0]) / (2 * H)
    assert_gradients_match([x.grad], [numerical], ["x"])


# ---------------------------------------------------------------- topological order

def test_topological_order_lists_each_node_once_after_its_inputs():
    a, b = Value(1.0, label="a"), Value(2.0, label="b")
    c = a * b
    d = c + a      # a reached along two paths
    e = d * c      # diamond through c
    order = topological_order(e)
    assert len(order) == len(set(map(id, order))) == 5  # a, b, c, d, e
    position = {id(node): i for i, node in enumerate(order)}
    for node in order:
        for child in node.inputs:
            assert position[id(child)] < position[id(node)]
    assert order[-1] is e


def test_backward_on_a_leaf_gives_one():
    x = Value(4.0)
    x.backward()
    assert x.grad == 1.0


# ---------------------------------------------------------------- documented backward semantics

def build_sum_times_z():
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    q = x + y
    return (x, y, z), q, q * z


def test_backward_twice_accumulates_in_leaves_but_not_in_interior_nodes():
    (x, y, z), q, f = build_sum_times_z()
    f.backward()
    f.backward()
    assert (x.grad, y.grad, z.grad) == (-8.0, -8.0, 6.0)
    assert (q.grad, f.grad) == (-4.0, 1.0)


def test_zero_grad_then_backward_repeats_a_single_pass():
    (x, y, z), q, f = build_sum_times_z()
    f.backward()
    f.zero_grad()
    assert (x.grad, q.grad, f.grad) == (0.0, 0.0, 0.0)
    f.backward()
    assert (x.grad, y.grad, z.grad, q.grad) == (-4.0, -4.0, 3.0, -4.0)


def test_two_outputs_sharing_nodes_accumulate_like_their_sum():
    def build():
        x, y = Value(0.6), Value(-1.1)
        shared = (x * y).tanh()
        return (x, y), shared * x, shared + y.exp()

    (x, y), first, second = build()
    first.backward()
    second.backward()
    (x_sum, y_sum), first_again, second_again = build()
    (first_again + second_again).backward()
    assert x.grad == pytest.approx(x_sum.grad, rel=1e-14)
    assert y.grad == pytest.approx(y_sum.grad, rel=1e-14)


# ---------------------------------------------------------------- details

def test_operations_with_plain_numbers_on_either_side():
    a = Value(3.0)
    cases = [(a + 2, 5.0), (2 + a, 5.0), (a - 2, 1.0), (2 - a, -1.0), (a * 2, 6.0),
             (2 * a, 6.0), (a / 2, 1.5), (2 / a, 2 / 3), (-a, -3.0), (a ** 2, 9.0),
             (a.max(4), 4.0), (a.max(1), 3.0), (Value(-1.0).relu(), 0.0)]
    for value, expected in cases:
        assert isinstance(value, Value)
        assert value.data == pytest.approx(expected, rel=1e-15)


def test_relu_passes_the_gradient_only_for_positive_inputs():
    positive, negative = Value(0.5), Value(-0.5)
    (positive.relu() + negative.relu() * 3).backward()
    assert (positive.grad, negative.grad) == (1.0, 0.0)


def test_max_routes_the_gradient_to_the_larger_input():
    a, b = Value(2.0), Value(5.0)
    a.max(b).backward()
    assert (a.grad, b.grad) == (0.0, 1.0)
    tied_a, tied_b = Value(1.0), Value(1.0)
    tied_a.max(tied_b).backward()
    assert (tied_a.grad, tied_b.grad) == (1.0, 0.0)  # documented: ties go to self


def test_sigmoid_is_stable_for_large_inputs():
    assert sigmoid(-800.0) == 0.0 and sigmoid(800.0) == 1.0
    out = Value(-800.0).sigmoid()
    out.backward()
    assert out.data == 0.0


def test_repr_shows_data_and_grad():
    x = Value(1.0)
    out = x.sigmoid()
    out.backward()
    assert repr(out) == "Value(data=0.7311, grad=1)"
    assert repr(x) == "Value(data=1, grad=0.1966)"


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="data must be a real number"):
        Value("1.0")
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(ValueError, match="fractional power"):
        Value(-2.0) ** 0.5
