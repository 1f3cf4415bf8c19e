"""The instructor's side: nbgrader configuration, release, and the grading of submissions.

course       CourseSettings and every path of a course directory (sources, release, gradebook)
config       the nbgrader traitlets Config the CLI, the tests and the formgrader share
cells        the vocabulary of notebook cells: solution, test, written answer, markers
release      student versions of the source notebooks (nbgrader generate_assignment)
tamper       static scan of student cells for monkeypatching and forbidden imports
staging      the copy of a submission that nbgrader grades (metadata from the source, scan)
guarded_execute, hidden_tracebacks   nbgrader preprocessors: output cap, crash report, feedback
sandbox      the bubblewrap sandbox every graded kernel (and all it starts) runs in
judge_service  the judge of a submission being graded: its socket, and the record of verdicts
scores       every test cell's score from that record, and its messages in the feedback
isolated     grade one submission in a throwaway course directory
pool         run isolated grading jobs in worker processes
pipeline     `grade`: find, grade, merge, export
merge, ledger   write results into the real gradebook; remember what was graded, against what
export       roster in; grades, per-student grades, summaries and histograms out
feedback     feedback regenerated after hand grading ("not graded yet"), returned to students
validate     every solution passes, every stub fails
samples      generated submissions (perfect, blank, tampered, typical bugs)
summary      the score table printed after grading
"""
