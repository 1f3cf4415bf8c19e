"""The `verdict` decorator and the lookup of an exercise's verdict by id ("nb02.affine").

A verdict is a function `fn(case_data, *student_objects)` in an exercise package's
verdicts.py (see autograder.exercises): it runs the student's code on the case inputs and
raises `compare.WrongAnswer` when the student is wrong; it may return the number of cases
it ran (default: the number of distinct case labels). It needs no reference code: every
expected value is in `case_data` (autograder.check.casedata).

    @verdict("nb02.affine", forbid=["course_lib.layers.affine_backward"])
    def affine(case_data, student_forward, student_backward): ...

forbid: dotted names of course_lib functions the student may not call (see runner.py);
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


def validate_declaration(exercise_id, argument, names):
    """Refuse a malformed exercise id, or `names` (the argument called `argument`) that is
    not a list of dotted course_lib names. Shared by @verdict and the instructor's @cases."""
    if not _ID_PATTERN.match(exercise_id):
        raise ValueError(f"exercise id must look like 'nb02.affine_backward', got {exercise_id!r}")
    if isinstance(names, str):
        raise TypeError(f"{argument} must be a list of dotted names, got the string {names!r}")
    for name in names:
        if not name.startswith("course_lib."):
            raise ValueError(f"{argument} entries must be course_lib functions, got {name!r}")


def add(registry, exercise_id, entry, what):
    """registry[exercise_id] = entry, refusing a second, different registration."""
    if exercise_id in registry and registry[exercise_id].function is not entry.function:
        raise ValueError(f"the {what} of {exercise_id!r} is registered twice")
    registry[exercise_id] = entry


def verdict(exercise_id, forbid=(), timeout=DEFAULT_TIMEOUT):
    """Register the decorated function as the verdict of `exercise_id`."""
    validate_declaration(exercise_id, "forbid", forbid)

    def register(function):
        add(_REGISTRY, exercise_id, Verdict(exercise_id, function, tuple(forbid), float(timeout)), "verdict")
        return function

    return register


def lookup(exercise_id):
    """The Verdict registered for `exercise_id`, importing its package's verdicts.py on first use."""
    return find(_REGISTRY, exercise_id, "verdicts")


def find(registry, exercise_id, part):
    """registry[exercise_id], importing `part` ("verdicts" or "cases") of its package first."""
    from autograder.exercises import load_part

    if not isinstance(exercise_id, str) or "." not in exercise_id:
        raise KeyError(f"exercise ids look like 'nb02.affine_backward', got {exercise_id!r}")
    prefix = exercise_id.split(".", 1)[0]
    load_part(prefix, part)
    if exercise_id not in registry:
        known = sorted(k for k in registry if k.startswith(prefix + "."))
        raise KeyError(f"unknown exercise {exercise_id!r}; "
                       f"{prefix}'s {part} define: {', '.join(known) or 'none'}")
    return registry[exercise_id]


def resolve(dotted_name):
    """The object named by a dotted path such as 'course_lib.layers.affine_backward'."""
    module_name, _, attribute = dotted_name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)
