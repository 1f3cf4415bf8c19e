"""Forged verdicts, graded for real by nbgrader: scores come from the judge, not from the kernel.

Every attack below is one code cell added before the first answer of notebook 01 (seven test
cells). Each goes through `sys.displayhook.shell.run_cell`, so the static tamper scan sees
none of its code and the judge alone stands in the way. Each attack added to the blank
release must score 0, and added to the perfect solution must keep every point.

The kernel-side forgeries are also graded with the judge's scoring switched off (nbgrader's
own scores from the kernel's outputs, as before the judge): there they earn full marks, so
the 0 above is the judge's doing.
"""
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder.grading import course, isolated, samples
from autograder.grading.cells import cells_by_grade_id, is_test, points
from autograder.grading.course import CourseSettings, prepare_grading_process
from autograder.grading.isolated import GradingJob, grade_in_isolation
from autograder.grading.pipeline import grade, snapshot_gradebook
from autograder.grading.release import release
from autograder.grading.student_edition import grading_edition
from support import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("forging")]

ASSIGNMENT = "01_flat_backprop"


def through_the_shell(code):
    """A cell that has IPython run `code`, out of the tamper scan's sight."""
    return f"import sys\nsys.displayhook.shell.run_cell({code!r})"


# ---------------------------------------------------------------------------- in the kernel

KERNEL_FORGERIES = {
    # the cell: the kernel-side function that turns the judge's answer into ✓ / raise.
    # Each forgery still asks the judge (a kernel that never asks gets 0 for that reason alone)
    "replaced_run": samples.FORGING,
    "rebound_check": through_the_shell(
        "import sys\n"
        "import autograder\n"
        "asked = autograder.check\n"
        "def check(exercise_id, *objects, hidden=False, timeout=None):\n"
        "    try:\n"
        "        asked(exercise_id, *objects, hidden=hidden)\n"
        "    except AssertionError:\n"
        "        label = f'{exercise_id} (hidden tests)' if hidden else exercise_id\n"
        "        print(f'✓ {label}: 1 case passed')\n"
        "sys.modules['autograder'].check = check  # what every test cell's import finds\n"
        "get_ipython().user_ns['check'] = check\n"),
    "custom_exception_handler": through_the_shell(
        "def swallow(shell, etype, value, tb, tb_offset=None):\n"
        "    print('✓ passed')\n"
        "    return []\n"
        "shell = get_ipython()\n"
        "shell.set_custom_exc((BaseException,), swallow)\n"
        "shell._showtraceback = lambda *args, **kwargs: None  # no error output\n"
        "def succeeded(result):  # nor an error status, which nbgrader would turn into one\n"
        "    result.error_in_exec = None\n"
        "shell.events.register('post_run_cell', succeeded)\n"),
    "post_run_cell_hook": through_the_shell(
        "shell = get_ipython()\n"
        "shell.showtraceback = lambda *args, **kwargs: print('✓ passed')\n"
        "def clear_error(result):\n"
        "    result.error_in_exec = None\n"
        "shell.events.register('post_run_cell', clear_error)\n"),
}

FILE_DESCRIPTOR_FORGERY = through_the_shell(
    "import json, os, socket, stat, struct\n"
    "for fd in range(3, 1024):  # every pipe and file the kernel holds (its zmq sockets aside)\n"
    "    try:\n"
    "        if not stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
    "            os.write(fd, b'passed\\n')\n"
    "    except OSError:\n"
    "        pass\n"
    "verdict = json.dumps({'passed': True, 'message': '', 'cases': 1, 'where': None}).encode()\n"
    "connect = socket.socket.connect\n"
    "def connect_and_forge(self, address):  # into the judge's socket, before the real request\n"
    "    connect(self, address)\n"
    "    self.sendall(b'passed\\n' * 3 + struct.pack('>Q', len(verdict)) + verdict)\n"
    "socket.socket.connect = connect_and_forge\n")


# ---------------------------------------------------------------------------- in the runner

def hostile_objects(attack):
    """A cell that, before every later cell runs, wraps each function the notebook defined so
    that, wherever the judge's runner calls it, it first attacks (`attack`), then answers."""
    return through_the_shell(f"ATTACK = {attack!r}\n" + '''
import functools, types

def hostile_call(original, args, kwargs):
    import json, os, pickle, struct, sys
    if not getattr(sys, "attacked", False) and "ipykernel" not in sys.modules:  # in a runner, once
        sys.attacked = True
        if ATTACK == "stack_and_modules":
            frame = sys._getframe()
            while frame is not None:  # whatever looks like a verdict on the way up: passed
                for value in list(frame.f_locals.values()):
                    if isinstance(value, dict) and "passed" in value:
                        value.update(passed=True, message="")
                frame = frame.f_back
            for name, module in list(sys.modules.items()):
                if module is not None and name.startswith(("autograder", "numpy")):
                    for attribute in ("array", "scalar", "true", "gradient", "allclose", "decide"):
                        if attribute != "array" or name.startswith("autograder"):
                            try:
                                setattr(module, attribute, lambda *a, **k: True)
                            except Exception:
                                pass
        forged = [json.dumps({"id": n, "value": True}).encode() for n in range(1, 60)]
        crafted = [pickle.dumps(os.system) + b"cos\\nsystem\\n(S'touch /tmp/forged'\\ntR.",
                   struct.pack(">Q", 2 ** 60), b"[" * 100000,
                   json.dumps({"__array__": "<f8", "shape": [10 ** 12], "data": ""}).encode()]
        junk = {"fds": [b"passed\\n"] + [struct.pack(">Q", len(f)) + f for f in forged],
                "crafted": crafted}.get(ATTACK, [])
        for fd in range(64):  # the runner's channel to the judge among them
            for data in junk:
                try:
                    os.write(fd, data)
                except OSError:
                    pass
    try:
        return original(*args, **kwargs)
    except NotImplementedError:
        if ATTACK != "crafted":
            raise
        # a blank answer: instead of "not implemented", data made to be read as something else
        return [b"\\x80\\x04cos\\nsystem\\n", {"__array__": "<f8", "shape": [10 ** 12], "data": ""},
                functools.reduce(lambda inner, _: [inner], range(5000), [])][len(args) % 3]

def make_hostile(original):
    @functools.wraps(original)
    def hostile(*args, **kwargs):
        return hostile_call(original, args, kwargs)
    hostile.hostile = True
    return hostile

def wrap_answers(*_):
    namespace = get_ipython().user_ns
    for name, value in list(namespace.items()):
        if (isinstance(value, types.FunctionType) and value.__module__ == "__main__"
                and not getattr(value, "hostile", False)
                and name not in ("hostile_call", "make_hostile", "wrap_answers")):
            namespace[name] = make_hostile(value)

get_ipython().events.register("pre_run_cell", wrap_answers)
''')


RUNNER_ATTACKS = {name: hostile_objects(name) for name in ("stack_and_modules", "fds", "crafted")}
ATTACKS = {**KERNEL_FORGERIES, "file_descriptors": FILE_DESCRIPTOR_FORGERY, **RUNNER_ATTACKS}


# ---------------------------------------------------------------------------- grading

def _course(root):
    shutil.copytree(REPO / "notebooks" / ASSIGNMENT, root / "notebooks" / ASSIGNMENT)
    settings = CourseSettings().with_root(root)
    release(settings, [ASSIGNMENT])
    return settings


def _scores(result):
    (notebook,) = result.grades
    return {gid: score for gid, (score, _, _) in result.grades[notebook].items()}


def _full_and_none(settings):
    """The autograded test cells' scores of a perfect and of an empty submission (written
    answers are graded by hand, and stay ungraded here)."""
    (source,) = course.source_notebooks(settings, ASSIGNMENT)
    full = {gid: points(cell) for gid, cell in cells_by_grade_id(course.read_notebook(source), is_test).items()}
    return full, dict.fromkeys(full, 0.0)


def _autograded(scores, full):
    return {gid: scores[gid] for gid in full}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every attack on the blank release and on the perfect solution, graded by `grade`."""
    settings = _course(tmp_path_factory.mktemp("forging"))
    base = samples.build_samples(settings, ASSIGNMENT)
    for attack, code in ATTACKS.items():
        for start in ("blank", "perfect"):
            notebooks = {name: samples.with_cell_first(nb, code) for name, nb in base[start].items()}
            samples.write_submission(settings.default_submissions, f"{start}-{attack}", ASSIGNMENT, notebooks)
    results = grade(settings, jobs=2, progress=False)
    return settings, {student: _scores(result) for (_, student), result in results.items()}


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_added_to_the_blank_release_earns_nothing(graded, attack):
    settings, scores = graded
    full, nothing = _full_and_none(settings)
    assert _autograded(scores[f"blank-{attack}"], full) == nothing


@pytest.mark.parametrize("attack", ATTACKS)
def test_an_attack_added_to_the_perfect_solution_keeps_every_point(graded, attack):
    settings, scores = graded
    full, _ = _full_and_none(settings)
    assert _autograded(scores[f"perfect-{attack}"], full) == full


def test_crafted_pickles_never_run_on_the_grader():
    assert not Path("/tmp/forged").exists()


@pytest.fixture(scope="module")
def graded_from_the_kernels_outputs(tmp_path_factory):
    """The kernel-side forgeries on the blank release, scored as nbgrader alone scores them."""
    prepare_grading_process()
    settings = _course(tmp_path_factory.mktemp("unprotected"))
    base = samples.build_samples(settings, ASSIGNMENT)["blank"]
    scores = {}
    with tempfile.TemporaryDirectory(prefix="ag-") as scratch, pytest.MonkeyPatch.context() as patch:
        scratch = Path(scratch)
        patch.setattr(isolated, "apply_judge_scores", lambda *args, **kwargs: None)  # the switch
        snapshot_gradebook(settings, scratch / "template.db")
        edition = grading_edition(settings, ASSIGNMENT, scratch / "edition")
        for number, (attack, code) in enumerate(KERNEL_FORGERIES.items()):
            folder = samples.write_submission(scratch / "submitted", attack, ASSIGNMENT,
                                              {n: samples.with_cell_first(nb, code) for n, nb in base.items()})
            job = GradingJob(settings, ASSIGNMENT, attack, folder, scratch / "template.db",
                             scratch / f"{number}", edition)
            scores[attack] = _scores(grade_in_isolation(job))
    return settings, scores


@pytest.mark.parametrize("attack", KERNEL_FORGERIES)
def test_without_the_judge_the_same_forgery_earns_full_marks(graded_from_the_kernels_outputs, attack):
    settings, scores = graded_from_the_kernels_outputs
    full, _ = _full_and_none(settings)
    assert _autograded(scores[attack], full) == full
