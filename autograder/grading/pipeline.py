"""`grade`: autograde every DIR/<student>/<assignment>/*.ipynb, merge, export grades.csv.

Submissions are graded in parallel worker processes, each in its own throwaway
course (see isolated.py); the parent alone writes the course gradebook, one student
at a time, then records the student in the resume ledger. Killing the batch at any
point loses nothing: a rerun skips every submission already in the ledger.

A ledger entry holds what the submission was graded against (`grading_fingerprint`:
the source and released notebooks, the checks, the settings, the due date, the hidden
seed). When any of it changes, the next `grade` regrades the submissions it affects and
says why; manual grades in the gradebook are kept through every regrade.
"""
import hashlib
import shutil
import sqlite3
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from nbgrader.api import Gradebook
from tqdm import tqdm

import autograder
import course_lib
from autograder.grading import course, ledger
from autograder.grading.course import hidden_seed_digest, prepare_grading_process
from autograder.grading.export import export_grades
from autograder.grading.isolated import GradingJob
from autograder.grading.merge import merge_grades, merge_outputs
from autograder.grading.pool import run_jobs
from autograder.grading.release import release
from autograder.grading.sandbox import require_sandbox
from autograder.grading.student_edition import grading_edition


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


def _release_is_current(settings, assignment, known):
    """Released, recorded in the gradebook, and no source notebook edited since."""
    if assignment not in known or not settings.release_dir(assignment).is_dir():
        return False
    for source in course.source_notebooks(settings, assignment):
        released = course.release_notebook(settings, assignment, source.stem)
        if not released.exists() or released.stat().st_mtime < source.stat().st_mtime:
            return False
    return True


def ensure_released(settings, assignments):
    """Release the assignments that are not released, or whose source changed since."""
    with Gradebook(settings.db_url, settings.course_id) as gb:
        known = {a.name for a in gb.assignments}
    stale = [a for a in assignments if not _release_is_current(settings, a, known)]
    if stale:
        release(settings, stale)


# what the checks, the judge's scoring and the student edition are made of: a change here can
# change any verdict or score
_CHECK_CODE = [*(Path(autograder.__file__).parent / part for part in ("check", "exercises")),
               *(Path(autograder.__file__).parent / "grading" / name for name in ("judge_service.py", "scores.py")),
               Path(course_lib.__file__).parent]
# CourseSettings fields that do not change a grade
_NOT_GRADING = {"root", "config_file", "course_id", "source_directory"}


def grading_fingerprint(settings, assignment):
    """sha256 over everything a grade of `assignment` depends on besides the submission itself."""
    digest = hashlib.sha256()
    files = [*course.source_notebooks(settings, assignment),
             *sorted(settings.release_dir(assignment).glob("*.ipynb")),
             *(sorted(p for part in _CHECK_CODE for p in ([part] if part.is_file() else part.rglob("*.py")))),
             *([settings.config_file] if settings.config_file else [])]
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    fields = {k: v for k, v in asdict(settings).items() if k not in _NOT_GRADING}
    digest.update(repr(sorted(fields.items())).encode())
    with Gradebook(settings.db_url, settings.course_id) as gb:
        digest.update(str(gb.find_assignment(assignment).duedate).encode())
    return digest.hexdigest()


def seed_fingerprint(assignment):
    """Identifies the hidden seed that graded `assignment` without revealing it."""
    return hidden_seed_digest(assignment)[:16]


def _why_regrade(entry, submission, fingerprints, force):
    """Why `submission` must be graded now, or None when its ledger entry is current."""
    if force:
        return "forced"
    if entry is None:
        return "new"
    if entry.get("key") != submission.key:
        return "resubmitted"
    if entry.get("seed") != seed_fingerprint(submission.assignment):
        return "graded with a different hidden seed"
    if entry.get("grading") != fingerprints[submission.assignment]:
        return "the assignment, its checks or the grading settings changed since"
    return None


def _announce_regrades(reasons):
    """Say loudly which already graded submissions are regraded, and why."""
    regraded = {}
    for submission, reason in reasons:
        if reason not in ("new", "resubmitted", "forced"):
            regraded.setdefault(reason, []).append(f"{submission.student}/{submission.assignment}")
    for reason, who in regraded.items():
        print(f"regrading {len(who)} submission(s): {reason}: {', '.join(who)}", file=sys.stderr)


def snapshot_gradebook(settings, destination):
    """A consistent copy of the gradebook for the workers (sqlite backup, never a torn file)."""
    source = sqlite3.connect(settings.db_path)
    target = sqlite3.connect(destination)
    with target:
        source.backup(target)
    source.close()
    target.close()


def _finish(settings, submission, result, fingerprint):
    merge_grades(settings.db_url, settings.course_id, result)
    merge_outputs(settings, result)
    ledger.record(
        settings, submission.assignment, submission.student, submission.key,
        grading=fingerprint, seed=seed_fingerprint(submission.assignment),
        score=result.score, max_score=result.max_score, notices=result.notices, error=result.error,
    )


def grade(settings, submissions_dir=None, assignments=None, jobs=None, progress=True, students=None,
          force=False):
    """Grade every submission that is new, resubmitted or stale; returns {(assignment, student):
    GradingResult} of this run.

    students: only these student ids (default: everyone); force: regrade even when current.
    Raises GradingIncomplete (after grading and recording everyone else) when the
    grader itself failed on some submission; those are retried by the next run.
    """
    assignments = assignments or course.assignments(settings)
    submissions_dir = Path(submissions_dir or settings.default_submissions)
    prepare_grading_process()
    if settings.sandbox:
        require_sandbox()  # before anything is graded: never half a batch unsandboxed
    ensure_released(settings, assignments)
    fingerprints = {a: grading_fingerprint(settings, a) for a in assignments}
    found = [s for s in find_submissions(submissions_dir, assignments) if students is None or s.student in students]
    reasons = [(s, _why_regrade(ledger.read_entry(settings, s.assignment, s.student), s, fingerprints, force))
               for s in found]
    _announce_regrades(reasons)
    pending = [s for s, reason in reasons if reason]
    results, failures = {}, []
    # a short scratch path: the kernels' ipc sockets live under it (unix socket paths are short)
    with tempfile.TemporaryDirectory(prefix="ag-") as scratch:
        scratch = Path(scratch)
        template = scratch / "template.db"
        snapshot_gradebook(settings, template)
        editions = {a: grading_edition(settings, a, scratch / "editions" / a)
                    for a in dict.fromkeys(s.assignment for s in pending)}
        by_job = {
            GradingJob(settings, s.assignment, s.student, s.folder, template, scratch / f"{i:05d}",
                       editions[s.assignment]): s
            for i, s in enumerate(pending)
        }
        with tqdm(total=len(pending), desc="grading", unit="submission", disable=not progress) as bar:
            for job, outcome in run_jobs(by_job, jobs):
                submission = by_job[job]
                if isinstance(outcome, Exception):
                    failures.append((submission, outcome))
                else:
                    _finish(settings, submission, outcome, fingerprints[submission.assignment])
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
