"""The vocabulary of a course notebook's cells, in one place.

nbgrader marks cells in `cell.metadata["nbgrader"]`; its own predicates (`nbgrader.utils`)
decide what is a grade, a solution or a locked cell, and this module names the roles the
course uses on top of them. Every reader of notebooks (staging, samples, validate, the
feedback filter, the tests) asks here instead of reading the metadata itself.

Roles:
- answer: a cell the student fills in (nbgrader solution cell, code or markdown);
- solution code: an answer that is code (an exercise's implementation);
- written answer: an answer with points (graded by hand in the formgrader);
- test: a code cell with points that is not an answer (autograded);
- locked: a cell nbgrader restores from the source when grading (tests, read-only cells).

Markers inside cells:
- `### BEGIN SOLUTION` / `### END SOLUTION`: stripped from the release;
- `### BEGIN HIDDEN TESTS` / `### END HIDDEN TESTS`: in test cells, stripped from the
  release and from feedback;
- `### BEGIN TYPICAL BUG` / `### END TYPICAL BUG`: inside a solution region, the usual
  mistake as comments (the course's own convention, see `samples`).
"""
import ast

from nbgrader.utils import is_grade, is_locked, is_solution

BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_TYPICAL_BUG, END_TYPICAL_BUG = "### BEGIN TYPICAL BUG", "### END TYPICAL BUG"
# without the leading "###": tracebacks and staged sources are matched on these words alone
BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS = "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"


def nbgrader_metadata(cell):
    """The cell's nbgrader metadata (an empty dict for a plain cell)."""
    return cell.metadata.get("nbgrader", {})


def grade_id(cell):
    """The cell's nbgrader grade id, or None for a plain cell."""
    return nbgrader_metadata(cell).get("grade_id")


def points(cell):
    """Points of a graded cell, as a float."""
    return float(nbgrader_metadata(cell).get("points", 0))


def is_answer(cell):
    return is_solution(cell)


def is_solution_code(cell):
    return is_solution(cell) and cell.cell_type == "code"


def is_written_answer(cell):
    return is_solution(cell) and is_grade(cell)


def is_test(cell):
    return is_grade(cell) and not is_solution(cell) and cell.cell_type == "code"


def uses(cell):
    """Grade ids of the solution cells a test cell's code runs besides the one it follows, from
    the cell's metadata {"autograder": {"uses": [...]}} (nb02's training runs the student's
    loss and optimizer): a mistake there may cost this test's points too."""
    return list(cell.get("metadata", {}).get("autograder", {}).get("uses", []))


def checks(cell):
    """(exercise_id, hidden) of every `check("<id>", ..., hidden=...)` call in a test cell's
    source, in order: what the judge must have passed for the cell to score."""
    try:
        tree = ast.parse(cell.source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
        if name != "check":
            continue
        hidden = any(k.arg == "hidden" and isinstance(k.value, ast.Constant) and k.value.value is True
                     for k in node.keywords)
        found.append(((node.lineno, node.col_offset), (node.args[0].value, hidden)))
    return list(dict.fromkeys(check for _, check in sorted(found)))


def is_restored(cell):
    """nbgrader puts this cell back from the source when grading (a test or a read-only cell)."""
    return is_locked(cell)


def cells_by_grade_id(nb, role=None):
    """grade id -> cell, for the notebook's cells with a grade id (and the role, if given)."""
    return {grade_id(c): c for c in nb.cells if grade_id(c) and (role is None or role(c))}
