"""The instructor's day in nbgrader's formgrader: the gradebook of a graded batch agrees with
grades.csv, and a written answer graded by hand reaches grades.csv after an export."""
import csv
import re
import subprocess
import sys

import pytest
from playwright.sync_api import expect

from autograder.grading.cells import cells_by_grade_id
from autograder.grading.course import read_notebook, source_notebooks
from autograder.grading.feedback import UNGRADED_TEXT
from courses import BUG_STUDENT, FIXTURE_STUDENTS, WRITTEN_ANSWER_NOTEBOOK
from lab_ui import log_in
from support.fixture_course import ASSIGNMENT

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]

WRITTEN_NB = WRITTEN_ANSWER_NOTEBOOK
WRITTEN_ANSWER = "jacobian_question"  # a markdown cell graded by hand


def grades_csv(settings):
    """(assignment, student_id) -> (score, max_score) of every submission in grades.csv
    (its rows for students who did not submit an assignment have no score)."""
    with open(settings.grades_csv, newline="") as f:
        return {(row["assignment"], row["student_id"]): (float(row["score"]), float(row["max_score"]))
                for row in csv.DictReader(f) if row["score"]}


def export_after_hand_grading(settings):
    """`python -m autograder export` in the course: feedback regenerated, grades.csv rewritten."""
    command = [sys.executable, "-m", "autograder", "--root", str(settings.root), "export"]
    result = subprocess.run(command, cwd=settings.root, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}"


def written_feedback(settings):
    """The HTML feedback of the perfect notebook-01 student, as a string."""
    folder = settings.output_dir("feedback", "perfect", WRITTEN_NB)
    return (folder / f"{WRITTEN_NB}.html").read_text()


def formgrader_submission_rows(page):
    """student id -> (score, max score) as the formgrader's submissions table shows them."""
    rows = {}
    for row in page.locator("#main-table tr").all():
        score = re.fullmatch(r"([\d.]+) / ([\d.]+)", row.locator(".score").inner_text().strip())
        assert score, row.inner_text()
        rows[row.locator(".student-id").inner_text().strip()] = (float(score[1]), float(score[2]))
    return rows


def test_the_formgrader_lists_every_student_with_the_scores_of_grades_csv(
        graded_course, instructor_lab, page, screenshots):
    expected = {student: scores for (assignment, student), scores in grades_csv(graded_course).items()
                if assignment == ASSIGNMENT}
    assert set(expected) == set(FIXTURE_STUDENTS)
    assert expected["perfect"][0] == expected["perfect"][1] > expected[BUG_STUDENT][0] > expected["blank"][0]

    log_in(page, instructor_lab, f"/formgrader/manage_submissions/{ASSIGNMENT}")
    expect(page.locator("#main-table .student-id")).to_have_count(len(expected))
    for student in expected:
        expect(page.locator("#main-table")).to_contain_text(student)
    assert formgrader_submission_rows(page) == expected
    screenshots.save(page, "04-formgrader-gradebook", page.locator(".breadcrumb"), page.locator("table.table"),
                     readme_name="formgrader-gradebook.png")


def open_the_submission_to_grade_by_hand(page, server):
    """Manual Grading -> the notebook -> its one submission, through the formgrader's links."""
    log_in(page, server, f"/formgrader/gradebook/{WRITTEN_NB}/{WRITTEN_NB}")
    # names are hidden by default (blind grading): the one submission is "Submission #1"
    link = page.locator("#main-table").get_by_role("link", name="Submission #1")
    expect(link).to_have_count(1)
    link.click()
    return page.locator(f"input.score#{WRITTEN_ANSWER}")


def written_answer_points(settings):
    source = read_notebook(source_notebooks(settings, WRITTEN_NB)[0])
    return float(cells_by_grade_id(source)[WRITTEN_ANSWER].metadata.nbgrader.points)


def test_a_written_answer_graded_by_hand_reaches_grades_csv(graded_course, instructor_lab, page, screenshots):
    points = written_answer_points(graded_course)
    before, max_score = grades_csv(graded_course)[(WRITTEN_NB, "perfect")]
    # every autograded test passed; only the written answer waits for its points
    assert before + points == max_score
    assert UNGRADED_TEXT in written_feedback(graded_course)

    score_box = open_the_submission_to_grade_by_hand(page, instructor_lab)
    expect(score_box).to_be_visible()
    expect(score_box).to_have_class(re.compile("needs_manual_grade"))
    score_box.click()
    page.keyboard.type(f"{points:g}")
    # the formgrader saves a score when the box loses focus ("change"): wait for that save
    with page.expect_response(lambda r: "/formgrader/api/grade/" in r.url and r.request.method == "PUT") as saved:
        page.keyboard.press("Tab")
    assert saved.value.ok
    expect(score_box).to_have_value(f"{points:g}")
    expect(score_box).not_to_have_class(re.compile("needs_manual_grade"))
    screenshots.save(page, "04-formgrader-written-answer", page.locator(f"input.score#{WRITTEN_ANSWER}")
                     .locator("xpath=ancestor::div[contains(@class, 'nbgrader_cell')][1]"))

    export_after_hand_grading(graded_course)
    assert grades_csv(graded_course)[(WRITTEN_NB, "perfect")] == (max_score, max_score)
    assert UNGRADED_TEXT not in written_feedback(graded_course)
