"""Notebook 01's exercise checks: the notebook's solutions pass, its stubs, typical bugs and the
other usual mistakes fail, each with a message that names it.

The usual mistakes (the table `WRONG`, at least five per exercise) run through the verdicts in
this process (fast); the standard checks go through the real grading subprocess."""

import functools

import numpy as np
import pytest

from autograder.check import casedata, compare
from autograder.check.checker import run
from autograder.check.registry import lookup
from autograder.exercises import casebook
from autograder.grading import samples
from support import NOTEBOOKS
from support.notebook_exercises import ExerciseChecks, SourceNotebook

SOURCE = SourceNotebook(NOTEBOOKS / "01_flat_backprop"
                        / "01_flat_backprop.ipynb")


class TestNotebook01(ExerciseChecks):
    SOURCE = SOURCE
    MIN_CASES = 3
    EXERCISES = {
        "nb01.numerical_gradient": ("numerical_gradient", ["numerical_gradient"], "ONE-SIDED"),
        "nb01.flat_backward": ("flat_backward", ["flat_forward_backward"], "only one of its two contributions"),
        "nb01.gates_multiply_max": ("gates_multiply_max", ["MultiplyGate", "MaxGate"], "swaps"),
        "nb01.gates_copy_sigmoid": ("gates_copy_sigmoid", ["CopyGate", "SigmoidGate"], "SUM of the two"),
        "nb01.value_local_backward": ("value_local_backward", ["Value"], "overwritten"),
        "nb01.topological_order": ("topological_order", ["topological_order"], "more than once"),
        "nb01.backpropagate": ("backpropagate", ["backpropagate"], "REVERSE topological order"),
    }


# ---------------------------------------------------------------------------- usual mistakes
# Each exercise's usual mistakes, written as a student would (a function or class written out
# here, or the notebook's solution with a line or two changed), with the phrase the failure
# message must contain on the visible cases: a precise diagnosis, not a generic one.

def edited(grade_id, names, *replacements):
    """The notebook's solution cell `grade_id` with each (old, new) text replaced (each `old`
    must occur exactly once); returns a builder of the student objects `names`."""
    def build():
        def transform(gid, source):
            code = samples.solution_code(source)
            if gid == grade_id:
                for old, new in replacements:
                    assert code.count(old) == 1, (grade_id, old)
                    code = code.replace(old, new)
            return code
        module = SOURCE.module(transform)
        return tuple(getattr(module, name) for name in names)
    return build


def written(*objects):
    """A builder returning student objects written out in this file."""
    return lambda: objects


# --- Exercise 1: numerical_gradient

def one_sided(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    f_w = f(w)
    for i in np.ndindex(w.shape):
        w_plus = np.array(w, dtype=float)
        w_plus[i] += h
        grad[i] = (f(w_plus) - f_w) / h
    return grad


def fixed_step(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        w_plus, w_minus = w.copy(), w.copy()
        w_plus[i] += 1e-5
        w_minus[i] -= 1e-5
        grad[i] = (f(w_plus) - f(w_minus)) / 2e-5
    return grad


def nudges_in_place(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        w[i] += h
        plus = f(w)
        w[i] -= 2 * h
        grad[i] = (plus - f(w)) / (2 * h)  # forgets to restore w[i]
    return grad


def divides_by_h(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        w_plus, w_minus = w.copy(), w.copy()
        w_plus[i] += h
        w_minus[i] -= h
        grad[i] = (f(w_plus) - f(w_minus)) / h
    return grad


def all_at_once(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        grad[i] = (f(w + h) - f(w - h)) / (2 * h)
    return grad


def aliased_copies(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        w_plus = w.copy()
        w_minus = w_plus
        w_plus[i] += h
        w_minus[i] -= h
        grad[i] = (f(w_plus) - f(w_minus)) / (2 * h)
    return grad


def flat_result(f, w, h=1e-5):
    flat = w.ravel()
    grad = np.zeros(flat.size)
    for i in range(flat.size):
        w_plus, w_minus = flat.copy(), flat.copy()
        w_plus[i] += h
        w_minus[i] -= h
        grad[i] = (f(w_plus.reshape(w.shape)) - f(w_minus.reshape(w.shape))) / (2 * h)
    return grad


def sign_flipped(f, w, h=1e-5):
    grad = np.zeros(w.shape)
    for i in np.ndindex(w.shape):
        w_plus, w_minus = w.copy(), w.copy()
        w_plus[i] += h
        w_minus[i] -= h
        grad[i] = (f(w_minus) - f(w_plus)) / (2 * h)
    return grad


def as_list(f, w, h=1e-5):
    grad = []
    for i in np.ndindex(w.shape):
        w_plus, w_minus = w.copy(), w.copy()
        w_plus[i] += h
        w_minus[i] -= h
        grad.append((f(w_plus) - f(w_minus)) / (2 * h))
    return grad


# --- Exercise 2: flat_forward_backward (the solution with one stage changed)

def flat(*replacements):
    return edited("flat_backward", ["flat_forward_backward"], *replacements)


MAX_TO_Y = "dy = ds1 if y >= z else 0.0"
MAX_TO_Z = "dz = 0.0 if y >= z else ds1"
SIGMOID_BRANCH = "dx += (1.0 - s3) * s3 * ds3"


# --- Exercise 3: MultiplyGate and MaxGate

def multiply_max(*replacements):
    return edited("gates_multiply_max", ["MultiplyGate", "MaxGate"], *replacements)


MULTIPLY_RETURN = "return b * upstream, a * upstream"
MAX_FLAG = "(a_wins,) = self.saved_values"
MAX_RETURN = "return (upstream, 0.0) if a_wins else (0.0, upstream)"


# --- Exercise 4: CopyGate and SigmoidGate

def copy_sigmoid(*replacements):
    return edited("gates_copy_sigmoid", ["CopyGate", "SigmoidGate"], *replacements)


COPY_RETURN = "return (first + second,)"
SIGMOID_RETURN = "return ((1.0 - out) * out * upstream,)"


# --- Exercise 5: Value's _backward closures

def value(*replacements):
    return edited("value_local_backward", ["Value"], *replacements)


MUL_SELF = "self.grad += other.data * out.grad"
MUL_OTHER = "other.grad += self.data * out.grad"
TANH = "self.grad += (1.0 - t * t) * out.grad"
MAX_SELF = """            if self_wins:
                self.grad += out.grad
            else:
                other.grad += out.grad"""


# --- Exercise 6: topological_order

def right_order(root):
    """The right answer, for the mistakes below that build on it."""
    order, visited = [], set()

    def place(node):
        if node not in visited:
            visited.add(node)
            for source in node.inputs:
                place(source)
            order.append(node)

    place(root)
    return order


def topo_without_visited(root):
    order = []

    def place(node):
        for source in node.inputs:
            place(source)
        order.append(node)

    place(root)
    return order


def topo_node_before_inputs(root):
    order, visited = [], set()

    def place(node):
        if node not in visited:
            visited.add(node)
            order.append(node)
            for source in node.inputs:
                place(source)

    place(root)
    return order


def topo_root_first(root):
    return right_order(root)[::-1]


def topo_direct_inputs_only(root):
    order = []
    for source in root.inputs:
        if source not in order:
            order.append(source)
    return order + [root]


def topo_without_root(root):
    order, visited = [], set()

    def place(node):
        for source in node.inputs:
            if source not in visited:
                visited.add(source)
                place(source)
                order.append(source)

    place(root)
    return order


def topo_without_leaves(root):
    order, visited = [], set()

    def place(node):
        if node not in visited and node.inputs:
            visited.add(node)
            for source in node.inputs:
                place(source)
            order.append(node)

    place(root)
    return order


def topo_as_set(root):
    return set(right_order(root))


def topo_breadth_first(root):
    order, queue = [], [root]
    while queue:
        node = queue.pop(0)
        if node not in order:
            order.append(node)
            queue.extend(node.inputs)
    return order[::-1]


# --- Exercise 7: backpropagate
# These call topological_order as the notebook's code does; the verdict puts its own (right)
# order in its place, as it does in a student's notebook.
topological_order = right_order


def backprop_forward_order(root):
    nodes = topological_order(root)
    root.grad = 1.0
    for node in nodes:
        node._backward()


def backprop_without_seed(root):
    for node in reversed(topological_order(root)):
        node._backward()


def backprop_seed_after(root):
    for node in reversed(topological_order(root)):
        node._backward()
    root.grad = 1.0


def backprop_every_path(root):
    root.grad = 1.0

    def visit(node):
        node._backward()
        for source in node.inputs:
            visit(source)

    visit(root)


def backprop_skips_root(root):
    nodes = topological_order(root)
    root.grad = 1.0
    for node in reversed(nodes[:-1]):
        node._backward()


def backprop_root_only(root):
    root.grad = 1.0
    root._backward()


def backprop_seeds_every_node(root):
    for node in reversed(topological_order(root)):
        node.grad = 1.0
        node._backward()


# (exercise, mistake name, builder of the student objects, phrase its message must contain)
WRONG = [
    ("nb01.numerical_gradient", "one_sided", written(one_sided), "ONE-SIDED"),
    ("nb01.numerical_gradient", "fixed_step", written(fixed_step), "ignored the step h=0.1"),
    ("nb01.numerical_gradient", "nudges_in_place", written(nudges_in_place), "changed the array w"),
    ("nb01.numerical_gradient", "divides_by_h", written(divides_by_h), "divide by 2h"),
    ("nb01.numerical_gradient", "all_at_once", written(all_at_once), "ALL entries of w nudged together"),
    ("nb01.numerical_gradient", "aliased_copies", written(aliased_copies), "two names for ONE array"),
    ("nb01.numerical_gradient", "flat_result", written(flat_result), "grad.reshape((3, 3)) fixes it"),
    ("nb01.numerical_gradient", "sign_flipped", written(sign_flipped), "wrong sign everywhere"),
    ("nb01.numerical_gradient", "as_list", written(as_list), "not a numpy array"),

    ("nb01.flat_backward", "dx_overwritten", flat((SIGMOID_BRANCH, SIGMOID_BRANCH.replace("+=", "="))),
     "dx holds only one of its two contributions"),
    ("nb01.flat_backward", "dy_overwritten", flat(("dy += x * ds0", "dy = x * ds0")),
     "dy holds only one of its two contributions"),
    ("nb01.flat_backward", "max_to_both", flat((MAX_TO_Y, "dy = ds1"), (MAX_TO_Z, "dz = ds1")),
     "both y and z received the max's gradient"),
    ("nb01.flat_backward", "max_to_smaller",
     flat((MAX_TO_Y, MAX_TO_Y.replace(">=", "<")), (MAX_TO_Z, MAX_TO_Z.replace(">=", "<"))),
     "went to the SMALLER input; z = 3 is the larger"),
    ("nb01.flat_backward", "tie_to_z",
     flat((MAX_TO_Y, MAX_TO_Y.replace(">=", ">")), (MAX_TO_Z, MAX_TO_Z.replace(">=", ">"))),
     "at a tie (y = z = -1) you sent the max's gradient to z"),
    ("nb01.flat_backward", "sigma_as_local", flat((SIGMOID_BRANCH, "dx += s3 * ds3")),
     "used σ(x) itself as the local gradient"),
    ("nb01.flat_backward", "sigmoid_sign", flat((SIGMOID_BRANCH, "dx += (s3 - 1.0) * s3 * ds3")),
     "the sigmoid branch of dx has the wrong sign"),
    ("nb01.flat_backward", "sigmoid_without_upstream", flat((SIGMOID_BRANCH, "dx += (1.0 - s3) * s3")),
     "multiply it by the upstream gradient of s3"),
    ("nb01.flat_backward", "product_not_swapped",
     flat(("ds3 = s2 * df", "ds3 = s3 * df"), ("ds2 = s3 * df", "ds2 = s2 * df")),
     "the product f = s3 * s2 did not swap"),
    ("nb01.flat_backward", "xy_not_swapped",
     flat(("dx = y * ds0", "dx = x * ds0"), ("dy += x * ds0", "dy += y * ds0")),
     "the x*y stage did not swap"),
    ("nb01.flat_backward", "xy_without_upstream", flat(("dx = y * ds0", "dx = y"), ("dy += x * ds0", "dy += x")),
     "the x*y stage passed back its local gradients alone"),

    ("nb01.gates_multiply_max", "multiply_not_swapped",
     multiply_max((MULTIPLY_RETURN, "return a * upstream, b * upstream")), "The multiply gate swaps"),
    ("nb01.gates_multiply_max", "multiply_without_upstream", multiply_max((MULTIPLY_RETURN, "return b, a")),
     "the local gradients alone. Multiply each by the upstream gradient (2)"),
    ("nb01.gates_multiply_max", "multiply_returns_a_list",
     multiply_max((MULTIPLY_RETURN, "return [b * upstream, a * upstream]")), "must return a tuple"),
    ("nb01.gates_multiply_max", "max_to_both", multiply_max((MAX_RETURN, "return upstream, upstream")),
     "both inputs received the upstream gradient"),
    ("nb01.gates_multiply_max", "max_to_smaller",
     multiply_max((MAX_RETURN, "return (0.0, upstream) if a_wins else (upstream, 0.0)")),
     "the gradient went to the SMALLER input b = -1"),
    ("nb01.gates_multiply_max", "max_flag_not_unpacked", multiply_max((MAX_FLAG, "a_wins = self.saved_values")),
     "self.saved_values is always a tuple, even when forward saved a single value"),
    ("nb01.gates_multiply_max", "max_without_upstream",
     multiply_max((MAX_RETURN, "return (1.0, 0.0) if a_wins else (0.0, 1.0)")),
     "the router passed 1 instead of the upstream gradient (2)"),
    ("nb01.gates_multiply_max", "max_returns_one_number",
     multiply_max((MAX_RETURN, "return upstream if a_wins else 0.0")), "must return a tuple"),

    ("nb01.gates_copy_sigmoid", "copy_second_only", copy_sigmoid((COPY_RETURN, "return (second,)")),
     "only the second branch's gradient"),
    ("nb01.gates_copy_sigmoid", "copy_first_only", copy_sigmoid((COPY_RETURN, "return (first,)")),
     "only the first branch's gradient"),
    ("nb01.gates_copy_sigmoid", "copy_bare_number", copy_sigmoid((COPY_RETURN, "return first + second")),
     "write (value,) for a one-element tuple"),
    ("nb01.gates_copy_sigmoid", "copy_per_output", copy_sigmoid((COPY_RETURN, "return (first, second)")),
     "one per OUTPUT"),
    ("nb01.gates_copy_sigmoid", "copy_adds_to_the_tuple",
     copy_sigmoid(("first, second = upstream", "total = upstream + 0.0"), (COPY_RETURN, "return (total,)")),
     "Its upstream is a tuple (first, second)"),
    ("nb01.gates_copy_sigmoid", "sigmoid_sign",
     copy_sigmoid((SIGMOID_RETURN, "return ((out - 1.0) * out * upstream,)")), "the sign is flipped"),
    ("nb01.gates_copy_sigmoid", "sigmoid_sigma_as_local",
     copy_sigmoid((SIGMOID_RETURN, "return (out * upstream,)")), "you used σ(x) as the local gradient"),
    ("nb01.gates_copy_sigmoid", "sigmoid_without_upstream",
     copy_sigmoid((SIGMOID_RETURN, "return ((1.0 - out) * out,)")),
     "the local gradient (1 - σ(x)) σ(x) alone: multiply it by the upstream gradient (2)"),
    ("nb01.gates_copy_sigmoid", "sigmoid_of_output",
     copy_sigmoid((SIGMOID_RETURN, "s = sigmoid(out)\n        return ((1.0 - s) * s * upstream,)")),
     "applied the sigmoid to the saved value again"),
    ("nb01.gates_copy_sigmoid", "sigmoid_saved_values_not_unpacked",
     copy_sigmoid(("out = self.saved_values[0]", "out = self.saved_values")),
     "self.saved_values is always a tuple, even when forward saved a single value"),

    ("nb01.value_local_backward", "overwritten", value((MUL_SELF, "self.grad = other.data * out.grad"),
                                                       (MUL_OTHER, "other.grad = self.data * out.grad")),
     "a.grad was overwritten"),
    ("nb01.value_local_backward", "mul_without_upstream",
     value((MUL_SELF, "self.grad += other.data"), (MUL_OTHER, "other.grad += self.data")),
     "a.grad grew by -3, the local gradient of a * b (that is b) alone, instead of local × upstream"),
    ("nb01.value_local_backward", "mul_not_swapped",
     value((MUL_SELF, "self.grad += self.data * out.grad"), (MUL_OTHER, "other.grad += other.data * out.grad")),
     "the multiply gate swaps"),
    ("nb01.value_local_backward", "tanh_square_missing", value((TANH, "self.grad += (1.0 - t) * out.grad")),
     "1 - tanh(a) (the square is missing)"),
    ("nb01.value_local_backward", "tanh_sign", value((TANH, "self.grad += (t * t - 1.0) * out.grad")),
     "tanh(a)² - 1 (the sign is flipped)"),
    ("nb01.value_local_backward", "tanh_without_upstream", value((TANH, "self.grad += 1.0 - t * t")),
     "the local gradient of tanh alone"),
    ("nb01.value_local_backward", "tanh_of_the_input",
     value((TANH, "self.grad += (1.0 - self.data ** 2) * out.grad")), "with the input a where the output"),
    ("nb01.value_local_backward", "max_to_both",
     value((MAX_SELF, "            self.grad += out.grad\n            other.grad += out.grad")),
     "both inputs received the upstream gradient"),
    ("nb01.value_local_backward", "max_to_smaller",
     value((MAX_SELF, MAX_SELF.replace("if self_wins", "if not self_wins"))), "went to the SMALLER input"),
    ("nb01.value_local_backward", "max_tie_to_other",
     value((MAX_SELF, MAX_SELF.replace("if self_wins", "if self.data > other.data"))),
     "on a tie (a = b = 1.5) the gradient went to b"),
    ("nb01.value_local_backward", "max_without_upstream",
     value((MAX_SELF, MAX_SELF.replace("+= out.grad", "+= 1.0"))), "a.grad grew by 1, the local gradient alone"),

    ("nb01.topological_order", "without_visited", written(topo_without_visited), "more than once"),
    ("nb01.topological_order", "node_before_inputs", written(topo_node_before_inputs),
     "append a node after its inputs"),
    ("nb01.topological_order", "root_first", written(topo_root_first), "your list is reversed"),
    ("nb01.topological_order", "direct_inputs_only", written(topo_direct_inputs_only),
     "visit every input, recursively"),
    ("nb01.topological_order", "without_root", written(topo_without_root), "root itself is missing"),
    ("nb01.topological_order", "without_leaves", written(topo_without_leaves), "leaf node(s) are missing"),
    ("nb01.topological_order", "as_set", written(topo_as_set), "should return a list of nodes, got set"),
    ("nb01.topological_order", "breadth_first", written(topo_breadth_first), "comes before its input"),

    ("nb01.backpropagate", "forward_order", written(backprop_forward_order), "REVERSE topological order"),
    ("nb01.backpropagate", "without_seed", written(backprop_without_seed), "root.grad is still 0"),
    ("nb01.backpropagate", "seed_after", written(backprop_seed_after),
     "root.grad was still 0 when root's _backward ran"),
    ("nb01.backpropagate", "every_path", written(backprop_every_path), "exactly once"),
    ("nb01.backpropagate", "skips_root", written(backprop_skips_root), "root's own _backward never ran"),
    ("nb01.backpropagate", "root_only", written(backprop_root_only), "never ran"),
    ("nb01.backpropagate", "seeds_every_node", written(backprop_seeds_every_node),
     "only root.grad starts at 1"),
]

# messages that would be a vague guess, not a diagnosis
VAGUE = ("only some entries are wrong", "constant factor")


@functools.lru_cache(maxsize=None)
def _case_file_text(exercise_id, hidden):
    return casedata.dumps(casebook.compute(exercise_id, hidden))


def run_in_process(exercise_id, student_objects, hidden):
    compare.start_run()
    lookup(exercise_id).function(casedata.loads(_case_file_text(exercise_id, hidden)), *student_objects)


@pytest.mark.parametrize("exercise_id, name, build, phrase", WRONG, ids=[f"{w[0][5:]}-{w[1]}" for w in WRONG])
def test_usual_mistakes_fail_with_a_precise_message(exercise_id, name, build, phrase):
    with pytest.raises(compare.WrongAnswer) as failure:
        run_in_process(exercise_id, build(), hidden=False)
    message = str(failure.value)
    assert phrase in message, message
    assert not any(vague in message for vague in VAGUE), message


@pytest.mark.parametrize("exercise_id, name, build, phrase", WRONG, ids=[f"{w[0][5:]}-{w[1]}" for w in WRONG])
def test_usual_mistakes_fail_the_hidden_cases(exercise_id, name, build, phrase):
    # an error raised by the student's code fails the exercise too (the worker reports it)
    with pytest.raises(Exception) as failure:
        run_in_process(exercise_id, build(), hidden=True)
    if isinstance(failure.value, compare.WrongAnswer):
        assert not any(vague in str(failure.value) for vague in VAGUE), str(failure.value)


def test_every_exercise_has_five_usual_mistakes():
    counts = {exercise_id: 0 for exercise_id in TestNotebook01.EXERCISES}
    for exercise_id, _, _, _ in WRONG:
        counts[exercise_id] += 1
    assert min(counts.values()) >= 5, counts


def test_the_solutions_pass_in_process():
    # the table's harness itself lets the right answers through (visible and hidden cases)
    for exercise_id, (grade_id, names, _) in TestNotebook01.EXERCISES.items():
        objects = edited(grade_id, names)()
        for hidden in (False, True):
            run_in_process(exercise_id, objects, hidden)


def test_visible_cases_hold_a_tie_where_the_text_says_who_gets_the_gradient():
    flat = casebook.compute("nb01.flat_backward", hidden=False)
    assert any(case["y"] == case["z"] for case in flat)
    value = casebook.compute("nb01.value_local_backward", hidden=False)
    assert any(case["tie"] and case["a"] == case["b"] for case in value["max"])


def test_stub_fails_as_not_done_yet():
    def topological_order(root):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = run("nb01.topological_order", topological_order)
    assert not result.passed
    assert "not implemented yet" in result.message


def test_backpropagate_is_graded_with_the_reference_sort():
    # A broken topological sort must cost Exercise 6 only, not Exercise 7 as well.
    module = SOURCE.with_bug("topological_order")
    assert not run("nb01.topological_order", module.topological_order).passed
    result = run("nb01.backpropagate", module.backpropagate)
    assert result.passed, result.message


def test_numerical_gradient_must_not_change_w():
    result = run("nb01.numerical_gradient", nudges_in_place)
    assert not result.passed
    assert "changed the array w" in result.message


def test_calling_the_reference_numerical_gradient_is_refused():
    import course_lib.gradcheck

    def borrowed(f, w, h=1e-5):
        return course_lib.gradcheck.eval_numerical_gradient(f, w.copy(), h)

    result = run("nb01.numerical_gradient", borrowed)
    assert not result.passed
    assert "may not call" in result.message
