"""The student's side of grading: what runs in a notebook's kernel and in its check workers.

checker   `check(exercise_id, *objects)`: sends the objects to a fresh worker process
worker    the `python -I` subprocess that runs one exercise's verdict on fresh modules
registry  the `@verdict` decorator and the lookup of an exercise id
casedata  the case data a verdict runs on: its codec, and where check() finds it
compare   verdict helpers: arrays, gradients, named mistakes, the messages a student reads
trust     which files count as installed code (pickled by reference, not by value)
environment  `is_autograding()` for notebooks

`from autograder import check` gives the function `check` (autograder/__init__.py binds it
over this package's name); import the modules here as `from autograder.check import compare`.
"""
