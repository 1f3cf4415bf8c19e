"""`check(exercise_id, *student_objects, hidden=False)`: grade objects in a fresh subprocess.

What notebook test cells write:

    from autograder import check
    check("nb02.affine_backward", affine_forward, affine_backward)
    ### BEGIN HIDDEN TESTS
    check("nb02.affine_backward", affine_forward, affine_backward, hidden=True)
    ### END HIDDEN TESTS

On success prints "✓ nb02.affine_backward: 4 cases passed"; on failure raises
CheckFailed (an AssertionError) with the explanation built by `autograder.check.compare`.

Details of the contract:
- The student's objects are pickled with cloudpickle. Objects from `__main__` (the
  notebook) and from any module the worker could not import itself (files next to the
  notebook, test modules: anything outside site-packages, the standard library,
  course_lib and autograder) are pickled by value.
- The worker is `sys.executable -I` with only the folder holding this `autograder`
  package put back on sys.path (see worker.py): a numpy.py next to the notebook cannot
  shadow numpy. The worker keeps the kernel's cwd, so relative data paths still work.
  BLAS is pinned to one thread (same sums, same verdict, faster start).
- Case data (inputs and expected values) comes from `casedata.case_data`: computed by the
  instructor's side, never by code next to the student's; the worker gets it with the
  objects.
- Timeout: the exercise's `timeout` (default 60 s); `timeout=` overrides it (for tests
  and tools, not for notebooks). The whole process group is killed on timeout.
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
import subprocess
import sys
import threading
import types
from dataclasses import dataclass

import cloudpickle

from autograder.check.casedata import CasesUnavailable, case_data
from autograder.check.registry import lookup
from autograder.check.trust import is_installed_file
from course_lib.threads import single_thread_environment

_STDERR_TAIL_BYTES = 1500
# The worker imports only the support code this kernel imported (-I drops everything else).
_SUPPORT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_WORKER_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
                     "from autograder.check.worker import main; main()")


@dataclass(frozen=True)
class CheckResult:
    """Verdict of one run: passed, the student-facing message, and the number of cases."""

    exercise_id: str
    hidden: bool
    passed: bool
    message: str
    cases: int


class CheckFailed(AssertionError):
    """A failed check. Jupyter shows just its message: the student's code ran in the worker,
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
    """Grade in a subprocess and return a CheckResult (never raises for student errors)."""
    spec = lookup(exercise_id)
    expected = spec.student_parameters
    if len(student_objects) != len(expected):
        raise TypeError(f"check({exercise_id!r}, ...) takes {len(expected)} object(s) "
                        f"({', '.join(expected)}), got {len(student_objects)}")

    def verdict(passed, message, cases=0):
        return CheckResult(exercise_id, bool(hidden), passed, message, cases)

    try:
        cases = case_data(exercise_id, bool(hidden))
    except CasesUnavailable as missing:
        return verdict(False, str(missing))
    try:
        payload = _dumps(student_objects)
    except Exception as error:
        return verdict(False, _pickling_message(student_objects, expected, error))
    request = pickle.dumps({"exercise_id": exercise_id, "hidden": bool(hidden),
                            "cases": cases, "objects": payload})
    limit = spec.timeout if timeout is None else float(timeout)
    status, stdout, stderr_tail = _run_worker(request, limit)
    if status == "timeout":
        return verdict(False, f"your code did not finish within {limit:g} seconds and was "
                              "stopped: look for an infinite loop (a `while` whose condition "
                              "never changes) or a very slow loop over every element.")
    try:
        result = json.loads(stdout.decode("utf-8").strip().splitlines()[-1])
    except (UnicodeDecodeError, IndexError, ValueError):
        return verdict(False, _crash_message(status, stderr_tail))
    message = result["message"] + _source_line(result.get("where"), student_objects)
    return verdict(bool(result["passed"]), message, int(result["cases"]))


# ---------------------------------------------------------------------------- pickling

def _dumps(objects):
    """cloudpickle the objects, by value for every module the worker cannot import."""
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


# ---------------------------------------------------------------------------- subprocess

def _worker_environment():
    return {**single_thread_environment(), "MPLBACKEND": "Agg"}


def _run_worker(request, timeout):
    """Run the worker; returns (status, stdout bytes, stderr tail) where status is
    "timeout" or the exit code. Only the tail of stderr (the student's prints) is kept,
    so a student printing in a loop fills neither memory nor disk."""
    command = [sys.executable, "-I", "-c", _WORKER_BOOTSTRAP, _SUPPORT_ROOT]
    stderr_read, stderr_write = os.pipe()
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=stderr_write, env=_worker_environment(),
                                   start_new_session=True)
    finally:
        os.close(stderr_write)
    tail = bytearray()
    reader = threading.Thread(target=_keep_tail, args=(stderr_read, tail), daemon=True)
    reader.start()
    try:
        stdout, _ = process.communicate(request, timeout=timeout)
        status = process.returncode
    except subprocess.TimeoutExpired:
        stdout, status = b"", "timeout"
    finally:
        if process.poll() is None:  # timeout, or the student interrupted the kernel
            _kill_group(process)
            process.communicate()
        reader.join(timeout=5)
    return status, stdout, tail.decode("utf-8", errors="replace")


def _keep_tail(fd, tail):
    """Read fd to its end (then close it), keeping only the last bytes in `tail`."""
    with os.fdopen(fd, "rb", buffering=0) as stream:
        for chunk in iter(lambda: stream.read(65536), b""):
            tail += chunk
            del tail[:-_STDERR_TAIL_BYTES]


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _crash_message(status, stderr_tail):
    if isinstance(status, int) and status < 0:
        how = f"was killed by signal {signal.Signals(-status).name}"
        if status == -signal.SIGKILL:
            how += " (often: out of memory)"
    else:
        how = f"exited with code {status} before reporting a result"
    lines = [f"the grader process {how}. Did your code call os._exit(), exit the "
             "interpreter, or crash Python?"]
    if stderr_tail.strip():
        lines.append("last output:\n" + stderr_tail.strip()[-_STDERR_TAIL_BYTES:])
    return "\n  ".join(lines)


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
