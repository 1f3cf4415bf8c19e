"""`check(exercise_id, *student_objects, hidden=False)`: ask the judge for a verdict.

What notebook test cells write:

    from autograder import check
    check("nb02.affine_backward", affine_forward, affine_backward)
    ### BEGIN HIDDEN TESTS
    check("nb02.affine_backward", affine_forward, affine_backward, hidden=True)
    ### END HIDDEN TESTS

On success prints "✓ nb02.affine_backward: 4 cases passed"; on failure raises
CheckFailed (an AssertionError) with the explanation built by `autograder.check.compare`.
That is all the kernel does with the verdict: while grading, scores come from the judge's
own record (autograder.grading.judge_service), never from what the kernel printed or raised.

Details of the contract:
- The student's objects are pickled with cloudpickle. Objects from `__main__` (the
  notebook) and from any module the runner could not import itself (files next to the
  notebook, test modules: anything outside site-packages, the standard library,
  course_lib and autograder) are pickled by value. Only the runner unpickles them.
- Where the verdict is decided (judge.py):
  - while an instructor grades ($AUTOGRADER_JUDGE names a socket): by the grader, outside
    the submission's sandbox; the kernel sends the exercise id and the pickled objects;
  - in a student's Jupyter: by a fresh `python -I` judge process, which computes nothing
    from the kernel's state; this kernel hands it the case data (casedata.case_data).
  Either way the student's objects run in a runner process of their own (runner.py), with
  only the folder holding this `autograder` package on sys.path: a numpy.py next to the
  notebook cannot shadow numpy. BLAS is pinned to one thread (same sums, same verdict).
- Timeout: the exercise's `timeout` (default 60 s); `timeout=` overrides it (for tests
  and tools, not for notebooks). The runner's whole process group is killed on timeout.
- Failure messages from an exception in the student's code name the function and line;
  the kernel adds the line's source (cloudpickle drops file names, the kernel still has
  the cell in its line cache). A crash or exit reports the exit code/signal and the tail
  of what the student's code printed (only the last 1500 bytes are kept).
- The exercise id is looked up in the kernel too (for its timeout and number of objects):
  an unknown id raises KeyError, a wrong number of objects TypeError.
- `run(...)` is the same without printing or raising: it returns a `CheckResult`.
"""
import json
import linecache
import os
import pickle
import signal
import socket
import subprocess
import sys
import time
import types
from dataclasses import dataclass

import cloudpickle

from autograder.check import casedata, wire
from autograder.check.casedata import CasesUnavailable, case_data
from autograder.check.judge import JUDGE_BOOTSTRAP, SUPPORT_ROOT, process_environment
from autograder.check.registry import lookup
from autograder.check.trust import is_installed_file

# the grader's judge socket while an instructor grades (autograder.grading.judge_service), and
# the marker its request frames start with (bytes written into the socket otherwise are skipped)
JUDGE_SOCKET_ENV = "AUTOGRADER_JUDGE"
JUDGE_MARKER_ENV = "AUTOGRADER_JUDGE_MARKER"
_JUDGE_GRACE_S = 30.0


@dataclass(frozen=True)
class CheckResult:
    """Verdict of one run: passed, the student-facing message, and the number of cases."""

    exercise_id: str
    hidden: bool
    passed: bool
    message: str
    cases: int


class CheckFailed(AssertionError):
    """A failed check. Jupyter shows just its message: the student's code ran in the runner,
    so a traceback through check() into the grader would only hide the explanation."""

    def _render_traceback_(self):  # IPython's hook for exceptions that format themselves
        first, *rest = str(self).split("\n")
        return [f"\x1b[0;31m{first}\x1b[0m", *rest]


def check(exercise_id, *student_objects, hidden=False, timeout=None):
    """Run the exercise's checks on the student's objects; print ✓ or raise CheckFailed."""
    result = run(exercise_id, *student_objects, hidden=hidden, timeout=timeout)
    label = f"{exercise_id} (hidden tests)" if hidden else exercise_id
    if not result.passed:
        raise CheckFailed(f"✗ {label}: {result.message}")
    plural = "" if result.cases == 1 else "s"
    print(f"✓ {label}: {result.cases} case{plural} passed")


def run(exercise_id, *student_objects, hidden=False, timeout=None):
    """Ask the judge for a verdict and return it as a CheckResult (never raises for student errors)."""
    spec = lookup(exercise_id)
    expected = spec.student_parameters
    if len(student_objects) != len(expected):
        raise TypeError(f"check({exercise_id!r}, ...) takes {len(expected)} object(s) "
                        f"({', '.join(expected)}), got {len(student_objects)}")

    def verdict(passed, message, cases=0):
        return CheckResult(exercise_id, bool(hidden), passed, message, cases)

    try:
        payload = _dumps(student_objects)
    except Exception as error:
        return verdict(False, _pickling_message(student_objects, expected, error))
    grader = os.environ.get(JUDGE_SOCKET_ENV)
    if grader:
        result = _ask_grader(grader, exercise_id, bool(hidden), payload)
    else:
        try:
            cases = case_data(exercise_id, bool(hidden))
        except CasesUnavailable as missing:
            return verdict(False, str(missing))
        limit = spec.timeout if timeout is None else float(timeout)
        result = _ask_local_judge(exercise_id, bool(hidden), cases, payload, limit)
    message = result["message"] + _source_line(result.get("where"), student_objects)
    return verdict(bool(result["passed"]), message, int(result["cases"]))


# ---------------------------------------------------------------------------- pickling

def _dumps(objects):
    """cloudpickle the objects, by value for every module the runner cannot import."""
    local_modules = [module for name, module in list(sys.modules.items())
                     if name != "__main__" and _is_local_module(module)]
    for module in local_modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        return cloudpickle.dumps(tuple(objects), protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        for module in local_modules:
            cloudpickle.unregister_pickle_by_value(module)


def _is_local_module(module):
    filename = getattr(module, "__file__", None)
    return isinstance(filename, str) and not is_installed_file(os.path.abspath(filename))


def _pickling_message(objects, names, error):
    for name, obj in zip(names, objects):
        try:
            _dumps([obj])
        except Exception as own_error:
            error = own_error
            culprit = f"{name} ({type(obj).__name__})"
            break
    else:
        culprit = "your objects"
    return (f"could not send {culprit} to the grader: it cannot be pickled "
            f"({type(error).__name__}: {error}). Pass functions, classes and numpy arrays; "
            "open files, generators and locks cannot be sent.")


# ---------------------------------------------------------------------------- the judge

def _ask_grader(socket_path, exercise_id, hidden, payload):
    """While grading: the grader's judge, through the socket bound into the sandbox. It reads
    the request and answers; it records the verdict for the score on its own side."""
    header = json.dumps({"exercise_id": exercise_id, "hidden": hidden}).encode("utf-8")
    marker = bytes.fromhex(os.environ.get(JUDGE_MARKER_ENV, ""))
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
        channel.connect(socket_path)
        wire.write_frame(channel.fileno(), header, marker)
        wire.write_frame(channel.fileno(), payload, marker)
        answer = wire.read_frame(channel.fileno())
    if answer is None:
        return {"passed": False, "message": "the grader's judge did not answer; tell your "
                "instructor.", "cases": 0, "where": None}
    return json.loads(answer.decode("utf-8"))


def _ask_local_judge(exercise_id, hidden, cases, payload, limit):
    """In the student's Jupyter: a fresh judge process, which starts the runner itself."""
    header = casedata.dumps({"exercise_id": exercise_id, "hidden": hidden, "cases": cases,
                             "timeout": limit}).encode("utf-8")
    judge = subprocess.Popen([sys.executable, "-I", "-c", JUDGE_BOOTSTRAP, SUPPORT_ROOT],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             env=process_environment(), start_new_session=True)
    try:
        wire.write_frame(judge.stdin.fileno(), header)
        wire.write_frame(judge.stdin.fileno(), payload)
        judge.stdin.close()
        # the judge stops the runner at `limit`; this only guards against a judge that hangs
        answer = wire.read_frame(judge.stdout.fileno(), deadline=time.monotonic() + limit + _JUDGE_GRACE_S)
    except (wire.WireError, OSError) as error:
        answer, problem = None, error
    else:
        problem = f"exit status {judge.wait()}" if answer is None else None
        judge.wait()  # it exits right after answering
    finally:
        if judge.poll() is None:  # a timeout, or the student interrupted the kernel
            judge.terminate()  # the judge ends its runner on the way out
            try:
                judge.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(judge.pid, signal.SIGKILL)
                judge.wait()
        judge.stdout.close()
    if answer is None:
        return {"passed": False, "cases": 0, "where": None,
                "message": f"grader error, not your fault: the judge process failed ({problem}); "
                           "run the cell again, and tell your instructor if it keeps failing."}
    return casedata.loads(answer.decode("utf-8"))


def _source_line(where, objects):
    """The student's failing line. cloudpickle drops file names, so the code object is
    found again among the student's objects and read from the kernel's line cache."""
    if not where:
        return ""
    for code in _student_code_objects(objects):
        last_line = max((line for _, _, line in code.co_lines() if line), default=0)
        if code.co_name == where["function"] and code.co_firstlineno <= where["line"] <= last_line:
            text = linecache.getline(code.co_filename, where["line"]).strip()
            if text:
                return f"\n  > {text}"
    return ""


def _student_code_objects(objects, limit=500):
    """Code objects of the student's functions, methods, nested functions and the
    functions they reach through their globals (breadth first, at most `limit`)."""
    pending, seen, codes = list(objects), set(), []
    while pending and len(codes) < limit:
        obj = pending.pop(0)
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, type):
            pending.extend(vars(obj).values())
        elif isinstance(obj, (staticmethod, classmethod)):
            pending.append(obj.__func__)
        elif isinstance(obj, types.FunctionType):
            if is_installed_file(obj.__code__.co_filename):
                continue
            pending.append(obj.__code__)
            pending.extend(obj.__globals__.get(name) for name in obj.__code__.co_names)
        elif isinstance(obj, types.CodeType):
            codes.append(obj)
            pending.extend(c for c in obj.co_consts if isinstance(c, types.CodeType))
    return codes
