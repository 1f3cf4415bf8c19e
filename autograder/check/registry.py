"""The `exercise` decorator and the lookup of exercises by id ("nb02.affine_backward").

An exercise is a trusted function `fn(rng, hidden, *student_objects)` in a module of
`autograder.exercises`; it raises `compare.WrongAnswer` when the student is wrong and
may return the number of cases it ran (default: the number of distinct case labels).

    @exercise("nb02.affine_backward", forbid=["course_lib.layers.affine_backward"])
    def affine_backward(rng, hidden, student_forward, student_backward): ...

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
class Exercise:
    """One registered exercise: its id, check function, forbidden names and timeout (s)."""

    id: str
    function: object
    forbid: tuple
    timeout: float

    @property
    def student_parameters(self):
        """Names of the student objects the check function takes (after rng, hidden)."""
        return list(inspect.signature(self.function).parameters)[2:]


def exercise(exercise_id, forbid=(), timeout=DEFAULT_TIMEOUT):
    """Register the decorated function as the check of `exercise_id`."""
    if not _ID_PATTERN.match(exercise_id):
        raise ValueError(f"exercise id must look like 'nb02.affine_backward', got {exercise_id!r}")
    if isinstance(forbid, str):
        raise TypeError(f"forbid must be a list of dotted names, got the string {forbid!r}")
    for name in forbid:
        if not name.startswith("course_lib."):
            raise ValueError(f"forbid entries must be course_lib functions, got {name!r}")

    def register(function):
        if exercise_id in _REGISTRY and _REGISTRY[exercise_id].function is not function:
            raise ValueError(f"exercise {exercise_id!r} is registered twice")
        _REGISTRY[exercise_id] = Exercise(exercise_id, function, tuple(forbid), float(timeout))
        return function

    return register


def lookup(exercise_id):
    """The Exercise registered as `exercise_id`, importing its module on first use."""
    from autograder.exercises import load_module

    if not isinstance(exercise_id, str) or "." not in exercise_id:
        raise KeyError(f"exercise ids look like 'nb02.affine_backward', got {exercise_id!r}")
    prefix = exercise_id.split(".", 1)[0]
    load_module(prefix)
    if exercise_id not in _REGISTRY:
        known = sorted(k for k in _REGISTRY if k.startswith(prefix + "."))
        raise KeyError(f"unknown exercise {exercise_id!r}; "
                       f"{prefix} defines: {', '.join(known) or 'none'}")
    return _REGISTRY[exercise_id]


def resolve(dotted_name):
    """The object named by a dotted path such as 'course_lib.layers.affine_backward'."""
    module_name, _, attribute = dotted_name.rpartition(".")
    return getattr(importlib.import_module(module_name), attribute)
