"""`demo`: the whole instructor loop on generated sample submissions, ending with a score table.

Works on a copy of the course under outputs/autograder_demo/ (so the real gradebook
never sees the sample students). Until the course notebooks exist it uses the
fixture assignment from tests/fixtures/.
"""
import shutil
import time
from dataclasses import replace
from pathlib import Path

from autograder import course, pipeline, samples
from autograder.release import release

FIXTURE_COURSE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "course"
DEMO_DIR = Path("outputs") / "autograder_demo"
# bug-<id> students per assignment in the demo (spread over the notebook) so `make demo`
# stays within its 5-minute budget; tests and `validate` exercise every typical bug
DEMO_BUG_SAMPLES = 1


def demo_course(settings):
    """Copy the course's notebooks (or the fixture's, if the course has none) into a fresh demo root."""
    source_root = Path(settings.root) if course.assignments(settings) else FIXTURE_COURSE
    demo_root = (Path(settings.root) / DEMO_DIR).resolve()
    shutil.rmtree(demo_root, ignore_errors=True)
    demo_root.mkdir(parents=True)
    shutil.copytree(source_root / settings.source_directory, demo_root / settings.source_directory)
    return replace(settings, root=demo_root), source_root == FIXTURE_COURSE


def _points_to_grade_by_hand(result):
    return sum(max_score for grades in result.grades.values()
               for _, max_score, needs_manual in grades.values() if needs_manual)


def score_table(results):
    """Rows 'student  assignment  score/max  by hand  note' sorted by assignment then student.

    `by hand` is the points of written answers waiting for the instructor in the Formgrader,
    so a perfect submission shows e.g. 22/25 with 3 points still to grade by hand.
    """
    rows = [("student", "assignment", "score", "by hand", "note")]
    for (assignment, student), r in sorted(results.items()):
        note = r.notices[0] if r.notices else ""
        pending = _points_to_grade_by_hand(r)
        rows.append((student, assignment, f"{r.score:g}/{r.max_score:g}",
                     f"{pending:g} pts" if pending else "", note[:90]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}"
        for row in rows
    )


def pick_students(students, bug_samples):
    """The perfect, blank and tampered students plus `bug_samples` bug-* students spread evenly."""
    bugs = sorted(s for s in students if s.startswith("bug-"))
    if bug_samples < len(bugs):
        step = len(bugs) / bug_samples
        bugs = [bugs[int(i * step)] for i in range(bug_samples)]
    return {s: nbs for s, nbs in students.items() if not s.startswith("bug-") or s in bugs}


def run_demo(settings, jobs=None, bug_samples=DEMO_BUG_SAMPLES):
    start = time.monotonic()
    settings, uses_fixture = demo_course(settings)
    if uses_fixture:
        print("notebooks/ has no assignment yet: the demo grades the fixture assignment.")
    assignments = release(settings)
    submissions = Path(settings.root) / "submitted"
    for assignment in assignments:
        for student, notebooks in pick_students(samples.build_samples(settings, assignment), bug_samples).items():
            samples.write_submission(submissions, student, assignment, notebooks)
    results = pipeline.grade(settings, submissions, assignments, jobs=jobs)
    print()
    print(score_table(results))
    print(f"\n{len(results)} submissions graded in {time.monotonic() - start:.0f} s. "
          f"Feedback: {settings.root / 'feedback'}  grades: {settings.root / 'grades.csv'}")
    return results
