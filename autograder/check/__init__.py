"""The student's side of grading: what runs in a notebook's kernel, its judge and its runner.

checker   `check(exercise_id, *objects)`: asks the judge (the grader's, or a local one)
judge     decides a verdict: runs the exercise's verdict on the case data and proxies
runner    the process where the student's objects run, answering the judge with plain data
remote    the judge's side of a runner: the process, proxies, `@in_runner` helpers
wire      the frames and the codec between them (plain data and handles, never pickle)
registry  the `@verdict` decorator and the lookup of an exercise id
casedata  the case data a verdict runs on: its codec, and where check() finds it
compare   verdict helpers: arrays, gradients, named mistakes, the messages a student reads
trust     which files count as installed code (pickled by reference, not by value)
environment  `is_autograding()` for notebooks

`from autograder import check` gives the function `check` (autograder/__init__.py binds it
over this package's name); import the modules here as `from autograder.check import compare`.
"""
