"""`grade`: autograde every DIR/<student>/<assignment>/*.ipynb, merge, export grades.csv.

Submissions are graded in parallel worker processes, each in its own throwaway
course (see isolated.py); the parent alone writes the course gradebook, one student
at a time, then records the student in the resume ledger. Killing the batch at any
point loses nothing: a rerun skips every submission already in the ledger.
"""
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin
from tqdm import tqdm

from autograder.grading import course, ledger
from autograder.grading.course import prepare_grading_process
from autograder.grading.isolated import GradingJob
from autograder.grading.merge import merge_grades, merge_outputs
from autograder.grading.pool import run_jobs
from autograder.grading.release import release
from autograder.grading.sandbox import require_sandbox


@dataclass(frozen=True)
class Submission:
    assignment: str
    student: str
    folder: Path
    key: str


def find_submissions(submissions_dir, assignments):
    """Every DIR/<student>/<assignment>/ holding at least one notebook, sorted by student."""
    found = []
    for student_dir in sorted(p for p in Path(submissions_dir).iterdir() if p.is_dir()):
        for assignment in assignments:
            folder = student_dir / assignment
            if folder.is_dir() and any(folder.glob("*.ipynb")):
                found.append(Submission(assignment, student_dir.name, folder, ledger.submission_key(folder)))
    return found


def ensure_released(settings, assignments):
    with Gradebook(settings.db_url, settings.course_id) as gb:
        known = {a.name for a in gb.assignments}
    missing = [a for a in assignments if a not in known or not settings.release_dir(a).is_dir()]
    if missing:
        release(settings, missing)


def snapshot_gradebook(settings, destination):
    """A consistent copy of the gradebook for the workers (sqlite backup, never a torn file)."""
    source = sqlite3.connect(settings.db_path)
    target = sqlite3.connect(destination)
    with target:
        source.backup(target)
    source.close()
    target.close()


def export_grades(settings, path=None):
    """grades.csv in nbgrader's CSV export format (assignment, student_id, score, max_score, ...)."""
    path = Path(path or settings.grades_csv)
    exporter = CsvExportPlugin()
    exporter.to = str(path)
    with Gradebook(settings.db_url, settings.course_id) as gb:
        exporter.export(gb)
    return path


def _finish(settings, submission, result):
    merge_grades(settings.db_url, settings.course_id, result)
    merge_outputs(settings, result)
    ledger.record(
        settings, submission.assignment, submission.student, submission.key,
        score=result.score, max_score=result.max_score, notices=result.notices, error=result.error,
    )


def grade(settings, submissions_dir=None, assignments=None, jobs=None, progress=True):
    """Grade all pending submissions; returns {(assignment, student): GradingResult} of this run.

    Raises GradingIncomplete (after grading and recording everyone else) when the
    grader itself failed on some submission; those are retried by the next run.
    """
    assignments = assignments or course.assignments(settings)
    submissions_dir = Path(submissions_dir or settings.default_submissions)
    prepare_grading_process()
    if settings.sandbox:
        require_sandbox()  # before anything is graded: never half a batch unsandboxed
    ensure_released(settings, assignments)
    pending = [
        s for s in find_submissions(submissions_dir, assignments)
        if not ledger.is_graded(settings, s.assignment, s.student, s.key)
    ]
    results, failures = {}, []
    # a short scratch path: the kernels' ipc sockets live under it (unix socket paths are short)
    with tempfile.TemporaryDirectory(prefix="ag-") as scratch:
        scratch = Path(scratch)
        template = scratch / "template.db"
        snapshot_gradebook(settings, template)
        by_job = {
            GradingJob(settings, s.assignment, s.student, s.folder, template, scratch / f"{i:05d}"): s
            for i, s in enumerate(pending)
        }
        with tqdm(total=len(pending), desc="grading", unit="submission", disable=not progress) as bar:
            for job, outcome in run_jobs(by_job, jobs):
                submission = by_job[job]
                if isinstance(outcome, Exception):
                    failures.append((submission, outcome))
                else:
                    _finish(settings, submission, outcome)
                    results[(submission.assignment, submission.student)] = outcome
                    bar.set_postfix_str(f"{submission.student}: {outcome.score:g}/{outcome.max_score:g}")
                shutil.rmtree(job.work_dir, ignore_errors=True)
                bar.update()
    export_grades(settings)
    if failures:
        lines = "\n".join(f"  {s.student}/{s.assignment}: {type(e).__name__}: {e}" for s, e in failures)
        raise GradingIncomplete(f"{len(failures)} submission(s) not graded (rerun `grade` to retry them):\n{lines}")
    return results


class GradingIncomplete(RuntimeError):
    pass
