"""A source notebook's solution cells as student code, and the checks every graded notebook gets.

Solution cells run in a throwaway module (not imported from a file), so check() pickles the
student objects by value exactly as it does for code typed in a notebook.
"""
import functools
import types

import nbformat
import pytest

from autograder.check.checker import run
from autograder.grading import samples
from autograder.grading.cells import cells_by_grade_id, is_solution_code


class SourceNotebook:
    """The setup cell and solution cells of one source notebook (with solutions and bug blocks)."""

    def __init__(self, path, setup_grade_id=None):
        nb = nbformat.read(str(path), as_version=4)
        self.name = path.stem
        self.cells = {gid: c.source for gid, c in cells_by_grade_id(nb).items()}
        self.solutions = {gid: c.source for gid, c in cells_by_grade_id(nb, is_solution_code).items()}
        # the setup cell holds the imports; without a grade id it is the first code cell
        self.setup = (self.cells[setup_grade_id] if setup_grade_id
                      else next(c.source for c in nb.cells if c.cell_type == "code"))

    def module(self, transform):
        """Setup cell plus every solution cell, each passed through transform(grade_id, source)."""
        module = types.ModuleType(f"{self.name}_student")
        exec(compile(self.setup, "<setup>", "exec"), module.__dict__)
        for grade_id, source in self.solutions.items():
            exec(compile(transform(grade_id, source), f"<{grade_id}>", "exec"), module.__dict__)
        return module

    @functools.cached_property
    def solved(self):
        """The all-correct module. Bind it to a local before a test's student function closes
        over it: check() pickles that function by value, and SOURCE itself does not pickle."""
        return self.module(lambda _, source: samples.solution_code(source))

    def with_bug(self, grade_id):
        """Every solution right except grade_id's, which holds its typical bug."""
        return self.module(lambda gid, source: samples.bug_code(source) if gid == grade_id
                           else samples.solution_code(source))


def objects(module, names):
    return [getattr(module, name) for name in names]


class ExerciseChecks:
    """Subclass as `Test...` and set the class attributes; conftest parametrizes `exercise_id`."""

    SOURCE: SourceNotebook
    # exercise id -> (solution cell grade_id, names of the student objects check() takes,
    #                 a phrase the typical bug's failure message must contain)
    EXERCISES: dict
    MIN_CASES = 2
    # solution cells that are not a check() exercise of their own (e.g. a training configuration)
    OTHER_SOLUTION_CELLS = frozenset()

    @pytest.mark.parametrize("hidden", [False, True])
    def test_solution_passes(self, exercise_id, hidden):
        _, names, _ = self.EXERCISES[exercise_id]
        result = run(exercise_id, *objects(self.SOURCE.solved, names), hidden=hidden)
        assert result.passed, result.message
        assert result.cases >= self.MIN_CASES

    def test_typical_bug_fails_with_its_hint(self, exercise_id):
        grade_id, names, phrase = self.EXERCISES[exercise_id]
        result = run(exercise_id, *objects(self.SOURCE.with_bug(grade_id), names))
        assert not result.passed
        assert phrase in result.message, result.message

    def test_typical_bug_fails_the_hidden_cases(self, exercise_id):
        # the hidden inputs differ, so the diagnosis may too (e.g. "transposed" on a square J)
        grade_id, names, _ = self.EXERCISES[exercise_id]
        result = run(exercise_id, *objects(self.SOURCE.with_bug(grade_id), names), hidden=True)
        assert not result.passed
        assert result.message.strip()

    def test_every_solution_cell_has_a_typical_bug(self):
        graded = {grade_id for grade_id, _, _ in self.EXERCISES.values()}
        assert graded | self.OTHER_SOLUTION_CELLS == set(self.SOURCE.solutions)
        assert all(samples.bug_code(source) is not None for source in self.SOURCE.solutions.values())
