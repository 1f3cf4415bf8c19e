"""The score table printed after grading (`grade`, `demo`), read from the gradebook as it is now."""
import textwrap

from nbgrader.api import Gradebook

from autograder.grading.export import waits_for_a_human

NOTE_WIDTH = 72


def _standing(gb, assignment, student):
    """(score after late penalty, max score, late penalty, points of answers still to grade by hand)."""
    submission = gb.find_submission(assignment, student)
    waiting = sum(grade.max_score for notebook in submission.notebooks for grade in notebook.grades
                  if waits_for_a_human(grade))
    penalty = submission.late_submission_penalty or 0.0
    return submission.score - penalty, submission.max_score, penalty, waiting


def score_table(settings, results):
    """Rows 'student  assignment  score/max  late  by hand  notes' for the submissions in `results`
    ({(assignment, student): GradingResult}), sorted by assignment then student.

    `by hand` is the points of written answers still waiting for the instructor in the
    formgrader, so a perfect submission shows e.g. 22/25 with 3 points to grade by hand;
    `late` is the penalty already taken off the score. Notes are the grader's notices, whole
    and wrapped.
    """
    header = ("student", "assignment", "score", "late", "by hand")
    rows = []
    with Gradebook(settings.db_url, settings.course_id) as gb:
        for (assignment, student), result in sorted(results.items()):
            score, max_score, penalty, waiting = _standing(gb, assignment, student)
            rows.append(((student, assignment, f"{score:g}/{max_score:g}", f"-{penalty:g}" if penalty else "",
                          f"{waiting:g} pts" if waiting else ""), result.notices))
    widths = [max(len(cells[i]) for cells in [header] + [c for c, _ in rows]) for i in range(len(header))]

    def line(cells, note=""):
        return "  ".join(f"{cell:<{w}}" if i < 2 else f"{cell:>{w}}" for i, (cell, w) in
                         enumerate(zip(cells, widths))) + (f"  {note}" if note else "")

    out = [line(header, "notes")]
    indent = " " * (sum(widths) + 2 * len(widths))
    for cells, notices in rows:
        notes = [part for notice in notices for part in textwrap.wrap(notice, NOTE_WIDTH)] or [""]
        out.append(line(cells, notes[0]))
        out.extend(indent + part for part in notes[1:])
    return "\n".join(out)
