"""Instructor side of the exercises: the `@cases` registry, seeds, and case data on demand.

    @cases("nb02.affine", answered_by=["course_lib.layers.affine_forward",
                                       "course_lib.layers.affine_backward"])
    def affine(rng, hidden):
        ...  # draw inputs, compute with the reference
        return [{"x": x, "w": w, "b": b, "dout": dout, "out": out, "dx": dx, ...}, ...]

A cases function returns plain data (autograder.check.casedata): whatever the verdict needs,
expected outputs and gradients included, and the arrays its diagnoses compare against.
answered_by: every course_lib function, class or method (dotted name) that answers the
exercise, i.e. would pass its check; the student edition leaves them out
(autograder.grading.student_edition) for this and every earlier assignment.

Seeds: visible cases use an rng seeded from the exercise id alone; hidden cases from the
exercise id and $AUTOGRADER_HIDDEN_SEED (default "course-default"), so the same
submission always gets the same verdict and instructors can change the hidden inputs.
"""
import hashlib
import os
from dataclasses import dataclass

import numpy as np

from autograder.check import casedata, registry

HIDDEN_SEED_ENV = "AUTOGRADER_HIDDEN_SEED"
DEFAULT_HIDDEN_SEED = "course-default"
_REGISTRY = {}


@dataclass(frozen=True)
class Cases:
    """One exercise's cases function and the course_lib names that answer the exercise."""

    id: str
    function: object
    answered_by: tuple


def cases(exercise_id, answered_by=()):
    """Register the decorated `(rng, hidden) -> plain data` function as the cases of `exercise_id`."""
    registry.validate_declaration(exercise_id, "answered_by", answered_by)

    def register(function):
        registry.add(_REGISTRY, exercise_id, Cases(exercise_id, function, tuple(answered_by)), "cases")
        return function

    return register


def lookup(exercise_id):
    """The Cases registered for `exercise_id`, importing its package's cases.py on first use."""
    return registry.find(_REGISTRY, exercise_id, "cases")


def hidden_secret():
    return os.environ.get(HIDDEN_SEED_ENV, DEFAULT_HIDDEN_SEED)


def exercise_seed(exercise_id, hidden, secret=None):
    """Deterministic 63-bit seed for the visible or hidden cases of an exercise."""
    key = (hidden_secret() if secret is None else secret) if hidden else "visible"
    digest = hashlib.sha256(f"{key}|{exercise_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def compute(exercise_id, hidden, secret=None):
    """The cases of `exercise_id` as plain data, exactly as a case file would hold them."""
    spec = lookup(exercise_id)
    rng = np.random.default_rng(exercise_seed(exercise_id, hidden, secret))
    # through the codec: what a verdict sees never depends on where its cases came from
    return casedata.loads(casedata.dumps(spec.function(rng, bool(hidden))))


def case_file_text(exercise_ids, hidden, secret=None):
    """A case file (JSON) holding the cases of every exercise in `exercise_ids`."""
    return casedata.dumps({eid: compute(eid, hidden, secret) for eid in exercise_ids})
