"""The course's nbgrader configuration, built in Python so the CLI, the tests and
JupyterLab's formgrader all read the same settings.

`CourseSettings` holds the few numbers an instructor may want to change;
`build_config` turns them into the traitlets `Config` that nbgrader's converters
and `NbGraderAPI` take. A root-level `nbgrader_config.py` for the formgrader only
needs `from autograder.nbgrader_config import apply_to; apply_to(get_config())`.
"""
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    GetGrades,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets.config import Config

from autograder.guarded_execute import GuardedExecute
from autograder.hidden_tracebacks import ClearHiddenTracebackLines

COURSE_ID = "backprop-course"
SOURCE_DIRECTORY = "notebooks"

# stderr that must not zero a passing test cell: Python warnings
# ("file.py:12: RuntimeWarning: ...") and tqdm progress bars ("40%|####  | 4/10").
HARMLESS_STDERR = r"(?m)(^|: )\w*Warning: |\d+%\|"


def put_interpreter_tools_on_path():
    """nbgrader runs the `alembic` executable to create a gradebook; find it next to this Python
    even when the venv is not activated (`.venv/bin/python -m autograder ...`)."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


put_interpreter_tools_on_path()


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
    def db_path(self):
        return Path(self.root) / "gradebook.db"


def kernel_arguments(memory_mb):
    """ipykernel command-line arguments that cap the kernel's address space before any cell runs.

    Soft and hard limits are equal so student code cannot raise them again
    (except as root: the static scan also rejects `import resource`).
    """
    limit = memory_mb * 1024 * 1024
    line = (
        "import resource as _autograder_resource; "
        f"_autograder_resource.setrlimit(_autograder_resource.RLIMIT_AS, ({limit}, {limit})); "
        "del _autograder_resource"
    )
    return [f"--IPKernelApp.exec_lines={line}", "--IPKernelApp.log_level=ERROR"]


def apply_to(c, settings=None):
    """Fill the traitlets Config `c` with the course's nbgrader settings and return it."""
    s = settings or CourseSettings()
    c.CourseDirectory.root = str(Path(s.root).resolve())
    c.CourseDirectory.course_id = s.course_id
    c.CourseDirectory.source_directory = s.source_directory

    c.Execute.timeout = s.cell_timeout_s
    c.Execute.extra_arguments = kernel_arguments(s.kernel_memory_mb)
    c.GuardedExecute.max_output_bytes = s.max_output_bytes
    # staging strips cell tags anyway; no tag may make nbclient skip a test cell
    c.Execute.skip_cells_with_tag = "autograder-never-skip-a-cell"
    c.Autograde.autograde_preprocessors = [
        GuardedExecute,  # nbgrader's Execute + output cap + report of the cell that broke the kernel
        IgnorePattern,
        ClearMetadataPreprocessor,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadata,
    ]
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = HARMLESS_STDERR
    c.LimitOutput.max_lines = s.max_output_lines
    c.LimitOutput.max_traceback = 100
    # a deleted test cell is put back (and graded) instead of "needs manual grade"
    c.OverwriteCells.add_missing_cells = True

    # feedback shows test cells without their hidden-test region, in sources and tracebacks
    c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                        ClearHiddenTracebackLines]
    c.ClearHiddenTests.enforce_metadata = False
    c.NbGraderAPI.log_level = "WARN"
    return c


def build_config(settings=None):
    """A fresh traitlets Config for `settings` (defaults: the course in the current directory)."""
    return apply_to(Config(), settings)
