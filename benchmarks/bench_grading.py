"""Grading throughput: K perfect sample submissions per assignment, graded serially and with 2 workers.

    python benchmarks/bench_grading.py [--submissions K] [--jobs 1 2]

Uses the course notebooks (or the fixture assignment while there are none) in a
temporary copy of the course; prints, per assignment and worker count, the seconds
per submission and submissions per minute.
"""
import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autograder.demo import FIXTURE_COURSE
from autograder.grading import course, samples
from autograder.grading.course import CourseSettings
from autograder.grading.pipeline import grade
from autograder.grading.release import release

REPO = Path(__file__).resolve().parent.parent


def bench_course(scratch):
    settings = CourseSettings().with_root(REPO)
    source_root = REPO if course.assignments(settings) else FIXTURE_COURSE
    shutil.copytree(source_root / settings.source_directory, scratch / settings.source_directory)
    settings = replace(settings, root=scratch)
    release(settings)
    return settings


def time_grading(settings, submissions, assignment, jobs):
    """Seconds to grade every submission of `assignment` in a fresh gradebook with `jobs` workers."""
    for generated in ("gradebook.db", ".autograder", "autograded", "feedback"):
        path = Path(settings.root) / generated
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    release(settings)
    start = time.perf_counter()
    results = grade(settings, submissions, assignments=[assignment], jobs=jobs, progress=False)
    elapsed = time.perf_counter() - start
    assert len(results) == sum(1 for _ in Path(submissions).iterdir())
    return elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=8, help="students (K)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        settings = bench_course(Path(scratch))
        submissions = Path(scratch) / "bench_submissions"
        for assignment in course.assignments(settings):
            perfect = samples.build_samples(settings, assignment)["perfect"]
            for k in range(args.submissions):
                samples.write_submission(submissions, f"student{k:03d}", assignment, perfect)
        count = args.submissions
        print(f"{count} perfect submissions per assignment")
        print(f"{'assignment':24s} {'jobs':>4s} {'s/submission':>12s} {'submissions/min':>15s} {'speed-up':>8s}")
        for assignment in course.assignments(settings):
            baseline = None
            for jobs in args.jobs:
                seconds = time_grading(settings, submissions, assignment, jobs)
                baseline = baseline or seconds
                print(f"{assignment:24s} {jobs:4d} {seconds / count:12.2f} {60 * count / seconds:15.1f} "
                      f"{baseline / seconds:7.2f}x", flush=True)


if __name__ == "__main__":
    main()
