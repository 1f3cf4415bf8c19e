"""The student's side of grading: what runs in a notebook's kernel and in its check workers.

checker   `check(exercise_id, *objects)`: sends the objects to a fresh worker process
worker    `python -I -m autograder.check.worker`: runs one exercise's checks on fresh modules
registry  the `@exercise` decorator and the lookup of an exercise id
compare   verdict helpers: arrays, gradients, named mistakes, the messages a student reads
trust     which files count as installed code (pickled by reference, not by value)
environment  `is_autograding()` for notebooks

`from autograder import check` gives the function `check` (autograder/__init__.py binds it
over this package's name); import the modules here as `from autograder.check import compare`.
"""
