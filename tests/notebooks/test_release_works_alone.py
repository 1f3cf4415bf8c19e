"""A release works alone: in a fresh venv holding only requirements-student.txt (no repository on
sys.path, no `pip install -e .`), each released notebook runs top to bottom; with the source's
solutions pasted in every visible check passes, blank every visible check says "not implemented
yet", and every typical bug gets the same diagnosis as in the instructor's repository."""
import json
import re
import shutil
import subprocess
import sys

import nbformat
import pytest

from autograder.check.checker import run as run_check
from autograder.grading import course, samples
from autograder.grading.cells import cells_by_grade_id, grade_id, is_solution_code, is_test
from autograder.grading.course import CourseSettings
from autograder.grading.release import release
from support import NOTEBOOKS, REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("release_alone")]

DRIVER = REPO / "tests" / "support" / "student_driver.py"
ASSIGNMENTS = course.assignments(CourseSettings().with_root(REPO))
PASSED = "✓"
NOT_DONE = "not implemented yet"


@pytest.fixture(scope="module")
def student_python(tmp_path_factory):
    """The python of a fresh venv with only the pinned public packages a student installs."""
    venv = tmp_path_factory.mktemp("student-venv")
    subprocess.run([sys._base_executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", str(REPO / "requirements-student.txt")], check=True)
    probe = subprocess.run([str(python), "-I", "-c", "import importlib.util as u; "
                            "print(u.find_spec('course_lib'), u.find_spec('autograder'))"],
                           capture_output=True, text=True, check=True, cwd=venv)
    assert probe.stdout.split() == ["None", "None"]  # the course is not installed there
    return python


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    settings = CourseSettings().with_root(root)
    release(settings)
    return settings


def _source(assignment):
    (path,) = course.source_notebooks(CourseSettings().with_root(REPO), assignment)
    return path


def _released_notebook(settings, assignment):
    return settings.release_dir(assignment) / _source(assignment).name


def _with_solutions(release_nb, source_nb):
    """The released notebook with every solution cell replaced by the source's solution."""
    solutions = {gid: samples.solution_code(c.source)
                 for gid, c in cells_by_grade_id(source_nb, is_solution_code).items()}
    for cell in release_nb.cells:
        if is_solution_code(cell) and grade_id(cell) in solutions:
            cell.source = solutions[grade_id(cell)]
    return release_nb


def run_in_student_venv(python, settings, assignment, nb, tmp_path):
    folder = settings.release_dir(assignment)
    notebook, out = folder / f"try-{tmp_path.name}.ipynb", tmp_path / "out.ipynb"
    nbformat.write(nb, str(notebook))
    try:
        subprocess.run([str(python), "-I", str(DRIVER), "run", str(folder), str(notebook), str(out)],
                       check=True, timeout=900, cwd=folder)
    finally:
        notebook.unlink()
    return nbformat.read(str(out), as_version=4)


def _text(cell):
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend([output.get("ename", ""), output.get("evalue", "")])
    return "\n".join(parts)


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solved_release_runs_top_to_bottom_and_passes_every_visible_check(student_python, released,
                                                                         assignment, tmp_path):
    nb = _with_solutions(nbformat.read(str(_released_notebook(released, assignment)), as_version=4),
                         nbformat.read(str(_source(assignment)), as_version=4))
    executed = run_in_student_venv(student_python, released, assignment, nb, tmp_path)
    failing = [(i, _text(c)[-500:]) for i, c in enumerate(executed.cells) if c.cell_type == "code" and _errors(c)]
    assert failing == []
    tests = [c for c in executed.cells if is_test(c)]
    assert tests and all(PASSED in _text(c) for c in tests)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_fails_every_visible_check_as_not_done(student_python, released, assignment, tmp_path):
    nb = nbformat.read(str(_released_notebook(released, assignment)), as_version=4)
    executed = run_in_student_venv(student_python, released, assignment, nb, tmp_path)
    tests = [c for c in executed.cells if is_test(c)]
    assert tests
    not_done = [grade_id(c) for c in tests if not (_errors(c) and NOT_DONE in _text(c))]
    assert not_done == []


def _check_calls(source_nb):
    """(exercise id, object names, solution grade id) of every visible check() in the notebook."""
    calls, last_solution = [], None
    for cell in source_nb.cells:
        if is_solution_code(cell):
            last_solution = grade_id(cell)
        elif is_test(cell):
            for match in re.finditer(r"""check\(\s*["']([\w.]+)["']\s*,([^)]*)\)""", cell.source):
                names = [a.strip() for a in match.group(2).split(",") if a.strip() and "=" not in a]
                if "hidden=True" not in match.group(2):
                    calls.append((match.group(1), names, last_solution))
    return calls


def _student_code(source_nb, buggy_cell):
    setup = next(c.source for c in source_nb.cells if c.cell_type == "code")
    cells = [samples.bug_code(c.source) if grade_id(c) == buggy_cell else samples.solution_code(c.source)
             for c in source_nb.cells if is_solution_code(c)]
    return "\n\n".join([setup, *cells])


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_typical_bug_gets_the_same_diagnosis_as_in_the_repository(student_python, released,
                                                                       assignment, tmp_path):
    source_nb = nbformat.read(str(_source(assignment)), as_version=4)
    request, in_repository = [], []
    for eid, names, cell in _check_calls(source_nb):
        if samples.bug_code(cells_by_grade_id(source_nb)[cell].source) is None:
            continue
        code = _student_code(source_nb, cell)
        namespace = {"__name__": "__main__"}
        exec(compile(code, "<student>", "exec"), namespace)
        if not all(name in namespace for name in names):
            continue  # checks what a later cell computes (nb02's trained parameters)
        result = run_check(eid, *(namespace[n] for n in names))
        request.append({"exercise_id": eid, "slots": names, "code": code})
        in_repository.append([result.passed, result.message])
    assert request and all(passed is False for passed, _ in in_repository)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request))
    folder = released.release_dir(assignment)
    done = subprocess.run([str(student_python), "-I", str(DRIVER), "diagnose", str(folder), str(path)],
                          capture_output=True, text=True, timeout=900, cwd=folder)
    assert done.returncode == 0, done.stderr[-3000:]
    in_release = json.loads(done.stdout.strip().splitlines()[-1])
    assert in_release == in_repository
