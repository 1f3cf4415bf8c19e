"""The modular API for backprop: gates with forward/backward, and a Graph that runs them in order.

Every gate is a small object with two methods:

- ``forward(*inputs)`` computes the output from float inputs and stashes (with
  ``save_for_backward``) whatever its backward will need;
- ``backward(upstream)`` takes d(loss)/d(output) and returns d(loss)/d(input) for each input,
  as a tuple in the order of forward's arguments: downstream = local gradient * upstream.

This is the contract of PyTorch's ``torch.autograd.Function``: there ``forward(ctx, ...)``
calls ``ctx.save_for_backward(...)`` and ``backward(ctx, grad_output)`` reads
``ctx.saved_tensors`` and returns one gradient per forward input. Here the gate object plays
the role of ``ctx``, so a gate instance belongs to one place in one graph.

The sigmoid neuron f(w, x) = sigmoid(w0 x0 + w1 x1 + w2) as a graph:

    neuron = Graph([
        ("s0", MultiplyGate(), ("w0", "x0")),
        ("s1", MultiplyGate(), ("w1", "x1")),
        ("s2", AddGate(), ("s0", "s1")),
        ("s3", AddGate(), ("s2", "w2")),
        ("f", SigmoidGate(), ("s3",)),
    ], output="f")
    neuron.forward({"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0})  # 0.7311
    neuron.backward()["w0"]                                                     # -0.1966

The graph is not unique: the sigmoid node can also be staged as MultiplyGate (by a constant
input -1), ExpGate, AddGate (constant input 1) and ReciprocalGate, with the same gradients.
Constants are ordinary graph inputs; their gradients are computed and simply not used.
"""
import math
from collections import defaultdict, deque

from course_lib.autograd import sigmoid


class Gate:
    """Base class: a node with `num_inputs` float inputs and `num_outputs` float outputs.

    A gate with one output returns a float from forward and takes a float upstream gradient;
    a gate with several returns a tuple and takes a tuple of upstream gradients, one per output.
    """

    num_inputs = 1
    num_outputs = 1

    def save_for_backward(self, *values):
        """Remember what backward needs (PyTorch: ctx.save_for_backward)."""
        self._saved = values

    @property
    def saved_values(self):
        """What forward saved (PyTorch: ctx.saved_tensors); RuntimeError before any forward."""
        if not hasattr(self, "_saved"):
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        return self._saved

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, upstream):
        raise NotImplementedError


class AddGate(Gate):
    """a + b. Gradient distributor: both inputs receive the upstream gradient unchanged."""

    num_inputs = 2

    def forward(self, a, b):
        return a + b  # nothing to save: both local gradients are 1 whatever a and b were

    def backward(self, upstream):
        return upstream, upstream


class MultiplyGate(Gate):
    """a * b. Swap multiplier: each input receives upstream times the *other* input."""

    num_inputs = 2

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, upstream):
        a, b = self.saved_values
        return b * upstream, a * upstream


class MaxGate(Gate):
    """max(a, b). Gradient router: the larger input gets all of upstream, the other 0 (a wins ties)."""

    num_inputs = 2

    def forward(self, a, b):
        a_wins = a >= b
        self.save_for_backward(a_wins)
        return a if a_wins else b

    def backward(self, upstream):
        (a_wins,) = self.saved_values
        return (upstream, 0.0) if a_wins else (0.0, upstream)


class CopyGate(Gate):
    """Fan-out: one input, two identical outputs. Gradient adder: the branches' gradients sum."""

    num_outputs = 2

    def forward(self, x):
        return x, x

    def backward(self, upstream):
        """upstream: (d/d first output, d/d second output). Returns (their sum,)."""
        first, second = upstream
        return (first + second,)


class ExpGate(Gate):
    """e^x, whose local gradient is its own output."""

    def forward(self, x):
        out = math.exp(x)
        self.save_for_backward(out)
        return out

    def backward(self, upstream):
        (out,) = self.saved_values
        return (out * upstream,)


class ReciprocalGate(Gate):
    """1 / x, with local gradient -1 / x^2."""

    def forward(self, x):
        self.save_for_backward(x)
        return 1.0 / x

    def backward(self, upstream):
        (x,) = self.saved_values
        return (-upstream / (x * x),)


class SigmoidGate(Gate):
    """sigmoid(x) as a single node, with local gradient sigmoid(x) (1 - sigmoid(x))."""

    def forward(self, x):
        out = sigmoid(x)
        self.save_for_backward(out)  # the local gradient needs only the output, not x
        return out

    def backward(self, upstream):
        (out,) = self.saved_values
        return ((1.0 - out) * out * upstream,)


class Graph:
    """A DAG of gates wired by name; forward in topological order, backward in reverse.

    nodes: list of (outputs, gate, inputs) in any order. outputs is the name of the gate's
        result, or a tuple of names for a gate with several outputs (CopyGate); inputs is a
        tuple of names. A name no node produces is an input of the whole graph.
    output: the name of the scalar the graph computes (backward starts from d output = 1).

    A name read by several gates fans out: backward sums the gradients coming back from each
    reader, which is exactly what an explicit CopyGate does.
    """

    def __init__(self, nodes, output):
        self.nodes = [self._check_node(node) for node in nodes]
        produced = [name for outputs, _, _ in self.nodes for name in outputs]
        duplicates = sorted({name for name in produced if produced.count(name) > 1})
        if duplicates:
            raise ValueError(f"each name must be produced by one node, {duplicates} are produced twice")
        gates = [id(gate) for _, gate, _ in self.nodes]
        if len(set(gates)) != len(gates):
            raise ValueError("a gate instance appears twice; give each node its own gate (it stores state)")
        self.input_names = sorted({name for _, _, inputs in self.nodes for name in inputs} - set(produced))
        if output not in produced:
            raise ValueError(f"output must name a node's result, got {output!r}; results are {produced}")
        self.output = output
        self.order = self._topological_order()
        self.values = {}

    @staticmethod
    def _check_node(node):
        outputs, gate, inputs = node
        outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
        inputs = tuple(inputs)
        if not isinstance(gate, Gate):
            raise TypeError(f"node {outputs}: expected a Gate, got {type(gate).__name__}")
        if len(inputs) != gate.num_inputs or len(outputs) != gate.num_outputs:
            raise ValueError(
                f"node {outputs}: {type(gate).__name__} takes {gate.num_inputs} input(s) and gives "
                f"{gate.num_outputs} output(s), got {len(inputs)} input name(s) and {len(outputs)} output name(s)"
            )
        return outputs, gate, inputs

    def _topological_order(self):
        """The nodes, each after every node that produces one of its inputs (Kahn's algorithm)."""
        producer = {name: i for i, (outputs, _, _) in enumerate(self.nodes) for name in outputs}
        waiting_on = [0] * len(self.nodes)
        readers = defaultdict(list)
        for i, (_, _, inputs) in enumerate(self.nodes):
            for name in inputs:
                if name in producer:
                    waiting_on[i] += 1
                    readers[producer[name]].append(i)
        ready = deque(i for i, count in enumerate(waiting_on) if count == 0)
        order = []
        while ready:
            i = ready.popleft()
            order.append(self.nodes[i])
            for reader in readers[i]:
                waiting_on[reader] -= 1
                if waiting_on[reader] == 0:
                    ready.append(reader)
        if len(order) != len(self.nodes):
            stuck = [self.nodes[i][0] for i, count in enumerate(waiting_on) if count > 0]
            raise ValueError(f"the graph has a cycle through the nodes producing {stuck}")
        return order

    def forward(self, inputs):
        """Run every gate in topological order.

        inputs: dict from each name in self.input_names to a float.
        Returns the value of self.output; every intermediate value is kept in self.values.
        """
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise ValueError(f"inputs is missing {missing}; the graph needs {self.input_names}")
        values = {name: float(inputs[name]) for name in self.input_names}
        for outputs, gate, in_names in self.order:
            result = gate.forward(*(values[name] for name in in_names))
            values.update(zip(outputs, result if len(outputs) > 1 else (result,)))
        self.values = values
        return values[self.output]

    def backward(self):
        """Gradients of self.output with respect to every named value, from the last forward.

        Returns a dict name -> float (graph inputs and intermediates alike); a value the output
        does not depend on gets 0. Each call starts afresh: nothing accumulates across calls.
        """
        if not self.values:
            raise RuntimeError("Graph.backward called before forward")
        grads = dict.fromkeys(self.values, 0.0)
        grads[self.output] = 1.0
        for outputs, gate, in_names in reversed(self.order):
            upstream = tuple(grads[name] for name in outputs)
            downstream = gate.backward(upstream if len(outputs) > 1 else upstream[0])
            if not isinstance(downstream, tuple) or len(downstream) != len(in_names):
                raise TypeError(
                    f"{type(gate).__name__}.backward must return a tuple of {len(in_names)} "
                    f"gradient(s), one per forward input, got {downstream!r}"
                )
            for name, grad in zip(in_names, downstream):
                grads[name] += grad  # += : a name read by several gates collects every branch
        return grads
