"""No grade is ever lost: SIGKILL the grader mid-batch, rerun, compare with a clean run."""
import csv
import os
import signal
import subprocess
import sys
import time

import pytest

from autograder.grading import samples
from autograder.grading.pipeline import grade
from support.fixture_course import ASSIGNMENT, POINTS, expected_scores, gradebook_scores, make_course, write_students

pytestmark = pytest.mark.slow  # grades with the real nbgrader


def _wait_for_entries(folder, count, process, timeout_s=240):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if len(list(folder.glob("*.json"))) >= count:
            return
        time.sleep(0.2)
    raise AssertionError(f"grader did not record {count} students in {timeout_s} s (exit {process.poll()})")


def _clean_run_scores(settings):
    """What a clean run gives each sample student (asserted against real runs in test_pipeline)."""
    source = samples.course.read_notebook(samples.course.source_notebooks(settings, ASSIGNMENT)[0])
    scores = {"perfect": expected_scores(), "blank": expected_scores(lost=POINTS),
              "tampered": expected_scores(lost=POINTS), "forging": expected_scores(lost=POINTS)}
    for solution_id, tests in samples.exercise_tests(source).items():
        scores[f"bug-{solution_id}"] = expected_scores(lost=tests)
    return scores


def test_sigkill_mid_batch_then_rerun_loses_nothing(tmp_path):
    settings = make_course(tmp_path)
    students = samples.build_samples(settings, ASSIGNMENT)
    write_students(settings, students)
    ledger_dir = settings.ledger_dir / ASSIGNMENT
    # the same settings as the in-process rerun below: other settings would (rightly) regrade
    command = [sys.executable, "-m", "autograder", "--root", str(settings.root),
               "--cell-timeout", str(settings.cell_timeout_s), "grade", "--jobs", "1", "--no-progress", "--public-seed"]
    process = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_entries(ledger_dir, 2, process)
    finally:
        os.killpg(process.pid, signal.SIGKILL)  # the grader, its worker and the kernel, mid-batch
        process.wait()

    recorded = {p.stem: (p.read_bytes(), p.stat().st_mtime_ns) for p in ledger_dir.glob("*.json")}
    assert 2 <= len(recorded) < len(students)
    before = gradebook_scores(settings)

    rerun = grade(settings, jobs=2, progress=False)

    assert set(rerun).isdisjoint({(ASSIGNMENT, s) for s in recorded})  # graded ones were skipped
    assert {p.stem: (p.read_bytes(), p.stat().st_mtime_ns) for p in ledger_dir.glob("*.json")
            if p.stem in recorded} == recorded
    after = gradebook_scores(settings)
    for (student, test), value in before.items():
        if student in recorded:
            assert after[(student, test)] == value
    final = {s: {t: after[(s, t)][0] for t in POINTS} for s in students}
    assert final == _clean_run_scores(settings)
    with open(settings.root / "grades.csv") as fh:
        assert {row["student_id"] for row in csv.DictReader(fh)} == set(students)
