"""The grading subprocess: runs one exercise's verdict on fresh modules.

Started by checker.py as `python -I -c <bootstrap>`: -I keeps the kernel's cwd, PYTHONPATH
and user site out of sys.path; the bootstrap puts back only the folder that holds the
`autograder` package the kernel imported (the repository, or a student edition).

Protocol: stdin holds a pickled dict {"exercise_id": str, "hidden": bool, "cases": case
data (plain data, see casedata.py), "objects": bytes (cloudpickle of the student's
objects)}; the worker writes one JSON line {"passed", "message", "cases", "where"} to its
stdout. Before anything else it points fd 1 at stderr, so whatever the student's code
prints (print, os.write(1, ...), C code) cannot mix with the result, which goes to a
private copy of the original fd.

Order matters: numpy, course_lib and the exercise module are imported, then the
exercise's forbidden course_lib functions are replaced on every course_lib module that
exposes them, and only then are the student's objects unpickled, so a by-reference
`affine_backward` inside them resolves to a stub. Two kinds of stub:
- while unpickling: a stub that always raises (the student's references bind to it);
- afterwards (on the modules, for look-ups at call time): a stub that raises only when
  student code is on the call stack, so trusted references (course_lib internals, the
  exercise's own reference calls) still work.
A forbidden call fails the exercise even if the student's code catches the error.

Threat model: this protects the verdict against the kernel's state (monkeypatched numpy,
edited helpers), crashes, hangs, exits and stray output. Student code runs in this
process, so code written to attack the grader from inside could still do so; the worker
does fail a run in which grader or numpy module attributes were replaced.
"""
import json
import os
import pickle
import sys
import traceback

from autograder.check.trust import is_installed_file

_FAILED_TO_LOAD = ("the grader could not load your objects ({error}). Pass functions, "
                   "classes and arrays defined in the notebook.")


class ForbiddenCall(BaseException):
    """Raised when student code calls a forbidden course_lib function (not an Exception,
    so `except Exception` in the student's code does not hide it)."""


def _student_code_on_stack(frame):
    while frame is not None:
        if not is_installed_file(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


# ---------------------------------------------------------------------------- forbid

class ForbiddenFunctions:
    """Replaces the forbidden course_lib functions on every loaded course_lib module."""

    def __init__(self, dotted_names):
        from autograder.check.registry import resolve

        self.originals = {name: resolve(name) for name in dotted_names}
        self.calls = []
        self._stubs = {name: [] for name in dotted_names}  # name -> its earlier stubs, kept alive

    def message(self, name):
        return f"you may not call {name} in this exercise: write this part yourself."

    def _strict_stub(self, name):
        def forbidden(*args, **kwargs):
            self.calls.append(name)
            raise ForbiddenCall(self.message(name))
        return forbidden

    def _guarded_stub(self, name, original):
        def forbidden_to_students(*args, **kwargs):
            if _student_code_on_stack(sys._getframe(1)):
                self.calls.append(name)
                raise ForbiddenCall(self.message(name))
            return original(*args, **kwargs)
        return forbidden_to_students

    def install(self, strict):
        """Put a stub wherever a course_lib module exposes an original (or an earlier stub)."""
        for name, original in self.originals.items():
            stub = self._strict_stub(name) if strict else self._guarded_stub(name, original)
            stub.__name__ = stub.__qualname__ = name.rpartition(".")[2]
            # Only this name's original and its own earlier stubs: another forbidden
            # name's stub must keep pointing at that name's original.
            replaced = {id(original)} | {id(s) for s in self._stubs[name]}
            for module_name, module in list(sys.modules.items()):
                if module is None or not (module_name == "course_lib"
                                          or module_name.startswith("course_lib.")):
                    continue
                for attribute, value in list(vars(module).items()):
                    if id(value) in replaced:
                        setattr(module, attribute, stub)
            self._stubs[name].append(stub)


# ---------------------------------------------------------------------------- tampering

def _snapshot(modules):
    return {(module.__name__, key): id(value)
            for module in modules for key, value in list(vars(module).items())}


def _tampered(before, modules):
    after = _snapshot(modules)
    return sorted(f"{module}.{key}" for (module, key), ident in before.items()
                  if after.get((module, key)) != ident)


# ---------------------------------------------------------------------------- running

def _student_frame(tb):
    """(file, line, function) of the innermost student frame of a traceback, or None."""
    frames = [f for f in traceback.extract_tb(tb) if not is_installed_file(f.filename)]
    if not frames:
        return None
    last = frames[-1]
    return {"file": last.filename, "line": last.lineno, "function": last.name}


def _safe_str(error):
    try:
        return str(error)
    except Exception:  # a student's exception class with a broken __str__
        return "<unprintable message>"


def _raised_by_student(error):
    """True when the student's own code raised `error` (not a course_lib function it called:
    the student edition's left-out answers raise NotImplementedError with their own message)."""
    frames = traceback.extract_tb(error.__traceback__)
    return bool(frames) and not is_installed_file(frames[-1].filename)


def _describe_exception(error, where, case_label):
    during = f" (while running {case_label})" if case_label else ""
    name = type(error).__name__
    if isinstance(error, NotImplementedError) and where and _raised_by_student(error):
        return (f"{where['function']} is not implemented yet — fill in the YOUR CODE HERE "
                f"part{during}.")
    if where:
        return (f"your code raised {name}: {_safe_str(error)}{during}\n"
                f"  in {where['function']}, line {where['line']}")
    return (f"the check raised {name}: {_safe_str(error)}{during}. This usually means "
            "your function returned something of the wrong type or shape; "
            "if not, tell your instructor.")


def run_request(request):
    """Run one exercise as described by `request`; returns the result dict."""
    import cloudpickle
    import numpy as np

    import course_lib  # noqa: F401  (fresh copy, before the student's objects exist)
    from autograder.check import compare, registry

    try:
        spec = registry.lookup(request["exercise_id"])
        forbidden = ForbiddenFunctions(spec.forbid)
    except Exception as error:
        message = (f"grader error, not your fault: exercise {request['exercise_id']!r} could "
                   f"not be set up ({type(error).__name__}: {error}); tell your instructor.")
        return {"passed": False, "message": message, "cases": 0, "where": None}
    forbidden.install(strict=True)
    try:
        objects = cloudpickle.loads(request["objects"])
    except ForbiddenCall as error:
        return {"passed": False, "message": str(error), "cases": 0, "where": None}
    except Exception as error:
        message = _FAILED_TO_LOAD.format(error=f"{type(error).__name__}: {error}")
        return {"passed": False, "message": message, "cases": 0, "where": None}
    forbidden.install(strict=False)

    guarded_modules = [np, np.random, np.linalg, compare, registry, sys.modules[__name__]]
    before = _snapshot(guarded_modules)
    compare.start_run()
    result = {"passed": False, "message": "", "cases": 0, "where": None}
    try:
        returned = spec.function(request["cases"], *objects)
        result.update(passed=True,
                      cases=returned if type(returned) is int else compare.cases_seen())
    except compare.WrongAnswer as failure:
        result["message"] = str(failure)
    except ForbiddenCall as error:
        result["message"] = str(error)
    except SystemExit as error:
        result["message"] = (f"your code called sys.exit({error.code!r}) (or exit()/quit()); "
                             "remove it: the grader cannot check code that stops Python.")
    except KeyboardInterrupt:
        result["message"] = "your code raised KeyboardInterrupt."
    except Exception as error:
        result["where"] = _student_frame(error.__traceback__)
        result["message"] = _describe_exception(error, result["where"], compare.current_case())
    if forbidden.calls and not result["message"].startswith("you may not call"):
        result.update(passed=False, message=forbidden.message(forbidden.calls[0]))
    tampered = _tampered(before, guarded_modules)
    if tampered:
        result.update(passed=False, message="your code replaced parts of numpy or of the "
                      f"grader ({', '.join(tampered[:5])}); the result cannot be trusted.")
    return result


def main():
    """Entry point: isolate stdout, read the request, run it, report, exit hard."""
    result_fd = os.dup(1)
    os.dup2(2, 1)  # from here on, fd 1 (and so print) goes to stderr
    request = pickle.loads(sys.stdin.buffer.read())
    result = run_request(request)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # the student's code may have closed or replaced it
            pass
    with os.fdopen(result_fd, "w", encoding="utf-8") as channel:
        channel.write(json.dumps(result) + "\n")
    # skip interpreter teardown: atexit handlers or __del__ from student code could hang
    os._exit(0)


if __name__ == "__main__":
    main()
