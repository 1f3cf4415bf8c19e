"""Sample submissions generated from the source notebooks, for `demo`, tests and benchmarks.

Typical-bug convention (for notebook authors): inside a solution region, a block

    ### BEGIN SOLUTION
    out = np.maximum(x, 0.0)
    ### BEGIN TYPICAL BUG
    # out = np.abs(x)
    ### END TYPICAL BUG
    ### END SOLUTION

holds the commented-out code of a usual mistake. The solution run ignores it (it is
comments) and nbgrader strips it from the release with the rest of the solution
region. The sample `bug-<grade_id>` is the perfect submission with that cell's
solution region replaced by the uncommented bug, so it must lose exactly the points
of the tests that follow that solution cell, and nothing else.
"""
import copy
import re
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from autograder.grading import course
from autograder.grading.cells import (
    BEGIN_SOLUTION,
    BEGIN_TYPICAL_BUG,
    END_SOLUTION,
    END_TYPICAL_BUG,
    grade_id,
    is_answer,
    is_solution_code,
    is_test,
    uses,
)

SAMPLE_TIMESTAMP = "2024-01-01 12:00:00.000000 UTC"

TAMPERING = {
    "monkeypatch": "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None",
    "patch_helpers": "import autograder\nautograder.check = lambda *a, **k: None",
}


# The forging cell of issue 14: no name the tamper scan forbids; it reaches the IPython shell
# through sys.displayhook, has it run code the scan never sees, and that code replaces the
# kernel-side function that turns the judge's answer into "✓" or a raised CheckFailed: every
# check still asks the judge, and every one prints "✓". Scores from the kernel's outputs would
# be full marks; scores from the judge's record are what the real checks earn.
FORGING = """import sys
sys.displayhook.shell.run_cell('''
import dataclasses
from autograder.check import checker
asked = checker.run
def forged_run(*args, **kwargs):
    return dataclasses.replace(asked(*args, **kwargs), passed=True)
checker.run = forged_run
''')"""


def _uncomment(line):
    return re.sub(r"^(\s*)# ?", r"\1", line)


def solution_code(source):
    """The solution cell as a student who got it right would write it (markers and bug blocks removed)."""
    out, in_bug = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_TYPICAL_BUG:
            in_bug = True
        elif stripped == END_TYPICAL_BUG:
            in_bug = False
        elif stripped not in (BEGIN_SOLUTION, END_SOLUTION) and not in_bug:
            out.append(line)
    return "\n".join(out)


def bug_code(source):
    """The solution cell with each solution region replaced by its typical bug, or None if it has none.

    A region without a bug block keeps its solution, so only the bugged region is wrong.
    """
    out, state, found = [], "outside", False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped == BEGIN_SOLUTION:
            state, solution, bug, region_has_bug = "solution", [], [], False
        elif stripped == BEGIN_TYPICAL_BUG and state == "solution":
            state, found, region_has_bug = "bug", True, True
        elif stripped == END_TYPICAL_BUG and state == "bug":
            state = "solution"
        elif stripped == END_SOLUTION:
            out.extend(bug if region_has_bug else solution)
            state = "outside"
        elif state == "bug":
            bug.append(_uncomment(line))
        elif state == "solution":
            solution.append(line)
        else:
            out.append(line)
    return "\n".join(out) if found else None


def exercise_tests(source_nb):
    """Solution grade_id -> grade ids of the test cells after it (up to the next solution cell)."""
    mapping, current = {}, None
    for cell in source_nb.cells:
        if is_solution_code(cell):
            current = grade_id(cell)
            mapping[current] = []
        elif is_test(cell) and current is not None:
            mapping[current].append(grade_id(cell))
    return mapping


def tests_using(source_nb):
    """Solution grade_id -> grade ids of the later test cells that also run it (cells.uses)."""
    mapping = {}
    for cell in source_nb.cells:
        if is_test(cell):
            for solution in uses(cell):
                mapping.setdefault(solution, []).append(grade_id(cell))
    return mapping


def _filled(release_nb, source_nb, code_for):
    """The release notebook with each answer cell's source replaced by code_for(grade_id, source)."""
    sources = {grade_id(c): c.source for c in source_nb.cells if is_answer(c)}
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        if is_answer(cell) and grade_id(cell) in sources:
            cell.source = code_for(grade_id(cell), sources[grade_id(cell)])
    return nb


def perfect(release_nb, source_nb):
    return _filled(release_nb, source_nb, lambda _, src: solution_code(src))


def with_bug(release_nb, source_nb, grade_id):
    return _filled(
        release_nb, source_nb, lambda gid, src: (bug_code(src) or src) if gid == grade_id else solution_code(src)
    )


def tampered(release_nb):
    """The blank release plus the classic tricks: patched numpy and helpers, an emptied and a deleted test."""
    nb = copy.deepcopy(release_nb)
    tests = [i for i, c in enumerate(nb.cells) if is_test(c)]
    if tests:
        nb.cells[tests[0]].source = re.sub(r"^(\s*)(assert|check)\b.*$", r"\1pass", nb.cells[tests[0]].source, flags=re.M)
    if len(tests) > 1:
        del nb.cells[tests[-1]]
    first_solution = next((i for i, c in enumerate(nb.cells) if is_solution_code(c)), 0)
    for offset, code in enumerate(TAMPERING.values()):
        nb.cells.insert(first_solution + offset, new_code_cell(code))
    return nb


def with_cell_first(nb, code):
    """nb with a code cell `code` inserted before its first answer cell (it runs before every test)."""
    nb = copy.deepcopy(nb)
    first_solution = next((i for i, c in enumerate(nb.cells) if is_solution_code(c)), 0)
    nb.cells.insert(first_solution, new_code_cell(code))
    return nb


def build_samples(settings, assignment):
    """student -> {notebook file name: notebook}: perfect, blank, tampered, forging (the blank
    release with the FORGING cell) and one bug-<grade_id> per typical bug."""
    pairs = [
        (path.name, course.read_notebook(path),
         course.read_notebook(course.release_notebook(settings, assignment, path.stem)))
        for path in course.source_notebooks(settings, assignment)
    ]
    students = {
        "perfect": {name: perfect(release_nb, source_nb) for name, source_nb, release_nb in pairs},
        "blank": {name: release_nb for name, _, release_nb in pairs},
        "tampered": {name: tampered(release_nb) for name, _, release_nb in pairs},
        "forging": {name: with_cell_first(release_nb, FORGING) for name, _, release_nb in pairs},
    }
    for name, source_nb, release_nb in pairs:
        for cell in source_nb.cells:
            if is_solution_code(cell) and bug_code(cell.source) is not None:
                buggy = dict(students["perfect"])
                buggy[name] = with_bug(release_nb, source_nb, grade_id(cell))
                students[f"bug-{grade_id(cell)}"] = buggy
    return students


def write_submission(submissions_dir, student, assignment, notebooks, timestamp=SAMPLE_TIMESTAMP):
    """Write DIR/<student>/<assignment>/<notebook>.ipynb (+ timestamp.txt), nbgrader's submitted layout."""
    folder = Path(submissions_dir) / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        if nb is not None:
            nbformat.write(nb, str(folder / name))
    if timestamp:
        (folder / "timestamp.txt").write_text(timestamp)
    return folder


def now_timestamp():
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
