"""Feedback after hand grading: regenerate it from the gradebook, return it to students.

nbgrader's feedback shows every graded cell as "Score: x / points"; a written answer that
no one has graded yet would read "0 / 3". `GetGradesMarkingUngraded` gives such a cell a
NaN score, which the template prints as "nan", and `say_not_graded_yet` rewrites that in the
written HTML as "not graded yet".
"""
import math
from pathlib import Path

from nbgrader.preprocessors import GetGrades

from autograder.grading.export import waits_for_a_human

UNGRADED_SCORE = "Score: nan /"
UNGRADED_TEXT = "Score: not graded yet /"


class GetGradesMarkingUngraded(GetGrades):
    """nbgrader's GetGrades, with a NaN score for answers still waiting for a human."""

    def _get_score(self, cell, resources):
        super()._get_score(cell, resources)
        grade = self.gradebook.find_grade(cell.metadata["nbgrader"]["grade_id"], self.notebook_id,
                                          self.assignment_id, self.student_id)
        if waits_for_a_human(grade):
            cell.metadata.nbgrader["score"] = math.nan


def say_not_graded_yet(feedback_dir):
    """Rewrite the NaN scores of ungraded answers in every feedback HTML file under `feedback_dir`."""
    for page in Path(feedback_dir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if UNGRADED_SCORE in text:
            page.write_text(text.replace(UNGRADED_SCORE, UNGRADED_TEXT), encoding="utf-8")


def regenerate_feedback(settings, assignments):
    """Feedback of every graded submission of `assignments` from the gradebook as it is now
    (hand grades and comments included). Returns the number of feedback files written."""
    from autograder.grading.release import nbgrader_api

    api = nbgrader_api(settings)
    for assignment in assignments:
        result = api.generate_feedback(assignment, force=True)
        if not result["success"]:
            raise RuntimeError(f"feedback for {assignment} failed:\n{result.get('log', '')}{result.get('error', '')}")
    feedback_root = Path(settings.root) / "feedback"
    say_not_graded_yet(feedback_root)
    return sum(1 for a in assignments for _ in feedback_root.glob(f"*/{a}/*.html"))


def return_feedback(settings, assignments):
    """Put each student's feedback in nbgrader's exchange (nbgrader release_feedback), where the
    student fetches it from the Assignments tab. Needs c.Exchange.root in nbgrader_config.py."""
    from autograder.grading.release import nbgrader_api

    api = nbgrader_api(settings)
    for assignment in assignments:
        result = api.release_feedback(assignment)
        if not result["success"]:
            raise RuntimeError(f"returning feedback for {assignment} failed:\n{result.get('log', '')}"
                               f"{result.get('error', '')}")
