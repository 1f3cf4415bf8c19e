"""`python -m autograder <command>`: the instructor's term, from the course folder.

validate, release, roster, duedate, grade, export (after hand grading), return-feedback, demo.
Settings come from the course's nbgrader_config.py (see `load_course`).
"""
import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from autograder.exercises.casebook import HIDDEN_SEED_ENV
from autograder.grading.course import ConfigError, load_course, prepare_grading_process
from autograder.grading.course import assignments as course_assignments
from autograder.grading.export import RosterError
from autograder.grading.sandbox import SandboxUnavailable


class CommandError(RuntimeError):
    """A command cannot run as asked; the message says why and what to do."""


def _settings(args):
    settings = load_course(args.root)
    if args.cell_timeout:
        settings = replace(settings, cell_timeout_s=args.cell_timeout)
    if getattr(args, "no_sandbox", False):
        print("WARNING: grading WITHOUT the sandbox (--no-sandbox): submissions can read and change "
              "anything this user can. Use it only for code you trust.", file=sys.stderr)
        settings = replace(settings, sandbox=False)
    return settings


def _require_secret_seed(args):
    """Grading for credit needs the instructor's own hidden seed; the default one is public."""
    if os.environ.get(HIDDEN_SEED_ENV):
        return
    if not args.public_seed:
        raise CommandError(
            f"{HIDDEN_SEED_ENV} is not set, so the hidden tests would use the public default seed "
            "that anyone can read in the source. Set your own secret for the whole term, e.g. "
            f"`export {HIDDEN_SEED_ENV}=$(python -c 'import secrets; print(secrets.token_hex(16))')`, "
            "and keep it: a different seed regrades every submission. For demos and tests only: "
            "--public-seed.")
    print(f"WARNING: {HIDDEN_SEED_ENV} is not set: hidden tests use the public default seed.", file=sys.stderr)


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


def cmd_roster(args):
    from autograder.grading.export import import_roster

    count = import_roster(_settings(args), args.csv)
    print(f"{count} students in the gradebook from {args.csv}")
    return 0


def cmd_duedate(args):
    from nbgrader.api import Gradebook
    from nbgrader.utils import parse_utc

    from autograder.grading.release import release

    settings = _settings(args)
    release(settings, [args.name])  # the assignment must be in the gradebook
    with Gradebook(settings.db_url, settings.course_id) as gb:
        gb.update_or_create_assignment(args.name, duedate=parse_utc(args.due))
    print(f"{args.name} is due {parse_utc(args.due)} UTC; the next `grade` applies it")
    return 0


def cmd_grade(args):
    from autograder.grading.pipeline import GradingIncomplete, grade
    from autograder.grading.summary import score_table

    _require_secret_seed(args)
    settings = _settings(args)
    try:
        results = grade(settings, args.submissions, args.assignment, jobs=args.jobs,
                        progress=not args.no_progress, students=args.student, force=args.force)
    except GradingIncomplete as error:
        print(error, file=sys.stderr)
        return 2
    print(score_table(settings, results) if results else "nothing to grade: every submission is graded and current")
    return 0


def cmd_export(args):
    from autograder.grading.export import export_grades
    from autograder.grading.feedback import regenerate_feedback

    settings = _settings(args)
    count = regenerate_feedback(settings, args.assignment or course_assignments(settings))
    print(f"feedback regenerated from the gradebook: {count} file(s) under feedback/")
    for path in export_grades(settings):
        print(f"wrote {path}")
    return 0


def cmd_return_feedback(args):
    from autograder.grading.feedback import return_feedback

    settings = _settings(args)
    assignments = args.assignment or course_assignments(settings)
    return_feedback(settings, assignments)
    print(f"feedback of {', '.join(assignments)} is in the exchange: students fetch it from the Assignments tab")
    return 0


def cmd_demo(args):
    from autograder.demo import run_demo

    run_demo(_settings(args), jobs=args.jobs, bug_samples=args.bug_samples)
    return 0


def parser():
    p = argparse.ArgumentParser(prog="python -m autograder", description=__doc__.splitlines()[0])
    p.add_argument("--root", type=Path, default=Path.cwd(), help="course directory (default: current)")
    p.add_argument("--cell-timeout", type=int, help="seconds per cell while grading (default: the course config)")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, func, help_text, assignment=True, jobs=False):
        cmd = sub.add_parser(name, help=help_text)
        if assignment:
            cmd.add_argument("--assignment", action="append", help="only this assignment (repeatable)")
        if jobs:
            cmd.add_argument("--jobs", type=int, help="parallel grading processes (default: number of cores)")
            cmd.add_argument("--no-sandbox", action="store_true",
                             help="run submissions without the bubblewrap sandbox (trusted code only)")
        cmd.set_defaults(func=func)
        return cmd

    add("validate", cmd_validate, "solutions pass every test; released stubs fail every test", jobs=True)
    add("release", cmd_release, "write student versions to release/<assignment>/")
    roster = add("roster", cmd_roster, "add students (CSV: student_id, first_name, last_name, email)",
                 assignment=False)
    roster.add_argument("csv", type=Path)
    due = add("duedate", cmd_duedate, "set an assignment's due date (late submissions follow "
                                      "c.LateSubmissionPlugin in nbgrader_config.py)", assignment=False)
    due.add_argument("name", help="assignment")
    due.add_argument("due", help='e.g. "2027-02-01 17:00:00 UTC"')
    grade = add("grade", cmd_grade, "autograde DIR/<student>/<assignment>/*.ipynb, feedback, grades.csv", jobs=True)
    grade.add_argument("--submissions", type=Path, help="submissions folder (default: submitted/)")
    grade.add_argument("--student", action="append", help="only this student (repeatable)")
    grade.add_argument("--force", action="store_true", help="regrade even the submissions that are current")
    grade.add_argument("--public-seed", action="store_true",
                       help=f"grade with the public default hidden seed when {HIDDEN_SEED_ENV} is unset (demos, tests)")
    grade.add_argument("--no-progress", action="store_true", help="no progress bar")
    add("export", cmd_export, "after hand grading: regenerate feedback, write grades.csv and the summaries")
    add("return-feedback", cmd_return_feedback, "put feedback in nbgrader's exchange for students to fetch")
    demo = add("demo", cmd_demo, "the whole loop on generated sample submissions", assignment=False, jobs=True)
    demo.add_argument("--bug-samples", type=int, default=1, help="typical-bug students per assignment (default 1)")
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    prepare_grading_process()
    try:
        return args.func(args)
    except (SandboxUnavailable, CommandError, ConfigError, RosterError) as error:
        print(f"cannot {args.command}: {error}", file=sys.stderr)
        return 3
