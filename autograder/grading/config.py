"""The course's nbgrader configuration, built in Python so the CLI, the tests and
JupyterLab's formgrader all read the same settings.

`build_config` turns a `CourseSettings` (course.py) into the traitlets `Config` that
nbgrader's converters and `NbGraderAPI` take, on top of the course's own nbgrader_config.py,
which ends with `apply_course_config(c)` so the formgrader and the `nbgrader` command line
see the same settings.
"""
from pathlib import Path

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    AssignLatePenalties,
    CheckCellMetadata,
    ClearHiddenTests,
    IgnorePattern,
    LimitOutput,
    SaveAutoGrades,
)
from traitlets.config import Config

from autograder.grading.course import read_course_config, settings_from_config
from autograder.grading.feedback import GetGradesMarkingUngraded
from autograder.grading.guarded_execute import GuardedExecute
from autograder.grading.hidden_tracebacks import ClearHiddenTracebackLines

# stderr that must not zero a passing test cell: Python warnings
# ("file.py:12: RuntimeWarning: ...") and tqdm progress bars ("40%|####  | 4/10").
HARMLESS_STDERR = r"(?m)(^|: )\w*Warning: |\d+%\|"


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


def apply_to(c, s):
    """Fill the traitlets Config `c` with the nbgrader settings of the course `s` (CourseSettings)."""
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
    c.GenerateFeedback.preprocessors = [GetGradesMarkingUngraded, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                        ClearHiddenTracebackLines]
    c.ClearHiddenTests.enforce_metadata = False
    c.NbGraderAPI.log_level = "WARN"
    return c


def build_config(settings):
    """The traitlets Config nbgrader runs with: the course's nbgrader_config.py (the instructor's
    nbgrader settings: late-submission plugin, exchange, ...), then the course's grading settings."""
    config = read_course_config(settings.config_file) if settings.config_file else Config()
    return apply_to(config, settings)


def apply_course_config(c):
    """For the course's nbgrader_config.py, last: apply the settings written above it to `c`.

    So the formgrader and the `nbgrader` command line run with what `python -m autograder` uses.
    """
    root = c.get("CourseDirectory", {}).get("root") or Path.cwd()
    return apply_to(c, settings_from_config(c, root))
