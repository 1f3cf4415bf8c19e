"""Copy one isolated grading result into the course's gradebook and folders (serially).

Manual scores an instructor already entered are never overwritten: as in nbgrader's
SaveAutoGrades, a cell with a manual score is flagged for review instead.
"""
import shutil
import warnings
from pathlib import Path

from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning


def merge_grades(db_url, course_id, result):
    """Write `result`'s auto scores and comments into the gradebook in one transaction."""
    with warnings.catch_warnings(), Gradebook(db_url, course_id) as gb:
        # nbgrader's update_or_create_submission triggers SQLAlchemy autoflush warnings (harmless)
        warnings.simplefilter("ignore", SAWarning)
        gb.update_or_create_student(result.student)
        if result.timestamp:
            gb.update_or_create_submission(result.assignment, result.student, timestamp=result.timestamp)
        else:
            gb.update_or_create_submission(result.assignment, result.student)
        for notebook, grades in result.grades.items():
            for grade_id, (auto_score, _, needs_manual) in grades.items():
                grade = gb.find_grade(grade_id, notebook, result.assignment, result.student)
                grade.auto_score = auto_score
                grade.needs_manual_grade = needs_manual or grade.manual_score is not None
            for grade_id, auto_comment in result.comments.get(notebook, {}).items():
                gb.find_comment(grade_id, notebook, result.assignment, result.student).auto_comment = auto_comment
            penalty = result.late_penalties.get(notebook)
            if penalty is not None:
                gb.find_submission_notebook(notebook, result.assignment, result.student).late_submission_penalty = penalty
        gb.db.commit()


# What nbgrader writes into a graded folder; anything else there came from a submission's code
# (an unsandboxed kernel runs in it) and stays out of the course.
GRADED_FILES = ("*.ipynb", "*.html", "timestamp.txt")


def _not_graded_output(folder, names):
    """copytree `ignore`: everything but regular files named like nbgrader's outputs (no links)."""
    return [name for name in names
            if (Path(folder) / name).is_symlink() or not (Path(folder) / name).is_file()
            or not any(Path(name).match(pattern) for pattern in GRADED_FILES)]


def replace_tree(source, destination):
    """Make `destination` a copy of nbgrader's outputs in `source`; a crash leaves either the old
    or the new copy."""
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = destination.with_name(f".{destination.name}.incoming")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=_not_graded_output)
    for path in staging.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # nbgrader writes 444; keep them replaceable
    old = destination.with_name(f".{destination.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if destination.exists():
        destination.rename(old)
    staging.rename(destination)
    shutil.rmtree(old, ignore_errors=True)


def merge_outputs(settings, result):
    """Copy the autograded notebooks and the feedback into the course's folders."""
    for kind, produced in (("autograded", result.autograded_dir), ("feedback", result.feedback_dir)):
        if produced is not None and Path(produced).is_dir():
            replace_tree(produced, settings.output_dir(kind, result.student, result.assignment))
