"""A course directory: its settings, every path in it (nbgrader's layout), and the environment
of the processes that grade it. Nothing else builds these paths.

course root/
  notebooks/<assignment>/*.ipynb   source notebooks, with solutions (`source_directory`)
  release/<assignment>/            student versions
  submitted/<student>/<assignment>/   collected submissions (the default to grade)
  autograded/, feedback/           nbgrader's outputs, merged from each graded submission
  gradebook.db, grades.csv         nbgrader's gradebook and its CSV export
  .autograder/graded/              the resume ledger (ledger.py)
"""
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from course_lib.threads import SINGLE_THREAD_ENV

COURSE_ID = "backprop-course"
SOURCE_DIRECTORY = "notebooks"


def _env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


@dataclass(frozen=True)
class CourseSettings:
    """Where the course lives and the limits every graded kernel runs under.

    root: course directory holding notebooks/, release/, gradebook.db, ...
    cell_timeout_s: wall-clock limit per cell; the kernel is interrupted after it.
    kernel_memory_mb: address-space cap (RLIMIT_AS) of each grading kernel, so a
        huge allocation raises MemoryError instead of killing the machine.
    max_output_lines / max_output_bytes: per cell, kept in the graded notebook.
    """

    root: Path = field(default_factory=Path.cwd)
    course_id: str = COURSE_ID
    source_directory: str = SOURCE_DIRECTORY
    cell_timeout_s: int = field(default_factory=lambda: _env_int("AUTOGRADER_CELL_TIMEOUT", 60))
    kernel_memory_mb: int = field(default_factory=lambda: _env_int("AUTOGRADER_KERNEL_MEMORY_MB", 3072))
    max_output_lines: int = 1000
    max_output_bytes: int = 100_000

    def with_root(self, root):
        return replace(self, root=Path(root).resolve())

    @property
    def source_root(self):
        return Path(self.root) / self.source_directory

    @property
    def db_path(self):
        return Path(self.root) / "gradebook.db"

    @property
    def db_url(self):
        """SQLAlchemy URL of the gradebook, absolute so it holds from any working directory."""
        return f"sqlite:///{self.db_path.resolve()}"

    @property
    def ledger_dir(self):
        return Path(self.root) / ".autograder" / "graded"

    @property
    def grades_csv(self):
        return Path(self.root) / "grades.csv"

    @property
    def default_submissions(self):
        return Path(self.root) / "submitted"

    def release_dir(self, assignment):
        return Path(self.root) / "release" / assignment

    def output_dir(self, kind, student, assignment):
        """kind: "autograded" or "feedback" (nbgrader's per-student output folders)."""
        return Path(self.root) / kind / student / assignment


def assignments(settings):
    """Names of the assignments under the source directory, sorted."""
    source = settings.source_root
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(settings, assignment):
    """Paths of the assignment's source notebooks (with solutions), sorted."""
    return sorted((settings.source_root / assignment).glob("*.ipynb"))


def release_notebook(settings, assignment, notebook_name):
    return settings.release_dir(assignment) / f"{notebook_name}.ipynb"


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)


def prepare_grading_process():
    """Environment of a process that grades (the CLI, each pool worker), set in one place.

    - nbgrader runs the `alembic` executable to create a gradebook: find it next to this
      Python even when the venv is not activated (`.venv/bin/python -m autograder ...`);
    - one BLAS thread per kernel (course_lib.threads): parallel students fill the cores.
    """
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    os.environ.update(SINGLE_THREAD_ENV)
