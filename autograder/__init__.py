"""Autograder for the course notebooks: exercise checks (`check`) and the nbgrader pipeline.

Notebook test cells call `check("nbNN.<name>", *objects)` (see autograder.checker);
assertion helpers live in autograder.compare, exercise specifications in
autograder.exercises, the command line in `python -m autograder`.
"""
from autograder.checker import check
from autograder.environment import is_autograding

__all__ = ["check", "is_autograding"]
