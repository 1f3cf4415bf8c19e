"""`demo`: the whole instructor loop on generated sample submissions, ending with a score table.

Works on a copy of the course under outputs/autograder_demo/, so the real gradebook
never sees the sample students.
"""
import shutil
import time
from dataclasses import replace
from pathlib import Path

from autograder.grading import course, pipeline, samples
from autograder.grading.release import release
from autograder.grading.summary import score_table

DEMO_DIR = Path("outputs") / "autograder_demo"
# bug-<id> students per assignment in the demo (spread over the notebook) so `make demo`
# stays within its 5-minute budget; tests and `validate` exercise every typical bug
DEMO_BUG_SAMPLES = 1


def demo_course(settings):
    """Copy the course's source notebooks into a fresh demo root; its CourseSettings."""
    if not course.assignments(settings):
        raise SystemExit(f"no assignment under {settings.source_root}: run the demo from the course folder")
    demo_root = (Path(settings.root) / DEMO_DIR).resolve()
    shutil.rmtree(demo_root, ignore_errors=True)
    demo_root.mkdir(parents=True)
    shutil.copytree(settings.source_root, demo_root / settings.source_directory)
    return replace(settings, root=demo_root)


def pick_students(students, bug_samples):
    """The perfect, blank and tampered students plus `bug_samples` bug-* students spread evenly."""
    bugs = sorted(s for s in students if s.startswith("bug-"))
    if bug_samples < len(bugs):
        step = len(bugs) / bug_samples
        bugs = [bugs[int(i * step)] for i in range(bug_samples)]
    return {s: nbs for s, nbs in students.items() if not s.startswith("bug-") or s in bugs}


def run_demo(settings, jobs=None, bug_samples=DEMO_BUG_SAMPLES):
    start = time.monotonic()
    settings = demo_course(settings)
    assignments = release(settings)
    submissions = settings.default_submissions
    for assignment in assignments:
        for student, notebooks in pick_students(samples.build_samples(settings, assignment), bug_samples).items():
            samples.write_submission(submissions, student, assignment, notebooks)
    results = pipeline.grade(settings, submissions, assignments, jobs=jobs)
    print()
    print(score_table(settings, results))
    print(f"\n{len(results)} submissions graded in {time.monotonic() - start:.0f} s. "
          f"Feedback: {settings.root / 'feedback'}  grades: {settings.grades_csv}")
    return results
