"""A scalar autograd engine: each operation records its inputs and a closure that pushes gradient back.

    a, b = Value(2.0), Value(-3.0)
    c = (a * b).sigmoid()
    c.backward()            # a.grad = b * sigmoid'(a*b), b.grad = a * sigmoid'(a*b)

Gradient semantics of backward(): every interior node's grad is reset and then filled from this
call; leaves (values not computed from others) ACCUMULATE across calls, as in PyTorch, so call
zero_grad() between independent backward passes.
"""
import math
import numbers


def sigmoid(x):
    """Logistic function 1 / (1 + e^-x) of a float, without overflow for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)  # for x < 0 this cannot overflow, unlike exp(-x)
    return z / (1.0 + z)


def topological_order(root):
    """Every node reachable from `root`, each listed after all of its inputs (root last).

    Depth-first search with an explicit stack rather than recursion, so a chain of thousands
    of operations does not hit Python's recursion limit.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((child, False) for child in node.inputs if child not in visited)
    return order


class Value:
    """A float `data`, its gradient `grad` = d(root)/d(self) after root.backward(), and how it was made.

    inputs: the Values this one was computed from (empty for a leaf); op: the operation's symbol;
    label: an optional name, for drawing the graph.
    """

    def __init__(self, data, inputs=(), op="", label=""):
        if not isinstance(data, numbers.Real):
            raise TypeError(f"data must be a real number, got {type(data).__name__}")
        self.data = float(data)
        self.grad = 0.0
        self.inputs = tuple(inputs)
        self.op = op
        self.label = label
        self._backward = lambda: None  # a leaf has nothing to pass gradient to

    @staticmethod
    def _wrap(other):
        return other if isinstance(other, Value) else Value(other)

    def _result(self, data, op, inputs, local_grads):
        """New node `data` = op(inputs); its closure adds local_grad * upstream into each input."""
        out = Value(data, inputs, op)

        def _backward():  # += so that an input used twice (x * x) receives both contributions
            for node, local_grad in zip(inputs, local_grads):
                node.grad += local_grad * out.grad
        out._backward = _backward
        return out

    def __add__(self, other):  # distributes: both local gradients are 1
        other = Value._wrap(other)
        return self._result(self.data + other.data, "+", (self, other), (1.0, 1.0))

    def __mul__(self, other):  # swaps: each input's local gradient is the other input
        other = Value._wrap(other)
        return self._result(self.data * other.data, "*", (self, other), (other.data, self.data))

    def __pow__(self, exponent):
        if isinstance(exponent, Value) or not isinstance(exponent, numbers.Real):
            raise TypeError(f"exponent must be a plain number, got {type(exponent).__name__}")
        result = self.data ** exponent
        if isinstance(result, complex):
            raise ValueError(f"a negative base ({self.data}) to a fractional power has no real value")
        local_grad = exponent * self.data ** (exponent - 1)
        return self._result(result, f"**{exponent:g}", (self,), (local_grad,))

    def exp(self):
        e = math.exp(self.data)
        return self._result(e, "exp", (self,), (e,))

    def tanh(self):
        t = math.tanh(self.data)
        return self._result(t, "tanh", (self,), (1.0 - t * t,))

    def sigmoid(self):
        s = sigmoid(self.data)
        return self._result(s, "sigmoid", (self,), (s * (1.0 - s),))

    def relu(self):
        """max(0, x); the slope at exactly 0 is taken as 0."""
        return self._result(max(self.data, 0.0), "relu", (self,), (float(self.data > 0),))

    def max(self, other):
        """The larger of self and other; routes all the gradient to it (to self on a tie)."""
        other = Value._wrap(other)
        self_wins = self.data >= other.data
        data = self.data if self_wins else other.data
        return self._result(data, "max", (self, other), (float(self_wins), float(not self_wins)))

    def __neg__(self): return self * -1
    def __sub__(self, other): return self + (-other)
    def __truediv__(self, other): return self * Value._wrap(other) ** -1
    def __radd__(self, other): return self + other
    def __rmul__(self, other): return self * other
    def __rsub__(self, other): return other + (-self)
    def __rtruediv__(self, other): return Value(other) * self ** -1

    def zero_grad(self):
        """Set grad to 0 on this node and everything it was computed from."""
        for node in topological_order(self):
            node.grad = 0.0

    def backward(self):
        """Fill in d(self)/d(node) for every node reachable from self (see the module docstring)."""
        order = topological_order(self)
        for node in order:
            if node.inputs:
                node.grad = 0.0
        self.grad += 1.0
        for node in reversed(order):
            node._backward()

    def __repr__(self):
        return f"Value(data={self.data:.4g}, grad={self.grad:.4g})"
