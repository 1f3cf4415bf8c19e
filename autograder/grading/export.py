"""What leaves the gradebook: the roster going in, grades and per-assignment summaries going out.

Files written into the course folder by `export_grades`:

- grades.csv: one row per student and assignment, nbgrader's export columns (assignment,
  duedate, timestamp, student_id, last_name, first_name, email, raw_score,
  late_submission_penalty, score, max_score) plus `status`: "graded", "waiting for hand
  grading" or "not submitted" (then the score columns are empty: not submitted is not 0);
- grades_by_student.csv: one row per student (an LMS gradebook import): id, names, email,
  then each assignment's score after penalties ("not submitted" where there is none) and its
  late penalty, then the total;
- grades_summary.csv and grades_<assignment>.png: per assignment, how many submitted, the
  mean, median, lowest and highest score, and a histogram of the scores.

An assignment that nobody has submitted yet is left out of all of them.
"""
import csv
import statistics
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from autograder.grading.course import prepare_grading_process

ROSTER_COLUMNS = ("student_id", "first_name", "last_name", "email")
NOT_SUBMITTED = "not submitted"


class RosterError(ValueError):
    pass


def import_roster(settings, roster_csv):
    """Add or update every student of `roster_csv` (columns student_id, first_name, last_name,
    email; extra columns ignored) in the gradebook; returns the number of students."""
    with open(roster_csv, newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in ROSTER_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise RosterError(f"{roster_csv}: the roster needs the columns {', '.join(ROSTER_COLUMNS)}; "
                              f"missing: {', '.join(missing)} (found: {', '.join(reader.fieldnames or [])})")
        rows = list(reader)
    prepare_grading_process()  # a new gradebook needs nbgrader's alembic
    with Gradebook(settings.db_url, settings.course_id) as gb:
        for line, row in enumerate(rows, start=2):
            student_id = row["student_id"].strip()
            if not student_id:
                raise RosterError(f"{roster_csv}, line {line}: empty student_id")
            gb.update_or_create_student(student_id, first_name=row["first_name"].strip() or None,
                                        last_name=row["last_name"].strip() or None,
                                        email=row["email"].strip() or None)
    return len(rows)


@dataclass(frozen=True)
class Grade:
    """One student's result on one assignment (None fields: not submitted)."""

    assignment: str
    duedate: object
    max_score: float
    student_id: str
    last_name: str
    first_name: str
    email: str
    timestamp: object = None
    raw_score: float | None = None
    late_penalty: float | None = None
    needs_hand_grading: bool = False

    @property
    def submitted(self):
        return self.raw_score is not None

    @property
    def score(self):
        return None if self.raw_score is None else self.raw_score - (self.late_penalty or 0.0)

    @property
    def status(self):
        if not self.submitted:
            return NOT_SUBMITTED
        return "waiting for hand grading" if self.needs_hand_grading else "graded"


def waits_for_a_human(grade):
    """This gradebook grade has no score yet: an answer no one has graded by hand. (nbgrader's
    needs_manual_grade alone also flags hand-graded cells for review after a regrade.)"""
    return grade.needs_manual_grade and grade.manual_score is None and grade.auto_score is None


def waits_for_hand_grading(submission):
    return any(waits_for_a_human(grade) for notebook in submission.notebooks for grade in notebook.grades)


def read_grades(settings):
    """Every (assignment with a submission) x (student) as a Grade, assignments then students sorted."""
    grades = []
    with Gradebook(settings.db_url, settings.course_id) as gb:
        students = sorted(gb.students, key=lambda s: s.id)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            if not assignment.submissions:
                continue
            for student in students:
                common = dict(assignment=assignment.name, duedate=assignment.duedate,
                              max_score=assignment.max_score, student_id=student.id,
                              last_name=student.last_name or "", first_name=student.first_name or "",
                              email=student.email or "")
                try:
                    submission = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    grades.append(Grade(**common))
                    continue
                grades.append(Grade(**common, timestamp=submission.timestamp, raw_score=submission.score,
                                    late_penalty=submission.late_submission_penalty or 0.0,
                                    needs_hand_grading=waits_for_hand_grading(submission)))
    return grades


def _number(value):
    return "" if value is None else f"{value:g}"


def _write_long(grades, path):
    columns = ["assignment", "duedate", "timestamp", "student_id", "last_name", "first_name", "email",
               "raw_score", "late_submission_penalty", "score", "max_score", "status"]
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(columns)
        for g in grades:
            writer.writerow([g.assignment, g.duedate or "", g.timestamp or "", g.student_id, g.last_name,
                             g.first_name, g.email, _number(g.raw_score), _number(g.late_penalty),
                             _number(g.score), _number(g.max_score), g.status])


def _write_by_student(grades, path):
    assignments = sorted({g.assignment for g in grades})
    by_student = {}
    for g in grades:
        by_student.setdefault(g.student_id, {})[g.assignment] = g
    header = ["student_id", "last_name", "first_name", "email"]
    for assignment in assignments:
        header += [assignment, f"{assignment} late penalty"]
    header.append("total")
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for student_id, row in sorted(by_student.items()):
            first = next(iter(row.values()))
            cells = [student_id, first.last_name, first.first_name, first.email]
            for assignment in assignments:
                g = row[assignment]
                cells += [NOT_SUBMITTED if not g.submitted else _number(g.score), _number(g.late_penalty)]
            submitted = [g.score for g in row.values() if g.submitted]
            cells.append(_number(sum(submitted)) if submitted else NOT_SUBMITTED)
            writer.writerow(cells)


def _write_summary(settings, grades, path):
    """grades_summary.csv and one histogram PNG per assignment; returns the PNG paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    rows, pictures = [], []
    for assignment in sorted({g.assignment for g in grades}):
        of_assignment = [g for g in grades if g.assignment == assignment]
        scores = [g.score for g in of_assignment if g.submitted]
        max_score = of_assignment[0].max_score
        rows.append([assignment, _number(max_score), len(of_assignment), len(scores),
                     f"{statistics.mean(scores):.2f}", _number(statistics.median(scores)),
                     _number(min(scores)), _number(max(scores))])
        fig, ax = plt.subplots(figsize=(5, 3))
        ax.hist(scores, bins=min(20, max(5, int(max_score) + 1)), range=(0, max_score), color="tab:blue")
        ax.set_xlabel(f"score (of {max_score:g})")
        ax.set_ylabel("students")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(f"{assignment}: {len(scores)} of {len(of_assignment)} submitted")
        fig.tight_layout()
        picture = Path(settings.root) / f"grades_{assignment}.png"
        fig.savefig(picture, dpi=100)
        plt.close(fig)
        pictures.append(picture)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["assignment", "max_score", "students", "submitted", "mean", "median", "lowest", "highest"])
        writer.writerows(rows)
    return pictures


def export_grades(settings):
    """Write grades.csv, grades_by_student.csv, grades_summary.csv and the histograms; their paths."""
    grades = read_grades(settings)
    root = Path(settings.root)
    paths = [settings.grades_csv, root / "grades_by_student.csv", root / "grades_summary.csv"]
    _write_long(grades, paths[0])
    _write_by_student(grades, paths[1])
    return paths + _write_summary(settings, grades, paths[2])
