"""Draw a scalar computational graph with matplotlib: forward values and gradients on the edges.

Works on any node that looks like course_lib.autograd.Value: `data` and `grad` (floats),
`inputs` (the nodes it was computed from), `op` (a symbol, "" for a leaf) and optionally
`label` (a name such as "x").

    x, y, z = Value(-2.0, label="x"), Value(5.0, label="y"), Value(-4.0, label="z")
    f = (x + y) * z
    f.backward()
    draw_graph(f)        # each edge shows the value flowing forward and d f / d value below it
"""
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

VALUE_COLOR = "tab:green"
GRAD_COLOR = "tab:red"
_NODE_RADIUS = 0.28
_OP_SYMBOLS = {"sigmoid": "σ", "**-1": "1/x", "**2": "x²"}


def graph_layout(root):
    """Column and row of every node reachable from `root`, for drawing left to right.

    root: a Value-like node. Returns {node: (column, row)} where column is an int and every
    node's column is larger than its inputs' columns; leaves sit one column left of their
    first consumer, so a late input (a bias) is drawn next to where it is used. Rows are
    floats: leaves in depth-first order, inner nodes at the mean row of their inputs.
    """
    column = _depths(_reachable(root))
    # by depth: every node after its inputs (not notebook 01's depth-first answer, which the
    # student edition of that notebook leaves out)
    order = sorted(column, key=lambda node: column[node])
    consumers = {}
    for node in order:
        for i in node.inputs:
            consumers.setdefault(i, []).append(node)
    for node in order:
        if not node.inputs and node in consumers:
            column[node] = min(column[c] for c in consumers[node]) - 1

    row = {}
    for index, leaf in enumerate(_leaves_in_input_order(root)):
        row[leaf] = float(index)
    for node in order:
        if node.inputs:
            row[node] = sum(row[i] for i in node.inputs) / len(node.inputs)
    return {node: (column[node], _spread(node, row, column)) for node in order}


def _reachable(root):
    """Every node under `root` (itself included), each once."""
    found, stack = {}, [root]
    while stack:
        node = stack.pop()
        if id(node) not in found:
            found[id(node)] = node
            stack.extend(node.inputs)
    return list(found.values())


def _depths(nodes):
    """{node: 1 + the largest depth of its inputs} (leaves: 0), relaxed until nothing changes."""
    depth = dict.fromkeys(nodes, 0)
    changed = True
    while changed:
        changed = False
        for node in nodes:
            deepest = 1 + max((depth[i] for i in node.inputs), default=-1)
            if deepest != depth[node]:
                depth[node], changed = deepest, True
    return depth


def _leaves_in_input_order(root):
    """The leaves under `root` in depth-first order, first input first (each leaf once)."""
    leaves, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if not node.inputs:
            leaves.append(node)
        stack.extend(reversed(node.inputs))  # reversed: the first input is popped first
    return leaves


def _spread(node, row, column, gap=0.6):
    """Row of `node`, pushed down so that no two nodes of one column sit closer than `gap`."""
    same_column = sorted((n for n in row if column[n] == column[node]), key=lambda n: (row[n], id(n)))
    placed = []
    for n in same_column:
        y = row[n] if not placed else max(row[n], placed[-1] + gap)
        placed.append(y)
        if n is node:
            return y
    return row[node]


def draw_graph(root, ax=None, fmt="{:.3g}", title=None):
    """Draw the graph that computed `root`, after a forward (and ideally a backward) pass.

    root: a Value-like node; ax: matplotlib axes (a new figure when None); fmt: number format.
    Leaves are boxes with their label (or their value, for unnamed constants), operations
    circles with their symbol. Each edge
    carries the input's value above it (green) and its gradient d root / d input below
    it (red); a node used twice shows its total (summed) gradient on both edges.
    Returns the axes.
    """
    positions = graph_layout(root)
    if ax is None:
        num_columns = 1 + max(c for c, _ in positions.values())
        num_rows = 1 + max(r for _, r in positions.values())
        _, ax = plt.subplots(figsize=(2.2 * num_columns + 1.5, 1.1 * num_rows + 1.0))
    xy = {node: (2.0 * c, -r) for node, (c, r) in positions.items()}

    for node, (x, y) in xy.items():
        for source in node.inputs:
            _draw_edge(ax, xy[source], (x, y), source, fmt, into_op=True)
        if node.inputs:
            ax.add_patch(Circle((x, y), _NODE_RADIUS, facecolor="whitesmoke", edgecolor="black", zorder=3))
            symbol = _OP_SYMBOLS.get(node.op, node.op)
            ax.text(x, y, symbol, ha="center", va="center", fontsize=11 if len(symbol) <= 2 else 8,
                    zorder=4)
            if getattr(node, "label", ""):
                ax.text(x, y + _NODE_RADIUS + 0.08, node.label, ha="center", va="bottom",
                        fontsize=9, style="italic")
        else:
            name = getattr(node, "label", "") or fmt.format(node.data)  # an unnamed constant
            ax.add_patch(FancyBboxPatch((x - 0.3, y - 0.17), 0.6, 0.34, boxstyle="round,pad=0.02",
                                        facecolor="lightyellow", edgecolor="black", zorder=3))
            ax.text(x, y, name, ha="center", va="center", fontsize=10, zorder=4)

    root_x, root_y = xy[root]
    _draw_edge(ax, (root_x, root_y), (root_x + 1.6, root_y), root, fmt, into_op=False)

    xs = [x for x, _ in xy.values()] + [root_x + 1.6]
    ys = [y for _, y in xy.values()]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.4)
    ax.set_ylim(min(ys) - 0.9, max(ys) + 0.6)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.text(min(xs) - 0.5, min(ys) - 0.55, "value above each edge", color=VALUE_COLOR, fontsize=9)
    ax.text(min(xs) - 0.5, min(ys) - 0.85, "gradient d(output)/d(value) below it", color=GRAD_COLOR,
            fontsize=9)
    if title:
        ax.set_title(title)
    return ax


def _draw_edge(ax, start, end, source, fmt, into_op):
    """Arrow start -> end labelled with source.data (above) and source.grad (below)."""
    (x0, y0), (x1, y1) = start, end
    shrink_end = _NODE_RADIUS if into_op else 0.0
    length = max(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5, 1e-9)
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    ax.annotate("", xy=(x1 - ux * shrink_end, y1 - uy * shrink_end),
                xytext=(x0 + ux * 0.3, y0 + uy * 0.3),
                arrowprops=dict(arrowstyle="->", color="gray", lw=1.2), zorder=2)
    mx, my = x0 + 0.45 * (x1 - x0), y0 + 0.45 * (y1 - y0)
    ax.text(mx, my + 0.07, fmt.format(source.data), color=VALUE_COLOR, ha="center", va="bottom",
            fontsize=9, zorder=5)
    ax.text(mx, my - 0.07, fmt.format(source.grad), color=GRAD_COLOR, ha="center", va="top",
            fontsize=9, zorder=5)
