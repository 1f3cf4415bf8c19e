"""The `verdict` decorator and the lookup of an exercise's verdict by id ("nb02.affine").

A verdict is a function `fn(case_data, *student_objects)` in an exercise package's
verdicts.py (see autograder.exercises): it runs the student's code on the case inputs and
raises `compare.WrongAnswer` when the student is wrong; it may return the number of cases
it ran (default: the number of distinct case labels). It needs no reference code: every
expected value is in `case_data` (autograder.check.casedata).

    @verdict("nb02.affine", forbid=["course_lib.layers.affine_backward"])
    def affine(case_data, student_forward, student_backward): ...

forbid: dotted names of course_lib functions the student may not call (see worker.py);
timeout: seconds before the grader stops the student's code.
"""
import importlib
import inspect
import re
from dataclasses import dataclass

DEFAULT_TIMEOUT = 60.0
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
_REGISTRY = {}


@dataclass(frozen=True)
class Verdict:
    """One registered verdict: its exercise id, function, forbidden names and timeout (s)."""

    id: str
    function: object
    forbid: tuple
    timeout: float

    @property
    def student_parameters(self):
        """Names of the student objects the verdict takes (after case_data)."""
        return list(inspect.signature(self.function).parameters)[1:]


def verdict(exercise_id, forbid=(), timeout=DEFAULT_TIMEOUT):
    """Register the decorated function as the verdict of `exercise_id`."""
    if not _ID_PATTERN.match(exercise_id):
        raise ValueError(f"exercise id must look like 'nb02.affine_backward', got {exercise_id!r}")
    if isinstance(forbid, str):
        raise TypeError(f"forbid must be a list of dotted names, got the string {forbid!r}")
    for name in forbid:
        if not name.startswith("course_lib."):
            raise ValueError(f"forbid entries must be course_lib functions, got {name!r}")

    def register(function):
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id].function is not function:
            raise ValueError(f"the verdict of {exercise_id!r} is registered twice")
        _REGISTRY[exercise_id] = Verdict(exercise_id, function, tuple(forbid), float(timeout))
        return function

    return register


def lookup(exercise_id):
    """The Verdict registered for `exercise_id`, importing its package's verdicts.py on first use."""
    from autograder.exercises import load_part

    if not isinstance(exercise_id, str) or "." not in exercise_id:
        raise KeyError(f"exercise ids look like 'nb02.affine_backward', got {exercise_id!r}")
    prefix = exercise_id.split(".", 1)[0]
    load_part(prefix, "verdicts")
    if exercise_id not in _REGISTRY:
        known = sorted(k for k in _REGISTRY if k.startswith(prefix + "."))
        raise KeyError(f"unknown exercise {exercise_id!r}; "
                       f"{prefix} defines: {', '.join(known) or 'none'}")
    return _REGISTRY[exercise_id]


def resolve(dotted_name):
    """The object named by a dotted path such as 'course_lib.layers.affine_backward'."""
    module_name, _, attribute = dotted_name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)
