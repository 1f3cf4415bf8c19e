"""Broken and hostile submissions, graded for real in one batch with a perfect control student.

Each case states what the student must get: the batch never crashes, every other
student is graded, and the student is told what happened.
"""
import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder.grading import samples
from autograder.grading.cells import grade_id as cell_grade_id
from autograder.grading.cells import is_grade
from autograder.grading.pipeline import grade
from support.fixture_course import (
    ASSIGNMENT,
    NOTEBOOK,
    POINTS,
    cell_scores,
    expected_scores,
    make_course,
    write_students,
)

# grades with the real nbgrader; one xdist worker builds the module's batch (make test: --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("hostile_batch")]

CELL_TIMEOUT_S = 4
KERNEL_MEMORY_MB = 1024
ALL = tuple(POINTS)


def _cell(nb, grade_id):
    return next(c for c in nb.cells if cell_grade_id(c) == grade_id)


def _with_relu(nb, source):
    nb = copy.deepcopy(nb)
    _cell(nb, "relu").source = source
    return nb


def _append(nb, source, after="square"):
    nb = copy.deepcopy(nb)
    index = nb.cells.index(_cell(nb, after)) + 1
    nb.cells.insert(index, new_code_cell(source))
    return nb


def _tests(nb):
    return [c for c in nb.cells if is_grade(c)]


def _edit_tests(nb, edit):
    nb = copy.deepcopy(nb)
    for cell in _tests(nb):
        edit(cell)
    return nb


def hostile_students(perfect, blank):
    """name -> (notebooks, tests it must lose, text the student must be shown)."""
    def nb(notebook):
        return {NOTEBOOK: notebook}

    def delete_tests(notebook):
        notebook = copy.deepcopy(notebook)
        notebook.cells = [c for c in notebook.cells if not is_grade(c)]
        return notebook

    def set_meta(key, value):
        def edit(cell):
            cell.metadata.setdefault(key, value) if key == "tags" else cell.metadata["nbgrader"].update({key: value})
        return edit

    fake_numpy = "def allclose(*a, **k):\n    return True\nraise ImportError('the submitted numpy.py was imported')\n"
    return {
        "control": (nb(perfect), (), None),
        "syntax_error": (nb(_with_relu(perfect, "def relu_forward(x)\n    return x")), ("test_relu",), "SyntaxError"),
        "exception": (nb(_with_relu(perfect, "def relu_forward(x):\n    raise ValueError('oops')")),
                      ("test_relu",), "ValueError"),
        "loop_in_own_cell": (nb(_append(perfect, "while True:\n    pass")), (), "CellTimeoutError"),
        "loop_in_function": (nb(_with_relu(perfect, "def relu_forward(x):\n    while True:\n        pass")),
                             ("test_relu",), None),
        "loop_ignoring_interrupt": (
            nb(_append(perfect, "import time\nwhile True:\n    try:\n        time.sleep(100)\n"
                                "    except KeyboardInterrupt:\n        pass")),
            (), "ignored the interrupt"),
        "dead_kernel": (nb(_append(perfect, "import os\ngetattr(os, '_e' + 'xit')(1)")), (), "kernel died"),
        "dead_kernel_in_test": (
            nb(_with_relu(perfect, "import os\ndef relu_forward(x):\n    getattr(os, '_e' + 'xit')(1)")),
            ("test_relu",), "os._exit"),  # check() runs it in a worker process: only that dies
        "static_os_exit": (nb(_append(perfect, "import os\nos._exit(1)")), (), "calls `os._exit`"),
        "huge_allocation": (nb(_append(perfect, "import numpy as np\nblob = np.ones(2 ** 28)")), (), "MemoryError"),
        "megabytes_of_output": (
            nb(_append(perfect, "print('x' * 5_000_000)\nfor i in range(100_000):\n    print(i)")),
            (), "output truncated by the autograder"),
        "invalid_json": ({NOTEBOOK: '{"cells": [ this is not json'}, ALL, "not a valid notebook"),
        "edited_test_cell": (nb(_edit_tests(blank, lambda c: setattr(c, "source", "pass"))), ALL, None),
        "deleted_test_cells": (nb(delete_tests(blank)), ALL, "was missing from the submission"),
        "skip_execution_tag": (nb(_edit_tests(blank, set_meta("tags", ["skip-execution"]))), ALL, None),
        "test_marked_as_solution": (nb(_edit_tests(blank, set_meta("solution", True))), ALL, None),
        "monkeypatch_numpy": (nb(_append(blank, "import numpy as np\nnp.allclose = lambda *a, **k: True",
                                         after="relu")), ALL, "np.allclose"),
        "rebind_check": (nb(_append(blank, "check = lambda *a, **k: None", after="relu")), ALL, "rebinds `check`"),
        "patch_autograder": (nb(_append(blank, "import autograder\nautograder.check = print", after="relu")),
                             ALL, "imports the autograder"),
        "import_reference": (nb(_with_relu(perfect, "from course_lib.layers import relu_forward")),
                             ("test_relu",), "imports the reference"),
        "call_reference": (nb(_with_relu(perfect, "import course_lib.layers\ndef relu_forward(x):\n"
                                                  "    return course_lib.layers.relu_forward(x)")),
                           ("test_relu",), "you may not call"),
        "hard_coded_visible": (nb(_with_relu(perfect, "def relu_forward(x):\n"
                                                      "    return np.array([1.0, 0.0, 3.0, 0.0]), x")),
                               ("test_relu",), "hidden tests"),
        "numpy_py_next_to_notebook": ({NOTEBOOK: perfect, "numpy.py": fake_numpy}, (), None),
    }


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    settings = make_course(tmp_path_factory.mktemp("hostile"), cell_timeout_s=CELL_TIMEOUT_S,
                           kernel_memory_mb=KERNEL_MEMORY_MB)
    students = samples.build_samples(settings, ASSIGNMENT)
    cases = hostile_students(students["perfect"][NOTEBOOK], students["blank"][NOTEBOOK])
    write_students(settings, {name: notebooks for name, (notebooks, _, _) in cases.items()})
    results = grade(settings, jobs=2, progress=False)
    return settings, cases, results


def _feedback(settings, student):
    return (settings.root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()


CASES = list(hostile_students(nbformat.v4.new_notebook(cells=[
    new_code_cell(metadata={"nbgrader": {"grade_id": g, "grade": g.startswith("test"), "solution": False}})
    for g in ("relu", "test_relu", "square", "test_square")]), nbformat.v4.new_notebook(cells=[
    new_code_cell(metadata={"nbgrader": {"grade_id": g, "grade": g.startswith("test"), "solution": False}})
    for g in ("relu", "test_relu", "square", "test_square")])))


def test_every_student_in_the_batch_is_graded(batch):
    _, cases, results = batch
    assert {student for _, student in results} == set(cases)
    assert all(r.error is None for r in results.values())


@pytest.mark.parametrize("student", CASES)
def test_student_loses_exactly_the_affected_tests(batch, student):
    _, cases, results = batch
    _, lost, _ = cases[student]
    assert cell_scores(results[(ASSIGNMENT, student)]) == expected_scores(lost=lost)


@pytest.mark.parametrize("student", [s for s in CASES if s != "control"])
def test_student_is_told_what_happened(batch, student):
    settings, cases, results = batch
    _, _, message = cases[student]
    if message is None:
        return
    result = results[(ASSIGNMENT, student)]
    shown = _feedback(settings, student) + "\n".join(result.notices)
    assert message in shown


def test_the_kernel_runs_under_the_memory_cap(batch):
    settings, _, _ = batch
    graded = nbformat.read(str(settings.root / "autograded" / "huge_allocation" / ASSIGNMENT / NOTEBOOK), 4)
    errors = [o for c in graded.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert [e.ename for e in errors] == ["MemoryError"]  # 2 GiB refused under a 1 GiB cap


def test_huge_output_is_capped_in_the_graded_notebook(batch):
    settings, _, _ = batch
    path = settings.root / "autograded" / "megabytes_of_output" / ASSIGNMENT / NOTEBOOK
    assert path.stat().st_size < 400_000


def test_dead_kernel_notice_names_the_disabled_cell(batch):
    _, _, results = batch
    notices = "\n".join(results[(ASSIGNMENT, "dead_kernel")].notices)
    assert "was disabled because the Python kernel died" in notices


def test_hidden_inputs_do_not_reach_the_feedback(batch):
    settings, _, results = batch
    # a failing hidden check is reported by case and shape only: its inputs are drawn inside
    # the autograder package, and the traceback does not quote the hidden-test lines
    html = _feedback(settings, "hard_coded_visible")
    assert "hidden tests" in html and "x (5,)" in html
    assert "rng" not in html and "standard_normal" not in html
    assert "hidden=True" not in html and "HIDDEN TESTS" not in html


def test_an_error_in_a_test_cell_does_not_quote_the_hidden_lines(batch):
    settings, _, _ = batch
    # relu_forward never got defined: the test cell's NameError traceback quotes its lines
    html = _feedback(settings, "syntax_error")
    assert "NameError" in html and "Traceback" in html
    assert "hidden=True" not in html and "HIDDEN TESTS" not in html


def test_original_submission_is_kept_untouched(batch):
    settings, cases, _ = batch
    for student in ("monkeypatch_numpy", "dead_kernel"):
        submitted = nbformat.read(str(settings.root / "submitted" / student / ASSIGNMENT / NOTEBOOK), 4)
        assert submitted == cases[student][0][NOTEBOOK]
