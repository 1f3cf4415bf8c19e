"""An instructor's term, end to end through the command line with the real nbgrader: one
configuration file, a roster, a due date with a late penalty, hand grading, export with
feedback, a points change that regrades, --student and --force, and the hidden-seed guard.
"""
import csv
import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook

from autograder import cli
from autograder.grading import ledger, samples
from autograder.grading.course import load_course
from support.fixture_course import ASSIGNMENT, FIXTURE_COURSE, NOTEBOOK, write_students

# grades with the real nbgrader; one xdist worker runs the term in order (make test: --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("semester")]

WRITTEN = "explain_relu"
WRITTEN_POINTS = 2.0
AUTOGRADED_POINTS = 5.0
CONFIG = '''c = get_config()
c.CourseDirectory.course_id = "spring-course"
c.CourseSettings.cell_timeout_s = 20
c.LateSubmissionPlugin.penalty_method = "zero"
from autograder.grading.config import apply_course_config
apply_course_config(c)
'''
ROSTER = [("alice", "Alice", "Able", "alice@example.edu"), ("bob", "Bob", "Baker", "bob@example.edu"),
          ("carol", "Carol", "Cole", "carol@example.edu"), ("dave", "Dave", "Dunn", "dave@example.edu")]
DUE = "2024-01-02 00:00:00 UTC"
LATE = "2024-01-03 09:30:00.000000 UTC"


def _with_written_answer(source_path):
    """The fixture's source notebook plus a written answer graded by hand."""
    nb = nbformat.read(str(source_path), as_version=4)
    answer = new_markdown_cell("ReLU passes the gradient where its input was positive.", metadata={"nbgrader": {
        "grade": True, "solution": True, "locked": False, "points": WRITTEN_POINTS, "grade_id": WRITTEN,
        "schema_version": 3}})
    nb.cells.insert(len(nb.cells) - 1, answer)
    nbformat.write(nb, str(source_path))


def _run(capsys, *argv):
    """(exit code, stdout + stderr) of `python -m autograder ARGV`."""
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _csv(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _feedback(root, student):
    return (root / "feedback" / student / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()


@pytest.fixture(scope="module")
def term(tmp_path_factory):
    """A course folder with its own nbgrader_config.py, a roster and four students (dave never submits)."""
    root = tmp_path_factory.mktemp("term")
    shutil.copytree(FIXTURE_COURSE / "notebooks", root / "notebooks")
    _with_written_answer(root / "notebooks" / ASSIGNMENT / NOTEBOOK)
    (root / "nbgrader_config.py").write_text(CONFIG)
    with open(root / "roster.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", "first_name", "last_name", "email"])
        writer.writerows(ROSTER)
    return root


def test_the_term(term, capsys, monkeypatch):
    root = term
    settings = load_course(root)
    assert settings.course_id == "spring-course" and settings.cell_timeout_s == 20

    code, out = _run(capsys, "--root", str(root), "roster", str(root / "roster.csv"))
    assert code == 0, out
    code, out = _run(capsys, "--root", str(root), "duedate", ASSIGNMENT, DUE)
    assert code == 0, out

    students = samples.build_samples(settings, ASSIGNMENT)
    write_students(settings, {"alice": students["perfect"], "bob": students["bug-relu"],
                              "carol": students["perfect"]})
    samples.write_submission(settings.default_submissions, "carol", ASSIGNMENT, students["perfect"], timestamp=LATE)

    # the seed guard: no secret, no grading
    monkeypatch.delenv("AUTOGRADER_HIDDEN_SEED", raising=False)
    code, out = _run(capsys, "--root", str(root), "grade")
    assert code == 3 and "AUTOGRADER_HIDDEN_SEED is not set" in out and "--public-seed" in out
    assert not (root / "grades.csv").exists()

    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "spring-secret")
    code, out = _run(capsys, "--root", str(root), "grade", "--jobs", "2", "--no-progress")
    assert code == 0, out
    assert "carol" in out and "-5" in out  # the summary shows the late penalty
    assert f"{WRITTEN_POINTS:g} pts" in out  # and what still waits for hand grading

    rows = {(r["student_id"]): r for r in _csv(root / "grades.csv")}
    assert rows["alice"]["score"] == "5" and rows["alice"]["status"] == "waiting for hand grading"
    assert rows["alice"]["email"] == "alice@example.edu" and rows["alice"]["last_name"] == "Able"
    assert rows["bob"]["score"] == "3"  # the ReLU bug loses test_relu's 2 points
    assert rows["carol"]["raw_score"] == "5" and rows["carol"]["late_submission_penalty"] == "5"
    assert rows["carol"]["score"] == "0"
    assert rows["dave"]["status"] == "not submitted" and rows["dave"]["score"] == ""
    wide = {r["student_id"]: r for r in _csv(root / "grades_by_student.csv")}
    assert wide["dave"][ASSIGNMENT] == "not submitted" and wide["carol"][f"{ASSIGNMENT} late penalty"] == "5"
    summary = _csv(root / "grades_summary.csv")[0]
    assert (summary["students"], summary["submitted"], summary["median"]) == ("4", "3", "3")
    assert (root / f"grades_{ASSIGNMENT}.png").stat().st_size > 1000
    assert "not graded yet" in _feedback(root, "alice")

    # hand grading (what the formgrader does), then the one export command
    with Gradebook(settings.db_url, settings.course_id) as gb:
        gb.find_grade(WRITTEN, NOTEBOOK.removesuffix(".ipynb"), ASSIGNMENT, "alice").manual_score = WRITTEN_POINTS
        gb.db.commit()
    code, out = _run(capsys, "--root", str(root), "export")
    assert code == 0, out
    rows = {r["student_id"]: r for r in _csv(root / "grades.csv")}
    assert rows["alice"]["score"] == "7" and rows["alice"]["status"] == "graded"
    alice_feedback = _feedback(root, "alice")
    assert "not graded yet" not in alice_feedback and "Score: 2.0 / 2.0" in alice_feedback

    # nothing changed: nothing is regraded
    code, out = _run(capsys, "--root", str(root), "grade", "--no-progress")
    assert code == 0 and "nothing to grade" in out

    # a points change in the source: every submission of the assignment is regraded, hand grade kept
    source = root / "notebooks" / ASSIGNMENT / NOTEBOOK
    text = json.loads(source.read_text())
    for cell in text["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "test_square":
            cell["metadata"]["nbgrader"]["points"] = 4
    source.write_text(json.dumps(text, indent=1))
    code, out = _run(capsys, "--root", str(root), "grade", "--jobs", "2", "--no-progress")
    assert code == 0, out
    assert "regrading 3 submission(s): the assignment, its checks or the grading settings changed" in out
    rows = {r["student_id"]: r for r in _csv(root / "grades.csv")}
    assert rows["alice"]["score"] == "8" and rows["alice"]["max_score"] == "8"  # 2 + 4 auto, 2 by hand
    assert rows["alice"]["status"] == "graded"
    assert rows["bob"]["score"] == "4"

    # --student with --force regrades that student only
    before = ledger.read_entry(settings, ASSIGNMENT, "alice")
    code, out = _run(capsys, "--root", str(root), "grade", "--student", "bob", "--force", "--no-progress")
    assert code == 0, out
    assert "bob" in out and "alice" not in out
    assert ledger.read_entry(settings, ASSIGNMENT, "alice") == before

    # another hidden seed: flagged, and everyone is regraded with it
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "a-different-secret")
    code, out = _run(capsys, "--root", str(root), "grade", "--jobs", "2", "--no-progress")
    assert code == 0, out
    assert "regrading 3 submission(s): graded with a different hidden seed" in out
