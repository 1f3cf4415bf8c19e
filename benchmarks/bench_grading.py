"""Grading throughput: K perfect sample submissions, graded serially and with 2 workers.

    python benchmarks/bench_grading.py [--submissions K] [--jobs 1 2]

Uses the course notebooks (or the fixture assignment while there are none) in a
temporary copy of the course; prints submissions per minute for each worker count.
"""
import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autograder import course, samples
from autograder.demo import FIXTURE_COURSE
from autograder.nbgrader_config import CourseSettings
from autograder.pipeline import grade
from autograder.release import release

REPO = Path(__file__).resolve().parent.parent


def bench_course(scratch):
    settings = CourseSettings().with_root(REPO)
    source_root = REPO if course.assignments(settings) else FIXTURE_COURSE
    shutil.copytree(source_root / settings.source_directory, scratch / settings.source_directory)
    settings = replace(settings, root=scratch)
    release(settings)
    return settings


def time_grading(settings, submissions, jobs):
    """Seconds to grade every submission in a fresh gradebook with `jobs` workers."""
    for generated in ("gradebook.db", ".autograder", "autograded", "feedback"):
        path = Path(settings.root) / generated
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    release(settings)
    start = time.perf_counter()
    results = grade(settings, submissions, jobs=jobs, progress=False)
    elapsed = time.perf_counter() - start
    assert len(results) == sum(1 for _ in Path(submissions).iterdir()) * len(course.assignments(settings))
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
        count = args.submissions * len(course.assignments(settings))
        print(f"{count} submissions ({', '.join(course.assignments(settings))})")
        baseline = None
        for jobs in args.jobs:
            seconds = time_grading(settings, submissions, jobs)
            baseline = baseline or seconds
            print(f"jobs={jobs}: {seconds:6.1f} s  {60 * count / seconds:6.1f} submissions/min  "
                  f"{seconds / count:5.2f} s/submission  speed-up x{baseline / seconds:.2f}")


if __name__ == "__main__":
    main()
