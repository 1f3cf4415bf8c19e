"""`validate`: every source notebook passes all its tests; every released stub fails all of them.

Both runs go through the real grading path (staging, static scan, nbgrader autograde
in an isolated course, scores from the judge), as the pseudo-students `solution` (the source
notebook submitted as is) and `stub` (the blank release), so what validate accepts is what
grading will do. A test cell that calls no `check(...)` is reported on its own: the judge
scores a cell only by the checks its source calls, so such a cell can never earn its points.
"""
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.grading import course, pipeline
from autograder.grading.cells import cells_by_grade_id, checks, is_test, is_written_answer
from autograder.grading.isolated import GradingJob
from autograder.grading.pool import run_jobs
from autograder.grading.release import release
from autograder.grading.samples import write_submission
from autograder.grading.sandbox import require_sandbox
from autograder.grading.student_edition import grading_edition

EXPECTATIONS = {"solution": "pass", "stub": "fail"}


@dataclass(frozen=True)
class CellVerdict:
    assignment: str
    notebook: str
    grade_id: str
    run: str  # "solution" or "stub"
    score: float | None
    max_score: float

    @property
    def ok(self):
        if self.run == "solution":
            return self.score == self.max_score
        return self.score == 0

    def line(self):
        mark = "ok  " if self.ok else "FAIL"
        expected = EXPECTATIONS[self.run]
        return (f"{mark} {self.assignment}/{self.notebook} {self.grade_id:<24} {self.run:<8} "
                f"{self.score if self.score is not None else '-'}/{self.max_score:g} (must {expected})")


def _pseudo_submissions(settings, assignment, folder):
    solution = {p.name: course.read_notebook(p) for p in course.source_notebooks(settings, assignment)}
    stub = {p.name: course.read_notebook(course.release_notebook(settings, assignment, p.stem))
            for p in course.source_notebooks(settings, assignment)}
    write_submission(folder, "solution", assignment, solution)
    write_submission(folder, "stub", assignment, stub)


def _tests_without_checks(settings, assignment):
    """Problems naming every test cell of `assignment` whose source calls no check()."""
    return [f"{assignment}/{path.stem} {grade_id}: calls no check(...); the judge scores a test "
            "cell by the checks its source calls, so it can never earn its points"
            for path in course.source_notebooks(settings, assignment)
            for grade_id, cell in cells_by_grade_id(course.read_notebook(path), is_test).items()
            if not checks(cell)]


def _manually_graded(settings, assignment):
    """Grade ids of written-answer cells (grade + solution): graded by hand, not by tests."""
    ids = set()
    for path in course.source_notebooks(settings, assignment):
        ids |= set(cells_by_grade_id(course.read_notebook(path), is_written_answer))
    return ids


def validate(settings, assignments=None, jobs=None):
    """(verdicts, problems): one CellVerdict per test cell and run, and human-readable problems."""
    assignments = assignments or course.assignments(settings)
    if settings.sandbox:
        require_sandbox()
    release(settings, assignments)
    verdicts, problems = [], []
    with tempfile.TemporaryDirectory(prefix="ag-") as scratch:
        scratch = Path(scratch)
        template = scratch / "template.db"
        pipeline.snapshot_gradebook(settings, template)
        jobs_list = []
        for assignment in assignments:
            problems.extend(_tests_without_checks(settings, assignment))
            _pseudo_submissions(settings, assignment, scratch / "submitted")
            edition = grading_edition(settings, assignment, scratch / "editions" / assignment)
            for run in EXPECTATIONS:
                folder = scratch / "submitted" / run / assignment
                jobs_list.append(GradingJob(settings, assignment, run, folder, template,
                                            scratch / f"{assignment}-{run}", edition))
        for job, result in run_jobs(jobs_list, jobs):
            if isinstance(result, Exception):
                problems.append(f"{job.assignment} {job.student}: grader error {type(result).__name__}: {result}")
                continue
            if job.student == "solution":
                problems.extend(f"{job.assignment} solution: {n}" for n in result.notices)
            manual = _manually_graded(settings, job.assignment)
            for notebook, grades in result.grades.items():
                for grade_id, (score, max_score, _) in grades.items():
                    if grade_id in manual:
                        continue
                    verdicts.append(CellVerdict(job.assignment, notebook, grade_id, job.student, score, max_score))
    verdicts.sort(key=lambda v: (v.assignment, v.notebook, v.run, v.grade_id))
    problems.extend(v.line() for v in verdicts if not v.ok)
    return verdicts, problems
