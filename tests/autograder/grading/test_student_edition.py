"""What students receive holds no answer: release/<k>/ measured by behaviour and by text.

The course is released for real (nbgrader generate_assignment + the student edition) into a
temporary copy. Each leak test is also run on a deliberately leaky release and must catch it.
"""
import importlib
import inspect
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import course_lib
from autograder.check.casedata import VISIBLE_CASES_FILE, dumps
from autograder.exercises import casebook, package_dir
from autograder.grading import course
from autograder.grading.cells import BEGIN_SOLUTION, END_SOLUTION, is_solution_code, is_test
from autograder.grading.course import CourseSettings
from autograder.grading.release import release
from autograder.grading.samples import solution_code
from autograder.grading.student_edition import (
    answers_left_out,
    assignment_exercises,
    build,
    stub_module_source,
)
from support import NOTEBOOKS, REPO

# one worker builds the released course once for every test here
pytestmark = pytest.mark.xdist_group("student_edition")

PROBE = REPO / "tests" / "support" / "leak_probe.py"
MIN_LINE = 25
SEED = "leak-test-seed-6f1d0c"


# ---------------------------------------------------------------------------- stubs

MODULE = '''"""A module."""


def answer(x, y=2):
    """Adds."""
    total = x + y
    return total


class Gate:
    """A gate."""

    def forward(self, a):
        return a

    def backward(self, upstream):
        """Local gradient."""
        return upstream * 2
'''


def test_a_left_out_function_keeps_its_signature_and_docstring_and_names_the_exercise():
    stubbed = stub_module_source(MODULE, "course_lib.demo_module", {"answer": "nb09.adding"})
    namespace = {}
    exec(stubbed, namespace)
    assert namespace["answer"].__doc__ == "Adds."
    assert "x + y" not in stubbed
    with pytest.raises(NotImplementedError, match=r"course_lib.demo_module.answer is left out .* nb09.adding"):
        namespace["answer"](1, y=3)


def test_a_left_out_method_goes_alone_and_a_left_out_class_goes_whole():
    namespace = {}
    exec(stub_module_source(MODULE, "course_lib.m", {"Gate.backward": "nb09.gate"}), namespace)
    assert namespace["Gate"]().forward(3) == 3
    with pytest.raises(NotImplementedError, match="Gate.backward"):
        namespace["Gate"]().backward(1.0)
    exec(stub_module_source(MODULE, "course_lib.m", {"Gate": "nb09.gate"}), namespace)
    with pytest.raises(NotImplementedError):
        namespace["Gate"]().forward(3)


def test_an_unknown_answer_name_is_refused():
    with pytest.raises(ValueError, match="not defined in course_lib.m"):
        stub_module_source(MODULE, "course_lib.m", {"missing": "nb09.x"})


def test_answers_of_this_and_later_assignments_are_left_out_and_earlier_ones_stay():
    settings = CourseSettings().with_root(REPO)
    names = course.assignments(settings)
    for earlier, later in zip(names, names[1:]):
        assert set(answers_left_out(settings, later)) < set(answers_left_out(settings, earlier))
    nb04_only = answers_left_out(settings, names[-1])
    assert nb04_only and all(eid.startswith("nb04.") for eid in nb04_only.values())


# ---------------------------------------------------------------------------- the released course

@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """A copy of the course, released for real with a distinctive hidden seed in the environment."""
    root = tmp_path_factory.mktemp("course")
    shutil.copytree(NOTEBOOKS, root / "notebooks")
    settings = CourseSettings().with_root(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(casebook.HIDDEN_SEED_ENV, SEED)
        release(settings)
    return settings


def _later_assignments(settings, assignment):
    names = course.assignments(settings)
    return names[names.index(assignment):]


def _check_arguments(notebook_path):
    """exercise id -> names of the objects its visible test cell passes to check()."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    calls = {}
    for cell in filter(is_test, nb.cells):
        for match in re.finditer(r"""check\(\s*["']([\w.]+)["']\s*,([^)]*)\)""", cell.source):
            arguments = [a.strip() for a in match.group(2).split(",") if a.strip()]
            calls.setdefault(match.group(1), [a for a in arguments if "=" not in a])
    return calls


def _solution_source(notebook_path):
    """The notebook's first code cell (its imports) and every solution cell, solved."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code")
    return "\n\n".join([setup, *(solution_code(c.source) for c in nb.cells if is_solution_code(c))])


def probe_request(settings, assignment, folder):
    """The leak probe's request for every exercise of `assignment` and later ones."""
    items = []
    for later in _later_assignments(settings, assignment):
        for notebook in course.source_notebooks(settings, later):
            for exercise_id, slots in _check_arguments(notebook).items():
                files = {}
                for kind in ("visible", "hidden"):
                    files[kind] = str(folder / f"{exercise_id}-{kind}.json")
                    Path(files[kind]).write_text(dumps(casebook.compute(exercise_id, kind == "hidden")))
                verdicts = package_dir(exercise_id.split(".")[0]) / "verdicts.py"
                items.append({"exercise_id": exercise_id, "slots": slots, "verdicts_file": str(verdicts),
                              "solution_code": _solution_source(notebook), **files})
    path = folder / "request.json"
    path.write_text(json.dumps(items))
    return path


def passing_callables(edition, request):
    """[exercise id, slot, callable, visible|hidden] for every callable of `edition` that passes."""
    done = subprocess.run([sys.executable, "-I", str(PROBE), str(edition), str(request)],
                          capture_output=True, text=True, timeout=1200, cwd=request.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ["01_flat_backprop", "02_jacobians", "03_conv_pool", "04_transfer_learning"])
def test_no_callable_of_a_release_passes_a_check_of_this_or_a_later_assignment(released, assignment, tmp_path):
    request = probe_request(released, assignment, tmp_path)
    assert passing_callables(released.release_dir(assignment), request) == []


@pytest.mark.slow
def test_the_behaviour_probe_catches_a_release_holding_the_full_course_lib(released, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(released.release_dir("03_conv_pool"), leaky)
    shutil.rmtree(leaky / "course_lib")
    shutil.copytree(Path(course_lib.__file__).parent, leaky / "course_lib",
                    ignore=shutil.ignore_patterns("__pycache__"))
    found = passing_callables(leaky, probe_request(released, "03_conv_pool", tmp_path))
    caught = {(exercise_id, name) for exercise_id, _, name, _ in found}
    assert ("nb03.conv_forward_naive", "course_lib.layers.conv.conv_forward_naive") in caught
    assert {exercise_id for exercise_id, _ in caught} >= {"nb03.conv_backward_naive", "nb04.grad_cam"}


# ---------------------------------------------------------------------------- text

def _normalised(line):
    return " ".join(line.split())


def _solution_lines(notebook_path):
    """(lines inside solution regions, lines of the given code) of a source notebook, normalised."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    solution, given = set(), set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        inside = False
        for line in cell.source.splitlines():
            text = _normalised(line)
            if text in (BEGIN_SOLUTION, END_SOLUTION):
                inside = text == BEGIN_SOLUTION
                continue
            (solution if inside and is_solution_code(cell) else given).add(text)
    return solution, given


def library_given_lines(settings, assignment):
    """Lines of the reference course_lib outside every answer left out for `assignment`: code a
    student legitimately receives (sgd's `config.setdefault(...)` is not sgd_momentum's answer).
    Found with inspect on the reference objects, independently of how the edition is built."""
    answer_ranges = {}
    for dotted in answers_left_out(settings, assignment):
        module_name, _, rest = dotted.partition(".")
        obj = importlib.import_module(module_name)
        for attribute in rest.split("."):
            obj = getattr(obj, attribute)
        lines, start = inspect.getsourcelines(obj)
        answer_ranges.setdefault(inspect.getsourcefile(obj), []).append(range(start, start + len(lines)))
    given = set()
    for path in Path(course_lib.__file__).parent.rglob("*.py"):
        ranges = answer_ranges.get(str(path), [])
        given |= {_normalised(line) for number, line in enumerate(path.read_text().splitlines(), 1)
                  if not any(number in r for r in ranges)}
    return given


def answer_lines(settings, assignment):
    """Solution-region lines (>= 25 characters) of this and later assignments, minus given code
    (the notebooks' and the library's, see library_given_lines)."""
    solution, given = set(), library_given_lines(settings, assignment)
    for name in course.assignments(settings):
        for notebook in course.source_notebooks(settings, name):
            found_solution, found_given = _solution_lines(notebook)
            given |= found_given
            if name in _later_assignments(settings, assignment):
                solution |= found_solution
    return {line for line in solution - given if len(line) >= MIN_LINE}


def _lines(paths):
    return {text for path in paths for text in map(_normalised, path.read_text().splitlines())
            if len(text) >= MIN_LINE}


def instructor_only_lines():
    """Lines (>= 25 characters) of every exercise's cases.py and of the casebook that no shipped
    source (course_lib, the checks' student side, any verdicts.py) also holds."""
    exercises = Path(casebook.__file__).parent
    shipped = [*Path(course_lib.__file__).parent.rglob("*.py"), *(exercises.parent / "check").glob("*.py"),
               *exercises.glob("*/verdicts.py"), exercises / "__init__.py"]
    return _lines([*exercises.glob("*/cases.py"), Path(casebook.__file__)]) - _lines(shipped)


def text_leaks(folder, needles, skip=()):
    """(file, needle) for every needle found in a file of `folder` (whitespace-normalised),
    files named in `skip` excepted."""
    found = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                       and p.name not in skip):
        try:
            raw = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # .npz data
        if path.suffix == ".ipynb":  # notebook JSON escapes its sources: compare the cell text
            raw = "\n".join(c.source for c in nbformat.reads(raw, as_version=4).cells)
        text = "\n".join(map(_normalised, raw.splitlines()))
        found.extend((str(path.relative_to(folder)), needle) for needle in needles if needle in text)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ["01_flat_backprop", "02_jacobians", "03_conv_pool", "04_transfer_learning"])
def test_no_solution_line_hidden_case_code_or_seed_appears_in_a_release(released, assignment):
    folder = released.release_dir(assignment)
    assert text_leaks(folder, answer_lines(released, assignment)) == []
    # the visible cases are the cases' output by design: code is looked for everywhere else
    assert text_leaks(folder, instructor_only_lines(), skip={VISIBLE_CASES_FILE}) == []
    assert text_leaks(folder, {SEED}) == []
    shipped = {p.name for p in folder.rglob("*") if p.is_file()}
    assert "cases.py" not in shipped and "casebook.py" not in shipped and "hidden_cases.json" not in shipped
    assert not (folder / "autograder" / "grading").exists()
    exercise_packages = {p.parent.name for p in folder.glob("autograder/exercises/*/verdicts.py")}
    assert exercise_packages == {f"nb{assignment[:2]}_{assignment[3:]}"}


@pytest.mark.slow
def test_the_text_probe_catches_solutions_cases_and_the_seed(released, tmp_path):
    leaky = tmp_path / "leaky"
    shutil.copytree(released.release_dir("02_jacobians"), leaky)
    shutil.copy(NOTEBOOKS / "02_jacobians" / "02_jacobians.ipynb", leaky / "source.ipynb")
    assert any(name == "source.ipynb" for name, _ in text_leaks(leaky, answer_lines(released, "02_jacobians")))
    shutil.copy(Path(casebook.__file__).parent / "nb02_jacobians" / "cases.py", leaky / "cases_copy.py")
    (leaky / "seed.txt").write_text(f"AUTOGRADER_HIDDEN_SEED={SEED}\n")
    found = {name for name, _ in text_leaks(leaky, instructor_only_lines() | {SEED})}
    assert found == {"cases_copy.py", "seed.txt"}


@pytest.mark.slow
def test_every_exercise_of_an_assignment_ships_its_visible_cases(released):
    for assignment in course.assignments(released):
        package = next(released.release_dir(assignment).glob("autograder/exercises/*/visible_cases.json"))
        shipped = json.loads(package.read_text())
        assert set(shipped) == set(assignment_exercises(released, assignment))


def test_build_replaces_a_previous_edition(tmp_path):
    settings = CourseSettings().with_root(REPO)
    (tmp_path / "course_lib").mkdir()
    (tmp_path / "course_lib" / "stale.py").write_text("x = 1\n")
    build(settings, "04_transfer_learning", tmp_path)
    assert not (tmp_path / "course_lib" / "stale.py").exists()
    assert (tmp_path / "data" / "fashion_mnist_subset.npz").is_file()


def test_an_inherited_method_is_refused_rather_than_stubbed_for_every_subclass():
    from autograder.grading.student_edition import _by_module

    with pytest.raises(ValueError, match="inherited from course_lib.nn.Sequential.loss"):
        _by_module({"course_lib.nn.TwoLayerNet.loss": "nb02.two_layer_net_loss"})
    assert _by_module({"course_lib.layers.relu_forward": "nb02.x"}) == {
        "course_lib.layers.activations": {"relu_forward": "nb02.x"}}


@pytest.mark.slow
def test_a_release_ships_only_the_data_its_notebook_and_checks_read(released):
    shipped = {a: sorted(p.name for p in (released.release_dir(a) / "data").iterdir())
               for a in course.assignments(released)}
    assert shipped["01_flat_backprop"] == []
    assert shipped["02_jacobians"] == shipped["03_conv_pool"] == ["fashion_mnist_subset.npz"]
    assert shipped["04_transfer_learning"] == ["convnet_fashion_source.json", "convnet_fashion_source.npz",
                                              "digits.npz", "fashion_mnist_subset.npz"]
