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
import hashlib
import hmac
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

from autograder.exercises.casebook import DEFAULT_HIDDEN_SEED, HIDDEN_SEED_ENV
from autograder.grading.sandbox import SandboxLimits
from course_lib.threads import SINGLE_THREAD_ENV

COURSE_ID = "backprop-course"
SOURCE_DIRECTORY = "notebooks"


CONFIG_FILE = "nbgrader_config.py"


class ConfigError(ValueError):
    """The course's nbgrader_config.py asks for a setting that does not exist."""


@dataclass(frozen=True)
class CourseSettings:
    """Where the course lives and the limits every graded kernel runs under.

    An instructor sets these in the course's nbgrader_config.py as `c.CourseSettings.<field>`
    (`load_course` reads them); nbgrader's own settings live in the same file.

    root: course directory holding notebooks/, release/, gradebook.db, ...
    config_file: the course's nbgrader_config.py, or None (defaults only).
    cell_timeout_s: wall-clock limit per cell; the kernel is interrupted after it.
    kernel_memory_mb: address-space cap (RLIMIT_AS) of each grading kernel, so a
        huge allocation raises MemoryError instead of killing the machine.
    max_output_lines / max_output_bytes: per cell, kept in the graded notebook.
    sandbox: run every submission's kernel (and all it starts) in the bubblewrap sandbox
        (sandbox.py); False only through `grade --no-sandbox`, for trusted submissions.
    max_processes, kernel_cpu_s, max_file_mb: the sandbox's other limits: tasks alive at
        once, CPU seconds per process, largest file written.
    """

    root: Path = field(default_factory=Path.cwd)
    config_file: Path | None = None
    course_id: str = COURSE_ID
    source_directory: str = SOURCE_DIRECTORY
    cell_timeout_s: int = 60
    kernel_memory_mb: int = 3072
    max_output_lines: int = 1000
    max_output_bytes: int = 100_000
    sandbox: bool = True
    max_processes: int = 256
    kernel_cpu_s: int = 600
    max_file_mb: int = 256

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

    def sandbox_limits(self):
        return SandboxLimits(memory_mb=self.kernel_memory_mb, max_processes=self.max_processes,
                             cpu_seconds=self.kernel_cpu_s, max_file_mb=self.max_file_mb)

    def release_dir(self, assignment):
        return Path(self.root) / "release" / assignment

    def output_dir(self, kind, student, assignment):
        """kind: "autograded" or "feedback" (nbgrader's per-student output folders)."""
        return Path(self.root) / kind / student / assignment


def read_course_config(config_file):
    """The traitlets Config an nbgrader_config.py builds (it may import autograder: it is trusted)."""
    from traitlets.config.loader import PyFileConfigLoader

    path = Path(config_file)
    return PyFileConfigLoader(path.name, path=str(path.parent)).load_config()


# fields an instructor may set as c.CourseSettings.<name>; root and config_file come from where it is
CONFIGURABLE_FIELDS = ("cell_timeout_s", "kernel_memory_mb", "max_output_lines", "max_output_bytes",
                       "max_processes", "kernel_cpu_s", "max_file_mb")


def settings_from_config(config, root, config_file=None):
    """CourseSettings for the course at `root` from a loaded traitlets Config."""
    section = config.get("CourseSettings", {})
    unknown = set(section) - set(CONFIGURABLE_FIELDS)
    if unknown:
        raise ConfigError(f"c.CourseSettings has no setting {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(CONFIGURABLE_FIELDS)}")
    course_id = config.get("CourseDirectory", {}).get("course_id", COURSE_ID)
    return CourseSettings(root=Path(root).resolve(), config_file=config_file, course_id=course_id,
                          **{name: section[name] for name in CONFIGURABLE_FIELDS if name in section})


def load_course(root):
    """The CourseSettings of the course folder `root`, read from its nbgrader_config.py if it has one."""
    config_file = Path(root).resolve() / CONFIG_FILE
    if not config_file.is_file():
        return CourseSettings().with_root(root)
    return settings_from_config(read_course_config(config_file), root, config_file)


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


def hidden_seed_digest(assignment):
    """An HMAC of the instructor's hidden seed and `assignment`: tells which seed graded a
    submission (the ledger keeps it) without revealing the seed."""
    secret = os.environ.get(HIDDEN_SEED_ENV, DEFAULT_HIDDEN_SEED).encode()
    return hmac.new(secret, assignment.encode(), hashlib.sha256).hexdigest()
