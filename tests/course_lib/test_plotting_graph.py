"""course_lib.plotting_graph: layout of a Value graph and the numbers written on its edges."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from course_lib.autograd import Value  # noqa: E402
from course_lib.plotting_graph import draw_graph, graph_layout  # noqa: E402


def sum_times_graph():
    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    q = x + y
    f = q * z
    f.backward()
    return f, (x, y, z, q)


def test_layout_of_sum_times():
    f, (x, y, z, q) = sum_times_graph()
    layout = graph_layout(f)
    assert set(layout) == {x, y, z, q, f}
    assert layout[x][0] == layout[y][0] == 0
    assert layout[q][0] == 1 and layout[f][0] == 2
    assert layout[z][0] == 1  # a late input sits next to the node that uses it
    assert layout[x][1] < layout[y][1]  # first input on top


@st.composite
def random_graphs(draw):
    num_leaves = draw(st.integers(1, 4))
    nodes = [Value(float(v)) for v in range(num_leaves)]
    for _ in range(draw(st.integers(1, 12))):
        a = nodes[draw(st.integers(0, len(nodes) - 1))]
        b = nodes[draw(st.integers(0, len(nodes) - 1))]
        op = draw(st.sampled_from(["+", "*", "tanh", "max"]))
        nodes.append({"+": lambda: a + b, "*": lambda: a * b, "tanh": a.tanh, "max": lambda: a.max(b)}[op]())
    return nodes[-1]


@settings(max_examples=30, deadline=None)
@given(random_graphs())
def test_every_node_is_right_of_its_inputs_and_rows_do_not_collide(root):
    layout = graph_layout(root)
    for node, (column, _) in layout.items():
        assert all(layout[i][0] < column for i in node.inputs)
    by_column = {}
    for column, row in layout.values():
        by_column.setdefault(column, []).append(row)
    for rows in by_column.values():
        rows.sort()
        assert all(b - a >= 0.6 - 1e-12 for a, b in zip(rows, rows[1:]))


def test_edges_carry_values_and_gradients():
    f, _ = sum_times_graph()
    fig, ax = plt.subplots()
    draw_graph(f, ax=ax)
    texts = [t.get_text() for t in ax.texts]
    # values -2, 5, -4, 3, -12 and gradients -4 (x, y, q), 3 (z), 1 (f) on the five edges
    for value in ["-2", "5", "3", "-12"]:
        assert value in texts
    assert texts.count("-4") == 4  # z's value and the gradients of x, y and q
    assert "1" in texts
    assert {"x", "y", "z", "*", "+"} <= set(texts)
    arrows = [c for c in ax.get_children() if isinstance(c, matplotlib.text.Annotation)]
    assert len(arrows) == 5  # x->+, y->+, +->*, z->*, and the output arrow
    plt.close(fig)


def test_unnamed_constants_show_their_value():
    x = Value(0.5, label="x")
    out = (x * 3.0).sigmoid()
    out.backward()
    fig, ax = plt.subplots()
    draw_graph(out, ax=ax)
    texts = [t.get_text() for t in ax.texts]
    assert "3" in texts and "σ" in texts
    plt.close(fig)


def test_a_new_figure_when_no_axes_given():
    f, _ = sum_times_graph()
    ax = draw_graph(f, title="f = (x + y) z")
    assert ax.get_title() == "f = (x + y) z"
    plt.close(ax.figure)


@pytest.mark.parametrize("fmt, expected", [("{:.2f}", "-12.00"), ("{:.0f}", "-12")])
def test_number_format(fmt, expected):
    f, _ = sum_times_graph()
    ax = draw_graph(f, fmt=fmt)
    assert expected in [t.get_text() for t in ax.texts]
    plt.close(ax.figure)
