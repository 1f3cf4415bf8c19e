"""nbgrader round trip on the fixture assignment: release, autograde, feedback, grades.csv, validate."""
import csv

import pytest

from autograder.check import environment
from autograder.grading import ledger, samples
from autograder.grading.pipeline import grade
from autograder.grading.validate import validate
from support.fixture_course import (
    ASSIGNMENT,
    NOTEBOOK,
    POINTS,
    cell_scores,
    expected_scores,
    gradebook_scores,
    make_course,
    write_students,
)

# grades with the real nbgrader; one xdist worker builds the module's batch (make test: --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fixture_pipeline")]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    settings = make_course(tmp_path_factory.mktemp("course"))
    students = samples.build_samples(settings, ASSIGNMENT)
    write_students(settings, students)
    results = grade(settings, jobs=2, progress=False)
    return settings, students, results


def test_the_demo_students_are_all_graded(graded):
    settings, students, results = graded
    assert {s for _, s in results} == set(students) == {"perfect", "blank", "tampered", "forging", "bug-relu",
                                                          "bug-square"}


def test_solution_scores_full_marks_and_blank_scores_zero_on_every_test(graded):
    _, _, results = graded
    assert cell_scores(results[(ASSIGNMENT, "perfect")]) == expected_scores()
    assert cell_scores(results[(ASSIGNMENT, "blank")]) == expected_scores(lost=POINTS)


@pytest.mark.parametrize("solution_id", ["relu", "square"])
def test_a_typical_bug_loses_exactly_its_exercise(graded, solution_id):
    settings, _, results = graded
    source = samples.course.read_notebook(samples.course.source_notebooks(settings, ASSIGNMENT)[0])
    lost = samples.exercise_tests(source)[solution_id]
    assert lost  # the fixture maps every exercise to its test cell
    assert cell_scores(results[(ASSIGNMENT, f"bug-{solution_id}")]) == expected_scores(lost=lost)


def test_forging_sample_earns_nothing_and_sees_the_judges_messages(graded):
    settings, _, results = graded
    result = results[(ASSIGNMENT, "forging")]
    assert cell_scores(result) == expected_scores(lost=POINTS)
    # its kernel printed "✓" for every check; the feedback shows what the judge recorded instead
    html = (settings.root / "feedback" / "forging" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "✓" not in html and html.count("is not implemented yet") >= len(POINTS)


def test_tampered_sample_earns_nothing_and_is_told_why(graded):
    _, _, results = graded
    result = results[(ASSIGNMENT, "tampered")]
    assert result.score == 0
    assert any("np.allclose" in n for n in result.notices)
    assert any("autograder.check" in n for n in result.notices)


def test_gradebook_holds_every_grade_with_no_manual_grading_left(graded):
    settings, students, _ = graded
    scores = gradebook_scores(settings)
    assert len(scores) == len(students) * len(POINTS)
    assert not any(needs_manual for _, needs_manual in scores.values())
    assert scores[("perfect", "test_square")][0] == POINTS["test_square"]


def test_grades_csv_uses_nbgrader_export_format(graded):
    settings, students, results = graded
    with open(settings.root / "grades.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert {"assignment", "student_id", "raw_score", "score", "max_score", "timestamp"} <= set(rows[0])
    by_student = {row["student_id"]: row for row in rows}
    assert set(by_student) == set(students)
    for (_, student), result in results.items():
        assert float(by_student[student]["score"]) == result.score
        assert float(by_student[student]["max_score"]) == sum(POINTS.values())


def test_feedback_html_hides_hidden_tests(graded):
    settings, _, _ = graded
    html = (settings.root / "feedback" / "perfect" / ASSIGNMENT / NOTEBOOK.replace(".ipynb", ".html")).read_text()
    assert "selftest.relu_forward" in html  # the visible check is shown
    assert "hidden=True" not in html and "HIDDEN TESTS" not in html


def test_autograded_notebooks_are_in_the_course(graded):
    settings, students, _ = graded
    for student in students:
        assert (settings.root / "autograded" / student / ASSIGNMENT / NOTEBOOK).is_file()


def test_rerun_skips_every_graded_submission(graded):
    settings, students, _ = graded
    before = gradebook_scores(settings)
    assert grade(settings, jobs=2, progress=False) == {}
    assert gradebook_scores(settings) == before
    for student in students:
        folder = settings.root / "submitted" / student / ASSIGNMENT
        assert ledger.read_entry(settings, ASSIGNMENT, student)["key"] == ledger.submission_key(folder)


def test_validate_accepts_the_fixture_and_reports_every_test_cell(tmp_path):
    settings = make_course(tmp_path)
    verdicts, problems = validate(settings, jobs=2)
    assert problems == []
    assert {(v.grade_id, v.run) for v in verdicts} == {(t, r) for t in POINTS for r in ("solution", "stub")}


def test_validate_reports_a_test_that_asks_the_judge_nothing(tmp_path):
    settings = make_course(tmp_path)
    path = settings.root / "notebooks" / ASSIGNMENT / NOTEBOOK
    nb = samples.course.read_notebook(path)
    test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_square")
    test.source = "assert True"  # passes in any kernel; the judge was never asked, so it scores 0
    samples.nbformat.write(nb, str(path))
    verdicts, problems = validate(settings, jobs=2)
    assert [(v.grade_id, v.run) for v in verdicts if not v.ok] == [("test_square", "solution")]
    assert any("test_square: calls no check(...)" in p for p in problems)


def test_is_autograding_follows_nbgraders_environment_variable(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert not environment.is_autograding()
    for value in ("autograde", "validate"):
        monkeypatch.setenv("NBGRADER_EXECUTION", value)
        assert environment.is_autograding()
