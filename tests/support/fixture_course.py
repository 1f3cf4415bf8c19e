"""Shared helpers for the pipeline tests: a temp copy of the fixture course, graded for real."""
import shutil
from dataclasses import replace
from pathlib import Path

from nbgrader.api import Gradebook

from autograder.grading import samples
from autograder.grading.course import CourseSettings
from autograder.grading.release import release
from support import FIXTURES

FIXTURE_COURSE = FIXTURES / "course"
ASSIGNMENT = "fixture"
NOTEBOOK = "fixture.ipynb"
POINTS = {"test_relu": 2.0, "test_square": 3.0}


def make_course(root, **settings_fields):
    """Copy the fixture course to `root`, release it, and return its CourseSettings.

    settings_fields: CourseSettings fields to change (default cell timeout: 10 s).
    """
    shutil.copytree(FIXTURE_COURSE / "notebooks", Path(root) / "notebooks")
    settings = replace(CourseSettings(), **{"cell_timeout_s": 10, **settings_fields}).with_root(root)
    release(settings)
    return settings


def write_students(settings, students, submissions=None):
    """students: name -> {notebook file: notebook or raw bytes/str}; returns the submissions folder."""
    submissions = Path(submissions or Path(settings.root) / "submitted")
    for student, notebooks in students.items():
        folder = samples.write_submission(submissions, student, ASSIGNMENT,
                                          {k: v for k, v in notebooks.items() if hasattr(v, "cells")})
        for name, raw in notebooks.items():
            if not hasattr(raw, "cells"):
                (folder / name).write_bytes(raw if isinstance(raw, bytes) else raw.encode())
    return submissions


def gradebook_scores(settings):
    """(student, grade_id) -> (auto_score, needs_manual_grade) from the course gradebook."""
    scores = {}
    with Gradebook(settings.db_url, settings.course_id) as gb:
        for student in gb.students:
            try:
                submission = gb.find_submission(ASSIGNMENT, student.id)
            except Exception:
                continue
            for nb in submission.notebooks:
                for grade in nb.grades:
                    scores[(student.id, grade.name)] = (grade.auto_score, grade.needs_manual_grade)
    return scores


def expected_scores(lost=()):
    """Per-test scores of the perfect submission minus the tests in `lost`."""
    return {test: (0.0 if test in lost else points) for test, points in POINTS.items()}


def cell_scores(result):
    return {grade_id: score for grade_id, (score, _, _) in result.grades[NOTEBOOK.removesuffix(".ipynb")].items()}
