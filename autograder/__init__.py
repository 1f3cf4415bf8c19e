"""Autograder for the course notebooks: exercise checks (`check`) and the nbgrader pipeline.

Notebook test cells call `check("nbNN.<name>", *objects)` (see autograder.check.checker);
assertion helpers live in autograder.check.compare, exercise specifications in
autograder.exercises, the command line in `python -m autograder`.
"""
from autograder.check.checker import check
from autograder.check.environment import is_autograding

__all__ = ["check", "is_autograding"]
