"""Turn a raw submitted notebook into the copy nbgrader grades.

The student's file is never modified; what nbgrader sees is a staged copy where
- nbgrader metadata comes from the source notebook (a student cannot turn a test cell
  into a manually graded one, change points, or duplicate an id), and all other cell
  metadata is dropped (a `skip-execution` tag would make nbclient skip a test cell);
- a locked cell (a test, a given read-only cell) deleted from the submission is put back
  after the source cell that precedes it (nbgrader's own restore fails when that cell is
  a read-only one, and the whole submission would then score 0);
- each cell the static scan flags is replaced by a `raise` carrying the reason;
- a file that is not a readable notebook becomes a stand-in whose cells all raise
  the reason, so the student gets feedback and a recorded 0.
"""
import copy
from dataclasses import dataclass, field

import nbformat
from nbformat.v4 import new_markdown_cell

from autograder.grading.cells import BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS, grade_id, is_restored, is_solution_code
from autograder.grading.tamper import defined_names, import_bindings, notebook_aliases, scan_cell

MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024
NOTICE_TITLE = "**Autograder notice**"


@dataclass(frozen=True)
class SourceProfile:
    """What staging needs from an assignment's source notebook.

    nbgrader_meta: grade_id -> the source cell's nbgrader metadata (no checksum)
    locked_ids: grade ids nbgrader restores from the source (tests, read-only cells)
    required_names: names the student's solution cells must define themselves
    protected_names: name -> origin, for what locked cells import (test cells rely on them)
    notebook_metadata: the source notebook's top-level metadata
    grade_ids: every grade id of the source, in notebook order
    locked_cells: grade_id -> the source's locked cell (put back when a submission lacks it)
    """

    nbgrader_meta: dict
    locked_ids: frozenset
    required_names: frozenset
    protected_names: dict = field(default_factory=dict)
    notebook_metadata: dict = field(default_factory=dict)
    grade_ids: tuple = ()
    locked_cells: dict = field(default_factory=dict)


def source_profile(source_nb):
    meta, locked, required, protected, locked_cells = {}, set(), set(), {}, {}
    for cell in source_nb.cells:
        if not grade_id(cell):
            continue
        meta[grade_id(cell)] = {k: v for k, v in cell.metadata["nbgrader"].items() if k != "checksum"}
        if is_restored(cell):
            locked.add(grade_id(cell))
            locked_cells[grade_id(cell)] = copy.deepcopy(cell)
            if cell.cell_type == "code":
                protected.update(import_bindings(cell.source))
        if is_solution_code(cell):
            required |= defined_names(cell.source)
    return SourceProfile(meta, frozenset(locked), frozenset(required), protected, dict(source_nb.metadata),
                         tuple(meta), locked_cells)


def read_submission(path):
    """(notebook, None) for a readable notebook, else (None, reason for the student)."""
    try:
        size = path.stat().st_size
        if size > MAX_NOTEBOOK_BYTES:
            return None, f"the file is {size // (1024 * 1024)} MB, above the {MAX_NOTEBOOK_BYTES // (1024 * 1024)} MB limit"
        nb = nbformat.read(str(path), as_version=4)
        nbformat.validate(nb)
        return nb, None
    except Exception as error:  # any unreadable file is a student outcome, not a grader crash
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return None, f"the file is not a valid notebook ({type(error).__name__}: {first_line[:200]})"


def disabled_source(reason, original=""):
    """Code that raises `reason`, followed by the original cell commented out."""
    message = f"autograder: this cell was not run: {reason}"
    lines = [f"raise RuntimeError({message!r})"]
    if original.strip():
        lines.append("# Your original cell, kept for reference:")
        lines += ["# " + line for line in original.splitlines()]
    return "\n".join(lines)


def add_notice(nb, notices):
    """Insert (or extend) the markdown notice cell at the top of a staged notebook."""
    text = NOTICE_TITLE + "\n\n" + "\n".join(f"- {n}" for n in notices)
    nb.cells.insert(0, new_markdown_cell(text))


def _normalized_metadata(nb, profile):
    """Cell metadata reduced to the source's nbgrader metadata (last duplicate wins, like nbgrader)."""
    last_index = {}
    for index, cell in enumerate(nb.cells):
        if grade_id(cell) in profile.nbgrader_meta:
            last_index[grade_id(cell)] = index
    for index, cell in enumerate(nb.cells):
        gid = grade_id(cell)
        keep = gid in profile.nbgrader_meta and last_index[gid] == index
        cell.metadata = {"nbgrader": copy.deepcopy(profile.nbgrader_meta[gid])} if keep else {}
        cell.pop("attachments", None) if cell.cell_type == "code" else None


def _is_restored(cell, profile):
    return grade_id(cell) in profile.locked_ids


def _put_back_missing_locked_cells(nb, profile):
    """Insert each locked source cell the submission lacks after the nearest source cell before
    it that the submission has (at the top if none); returns the grade ids put back."""
    put_back = []
    for position, gid in enumerate(profile.grade_ids):
        present = {grade_id(c): i for i, c in enumerate(nb.cells) if grade_id(c)}
        if gid in present or gid not in profile.locked_cells:
            continue
        before = next((present[g] for g in reversed(profile.grade_ids[:position]) if g in present), -1)
        cell = copy.deepcopy(profile.locked_cells[gid])
        cell.metadata = {"nbgrader": copy.deepcopy(profile.nbgrader_meta[gid])}
        nb.cells.insert(before + 1, cell)
        put_back.append(gid)
    return put_back


def stage_notebook(submitted_nb, profile):
    """(staged notebook, notices): the copy to grade and what the student is told about it."""
    nb = copy.deepcopy(submitted_nb)
    nb.metadata = copy.deepcopy(profile.notebook_metadata)
    _normalized_metadata(nb, profile)
    notices = [f"Cell `{gid}` was missing from the submission; the grader put the original back."
               for gid in _put_back_missing_locked_cells(nb, profile)]
    student_cells = [c for c in nb.cells if c.cell_type == "code" and not _is_restored(c, profile)]
    aliases = notebook_aliases(c.source for c in nb.cells if c.cell_type == "code")
    for cell in student_cells:
        findings = scan_cell(cell.source, profile.required_names, aliases, profile.protected_names)
        if findings:
            reason = "; ".join(sorted({f"{f.reason} (line {f.line})" for f in findings}))
            notices.append(f"A cell was disabled because it {reason}.")
            cell.source = disabled_source(f"it {reason}", cell.source)
        for marker in (BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS):
            cell.source = cell.source.replace(marker, marker.replace(" ", "-"))
    if notices:
        add_notice(nb, notices)
    return nb, notices


def stand_in_notebook(release_nb, reason):
    """The released notebook with every student-editable code cell raising `reason`."""
    nb = copy.deepcopy(release_nb)
    profile = source_profile(release_nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and not _is_restored(cell, profile):
            cell.source = disabled_source(reason)
    add_notice(nb, [f"Your submission could not be graded: {reason}. It scores 0."])
    return nb
