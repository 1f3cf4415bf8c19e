"""The score table printed after grading (`grade`, `demo`)."""


def _points_to_grade_by_hand(result):
    return sum(max_score for grades in result.grades.values()
               for _, max_score, needs_manual in grades.values() if needs_manual)


def score_table(results):
    """Rows 'student  assignment  score/max  by hand  note' sorted by assignment then student.

    `by hand` is the points of written answers waiting for the instructor in the Formgrader,
    so a perfect submission shows e.g. 22/25 with 3 points still to grade by hand.
    """
    rows = [("student", "assignment", "score", "by hand", "note")]
    for (assignment, student), r in sorted(results.items()):
        note = r.notices[0] if r.notices else ""
        pending = _points_to_grade_by_hand(r)
        rows.append((student, assignment, f"{r.score:g}/{r.max_score:g}",
                     f"{pending:g} pts" if pending else "", note[:90]))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}  {row[3]:>{widths[3]}}  {row[4]}"
        for row in rows
    )
