"""Autograder for the course notebooks: exercise checks (`check`) and the nbgrader pipeline.

Notebook test cells call `check("nbNN.<name>", *objects)` (see autograder.checker);
assertion helpers live in autograder.compare, exercise specifications in
autograder.exercises, the command line in `python -m autograder`.
"""
from autograder.checker import check

__all__ = ["check"]
