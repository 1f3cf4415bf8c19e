"""Exercise checks of notebook 01 (flat backprop): numerical gradients, flat backward, gates, autograd.

nb01.numerical_gradient     student(f, w, h=1e-5) -> centered-difference gradient, shape of w
nb01.flat_backward          student(x, y, z) -> (f, dx, dy, dz) for f = sigmoid(x) (x y + max(y, z))
nb01.gates_multiply_max     MultiplyGate, MaxGate classes (forward given, backward written)
nb01.gates_copy_sigmoid     CopyGate, SigmoidGate classes
nb01.value_local_backward   the student's Value class: _backward closures of *, tanh, max
nb01.topological_order      student(root) -> list of nodes, inputs before the nodes using them
nb01.backpropagate          student(root): fills .grad of every node of a graph

Graphs for the last two are described in the case data as node lists (label, op, data,
inputs, and each node's local gradients); the verdicts rebuild them with a small node class
that has the attributes (data, grad, inputs, op, label, _backward) the notebook's Value has.
Expected values (gradients, orders, gate outputs) come from course_lib's reference engine
and gates, computed on the instructor's side (cases.py).
"""
