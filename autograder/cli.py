"""`python -m autograder <command>`: validate, release, grade, demo."""
import argparse
import sys
from dataclasses import replace
from pathlib import Path

from autograder.grading.course import CourseSettings
from autograder.grading.sandbox import SandboxUnavailable


def _settings(args):
    settings = CourseSettings().with_root(args.root)
    if args.cell_timeout:
        settings = replace(settings, cell_timeout_s=args.cell_timeout)
    if getattr(args, "no_sandbox", False):
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): submissions can read and change "
              "anything this user can. Use it only for code you trust.", file=sys.stderr)
        settings = replace(settings, sandbox=False)
    return settings


def cmd_validate(args):
    from autograder.grading.validate import validate

    verdicts, problems = validate(_settings(args), args.assignment, jobs=args.jobs)
    for verdict in verdicts:
        print(verdict.line())
    if problems:
        print(f"\n{len(problems)} problem(s):", *problems, sep="\n  ")
        return 1
    print(f"\nall {len(verdicts)} checks ok")
    return 0


def cmd_release(args):
    from autograder.grading.release import release

    for name in release(_settings(args), args.assignment):
        print(f"released {name} -> release/{name}/")
    return 0


def cmd_grade(args):
    from autograder.grading.pipeline import GradingIncomplete, grade
    from autograder.grading.summary import score_table

    try:
        results = grade(_settings(args), args.submissions, args.assignment, jobs=args.jobs,
                        progress=not args.no_progress)
    except GradingIncomplete as error:
        print(error, file=sys.stderr)
        return 2
    print(score_table(results) if results else "nothing new to grade (all submissions already graded)")
    return 0


def cmd_demo(args):
    from autograder.demo import run_demo

    run_demo(_settings(args), jobs=args.jobs, bug_samples=args.bug_samples)
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    p.add_argument("--root", type=Path, default=Path.cwd(), help="course directory (default: current)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell while grading (default 60)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, func, help_text, assignment=True, jobs=True):
        cmd = sub.add_parser(name, help=help_text)
        if assignment:
            cmd.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
        if jobs:
            cmd.add_argument("--jobs", type=int, help="parallel grading processes (default: number of cores)")
            cmd.add_argument("--no-sandbox", action="store_true",
                             help="run submissions without the bubblewrap sandbox (trusted code only)")
        cmd.set_defaults(func=func)
        return cmd

    add("validate", cmd_validate, "solutions pass every test; released stubs fail every test")
    add("release", cmd_release, "write student versions to release/<assignment>/", jobs=False)
    grade = add("grade", cmd_grade, "autograde DIR/<student>/<assignment>/*.ipynb, feedback, grades.csv")
    grade.add_argument("--submissions", type=Path, help="submissions folder (default: submitted/)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    demo = add("demo", cmd_demo, "the whole loop on generated sample submissions", assignment=False)
    demo.add_argument("--bug-samples", type=int, default=1, help="typical-bug students per assignment (default 1)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except SandboxUnavailable as error:
        print(f"cannot grade: {error}", file=sys.stderr)
        return 3
