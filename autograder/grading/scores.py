"""Every test cell's score from the judge's record, never from what the kernel printed or raised.

After nbgrader has executed a submission (and saved scores from the outputs, as it always
does), `apply_judge_scores` overwrites them: a test cell gets its points only if every check
its *source* calls (`cells.checks`: visible and hidden, by exercise id) has a verdict from the
judge recorded while that cell ran, and all of them passed; otherwise 0. A check the kernel
never asked for (a cell skipped, swallowed, stopped early or changed) counts as failed. The
cell's outputs in the graded notebook, which the feedback shows, become the judge's messages.
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_output
from nbgrader.api import Gradebook

from autograder.grading import cells, course

NEVER_ASKED = ("your notebook never asked the judge for this check while this cell ran (the cell "
               "did not run, stopped before it, or was changed), so the cell scores 0.")


NOT_REACHED = "not run: a check above it in this cell failed first."
KERNEL_OUTPUTS_FOLLOW = "\nWhat this cell printed when your notebook ran it (the score above does not depend on it):\n"


def judged_cell(checks, verdicts, kernel_outputs=()):
    """(passed, outputs) of a test cell calling `checks` [(exercise_id, hidden)], from the
    judge's `verdicts` recorded while it ran. outputs (what the feedback shows) are the judge's
    messages; when a check was never asked for, the kernel's own outputs follow, since they
    usually say why (a NameError, an interrupted cell)."""
    lines, passed, never_asked, stopped = [], bool(checks), False, False
    for exercise_id, hidden in checks:
        label = f"{exercise_id} (hidden tests)" if hidden else exercise_id
        mine = [v for v in verdicts if (v.exercise_id, v.hidden) == (exercise_id, hidden)]
        failed = next((v for v in mine if not v.passed), None)
        if mine and failed is None:
            plural = "" if mine[0].cases == 1 else "s"
            lines.append(f"✓ {label}: {mine[0].cases} case{plural} passed")
        elif failed is not None:
            passed, stopped = False, True
            lines.append(f"✗ {label}: {failed.message}")
        elif stopped:  # a failed check raises, so the cell's later checks never run
            lines.append(f"✗ {label}: {NOT_REACHED}")
        else:
            passed, never_asked = False, True
            lines.append(f"✗ {label}: {NEVER_ASKED}")
    if passed:
        return True, [new_output("stream", name="stdout", text="\n".join(lines) + "\n")]
    first_failure = next(line for line in lines if line.startswith("✗")) if checks else "no checks"
    outputs = [new_output("error", ename="CheckFailed", evalue=first_failure, traceback=lines)]
    if never_asked and kernel_outputs:
        outputs.append(new_output("stream", name="stdout", text=KERNEL_OUTPUTS_FOLLOW))
        outputs.extend(kernel_outputs)
    return False, outputs


def apply_judge_scores(db_url, assignment, student, source_paths, autograded_dir, verdicts):
    """Set the auto score of every test cell of the graded notebooks in `autograded_dir` from
    the judge's `verdicts` (judge_service.Verdict), in the gradebook at `db_url`, and put the
    judge's messages in those cells' outputs."""
    with Gradebook(db_url) as gb:
        for source_path in source_paths:
            graded_path = Path(autograded_dir) / source_path.name
            if not graded_path.exists():
                continue  # not submitted: nbgrader already recorded 0
            tests = cells.cells_by_grade_id(course.read_notebook(source_path), cells.is_test)
            nb = nbformat.read(str(graded_path), as_version=4)
            for index, cell in enumerate(nb.cells):
                grade_id = cells.grade_id(cell)
                if grade_id not in tests:
                    continue
                ran_here = [v for v in verdicts if v.notebook == source_path.stem and v.cell == index]
                passed, cell.outputs = judged_cell(cells.checks(tests[grade_id]), ran_here, cell.outputs)
                grade = gb.find_grade(grade_id, source_path.stem, assignment, student)
                grade.auto_score = grade.max_score if passed else 0.0
                grade.needs_manual_grade = False
            graded_path.chmod(0o644)  # nbgrader writes its outputs read-only
            nbformat.write(nb, str(graded_path))
        gb.db.commit()
