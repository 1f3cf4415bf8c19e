"""Grading throughput: K perfect sample submissions per assignment, with and without the sandbox.

    python benchmarks/bench_grading.py [--submissions K] [--jobs 1 2] [--rounds R]

Uses the course notebooks in a temporary copy of the course; for each assignment and worker
count, grades the batch R times in each mode, alternating (so load changes hit both), and
prints the median seconds per submission, submissions per minute and the sandbox's cost.
"""
import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from autograder.grading import course, samples
from autograder.grading.course import CourseSettings
from autograder.grading.pipeline import grade
from autograder.grading.release import release

REPO = Path(__file__).resolve().parent.parent


def bench_course(scratch):
    settings = CourseSettings().with_root(REPO)
    shutil.copytree(settings.source_root, scratch / settings.source_directory)
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
    parser.add_argument("--submissions", type=int, default=4, help="students (K)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--rounds", type=int, default=2, help="batches per mode (R)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as scratch:
        settings = bench_course(Path(scratch))
        submissions = Path(scratch) / "bench_submissions"
        for assignment in course.assignments(settings):
            perfect = samples.build_samples(settings, assignment)["perfect"]
            for k in range(args.submissions):
                samples.write_submission(submissions, f"student{k:03d}", assignment, perfect)
        count = args.submissions
        print(f"{count} perfect submissions per assignment, median of {args.rounds} batches per mode")
        print(f"{'assignment':24s} {'jobs':>4s} {'s/sub, no sandbox':>17s} {'s/sub, sandbox':>14s} "
              f"{'sandbox cost':>12s} {'subs/min, sandbox':>17s}")
        for assignment in course.assignments(settings):
            for jobs in args.jobs:
                times = {False: [], True: []}
                for _ in range(args.rounds):
                    for sandbox in (False, True):
                        mode = replace(settings, sandbox=sandbox)
                        times[sandbox].append(time_grading(mode, submissions, assignment, jobs) / count)
                plain, boxed = statistics.median(times[False]), statistics.median(times[True])
                print(f"{assignment:24s} {jobs:4d} {plain:17.2f} {boxed:14.2f} {boxed / plain - 1:+11.0%} "
                      f"{60 / boxed:17.1f}", flush=True)


if __name__ == "__main__":
    main()
