"""Grade one student's submission of one assignment in a throwaway course directory.

Each submission gets its own copy of the gradebook (a snapshot holding only the
assignment's definition), its own submitted/autograded/feedback folders and a kernel
whose working directory is its own. So workers can run in parallel without sharing an
SQLite file. The kernel, and everything the submission starts, runs in the grading sandbox
(sandbox.py): it sees an empty folder of its own read-write, the assignment's student edition
and the judge's socket read-only and nothing else, so it cannot reach anyone else's work,
nbgrader's folders, the hidden cases or the grader's. Its checks are decided by the judge
(judge_service.py) in this process, and the test cells' scores come from the judge's record
(scores.py), not from the kernel's outputs. The parent merges the result serially.

Runs in a worker process: everything in and out is plain picklable data.
"""
import json
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from nbgrader.converters import Autograde, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.utils import capture_log, parse_utc

from autograder.check.checker import JUDGE_MARKER_ENV, JUDGE_SOCKET_ENV
from autograder.grading import course
from autograder.grading.config import build_config
from autograder.grading.feedback import say_not_graded_yet
from autograder.grading.staging import (
    add_notice,
    read_submission,
    source_profile,
    stage_notebook,
    stand_in_notebook,
)
from autograder.grading.judge_service import JudgeService, load_cases
from autograder.grading.scores import apply_judge_scores

UNSANDBOXED_NOTICE = ("This submission was graded without the grading sandbox (`grade --no-sandbox`): "
                      "its code could reach the rest of the grading machine.")

MAX_CRASH_RECOVERIES = 5


@dataclass(frozen=True)
class GradingJob:
    """settings: CourseSettings of the real course; submission_dir: DIR/<student>/<assignment>;
    template_db: gradebook snapshot with the assignment; work_dir: empty scratch folder;
    edition: the assignment's GradingEdition (student_edition.grading_edition): the student
    edition, the only course code the kernel and the runners import, and the hidden cases."""

    settings: object
    assignment: str
    student: str
    submission_dir: Path
    template_db: Path
    work_dir: Path
    edition: Path


@dataclass
class GradingResult:
    """grades: notebook -> grade_id -> (auto_score or None, max_score, needs_manual_grade);
    comments: notebook -> grade_id -> auto_comment; notices: what the student is told."""

    assignment: str
    student: str
    timestamp: str | None
    grades: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    late_penalties: dict = field(default_factory=dict)
    notices: list = field(default_factory=list)
    autograded_dir: Path | None = None
    feedback_dir: Path | None = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def score(self):
        return sum(s or 0.0 for nb in self.grades.values() for s, _, _ in nb.values())

    @property
    def max_score(self):
        return sum(m for nb in self.grades.values() for _, m, _ in nb.values())


def _read_timestamp(submission_dir, notices):
    path = submission_dir / "timestamp.txt"
    if not path.exists():
        return None
    text = path.read_text(errors="replace").strip()
    try:
        parse_utc(text)
        return text
    except Exception:
        notices.append("timestamp.txt could not be parsed and was ignored.")
        return None


def _stage(job, staged_dir, notices, force_reason=None):
    """Write the staged notebooks of the submission into `staged_dir`.

    force_reason: stage stand-ins raising this reason instead of the student's cells.
    """
    staged_dir.mkdir(parents=True, exist_ok=True)
    for source_path in course.source_notebooks(job.settings, job.assignment):
        submitted = job.submission_dir / source_path.name
        if not submitted.exists():
            continue  # nbgrader records 0 for a missing notebook
        nb, problem = (None, force_reason) if force_reason else read_submission(submitted)
        if nb is None:
            release = course.read_notebook(course.release_notebook(job.settings, job.assignment, source_path.stem))
            staged = stand_in_notebook(release, problem)
            notices.append(f"{source_path.name}: {problem}.")
        else:
            staged, found = stage_notebook(nb, source_profile(course.read_notebook(source_path)))
            notices.extend(f"{source_path.name}: {n}" for n in found)
        if not job.settings.sandbox:
            add_notice(staged, [UNSANDBOXED_NOTICE])
        nbformat.write(staged, str(staged_dir / source_path.name))


def _scratch_course(job):
    """The throwaway course this job is graded in: the real course's settings, rooted in work_dir."""
    return replace(job.settings, root=job.work_dir)


def _staged_dir(job):
    return _scratch_course(job).default_submissions / job.student / job.assignment


def _kernel_dir(job):
    """The sandboxed kernel's working folder, the only one it may write: apart from every folder
    nbgrader reads or writes, and short (the kernel's ipc sockets live there)."""
    return job.work_dir / "kernel"


def _matplotlib_folder(job):
    return _kernel_dir(job) / ".matplotlib"


def _make_kernel_dir(job):
    """Create the kernel's folder, with a matplotlib config folder holding the grader's font
    cache: without one, every kernel rebuilds it (about 0.2 s a submission here)."""
    import matplotlib
    from matplotlib import font_manager  # noqa: F401 -- builds the cache once per grading process

    _matplotlib_folder(job).mkdir(parents=True)
    for cache in Path(matplotlib.get_cachedir()).glob("fontlist-*.json"):
        shutil.copy(cache, _matplotlib_folder(job))


def _judge_dir(job):
    """The judge's socket folder: bound read-only into the kernel's sandbox, apart from the
    kernel's own writable folder (where the kernel could otherwise put a socket of its own)."""
    return job.work_dir / "judge"


def _judge(job):
    """The JudgeService of this submission (not started)."""
    edition = job.edition.edition.resolve()
    limits = job.settings.sandbox_limits() if job.settings.sandbox else None
    return JudgeService(_judge_dir(job), edition, load_cases(edition, job.edition.hidden_cases),
                        _kernel_dir(job).resolve(), limits, job.work_dir / "runners")


def _course_config(job):
    """nbgrader's Config of the throwaway course (what GenerateFeedback needs)."""
    c = build_config(_scratch_course(job))
    c.CourseDirectory.source_directory = str(job.settings.source_root.resolve())
    return c


def _config(job, disabled_cells, judge):
    """_course_config plus the execution of the submission: its kernel, sandbox and judge."""
    c = _course_config(job)
    edition = job.edition.edition.resolve()
    # the student edition before anything installed: the kernel never imports the reference
    kernel_env = {"PYTHONPATH": str(edition), JUDGE_SOCKET_ENV: judge.socket_path,
                  JUDGE_MARKER_ENV: judge.marker.hex()}
    if job.settings.sandbox:
        c.GuardedExecute.sandboxed = True
        c.SandboxedKernelManager.scratch_dir = str(_kernel_dir(job))
        c.SandboxedKernelManager.read_only_paths = [str(edition), str(judge.folder.resolve())]
        c.SandboxedKernelManager.sandbox_env = {**kernel_env, "MPLCONFIGDIR": str(_matplotlib_folder(job))}
        c.SandboxedKernelManager.limits = asdict(job.settings.sandbox_limits())
    else:
        c.GuardedExecute.kernel_env = kernel_env
    c.GuardedExecute.crash_report_path = str(job.work_dir / "crash.json")
    c.GuardedExecute.disabled_cells = dict(disabled_cells)
    c.GuardedExecute.judge_socket = judge.socket_path
    return c


def _run(converter_class, job, config):
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = job.assignment
    coursedir.student_id = job.student
    app = converter_class(coursedir=coursedir, config=config)
    app.force = True
    return capture_log(app)


def _crash_reason(report, timeout_s):
    if report["error"] == "DeadKernelError":
        return "the Python kernel died while running it (os._exit, a crash, or too much memory)"
    if report["error"] == "CellTimeoutError":
        return f"it ran past the {timeout_s} s limit and ignored the interrupt"
    return f"grading could not continue past it ({report['error']}: {report['detail'][:200]})"


def _autograde_with_recovery(job, notices, judge):
    """Autograde; when a cell breaks the kernel, disable that cell and try again."""
    disabled = {}
    crash_file = job.work_dir / "crash.json"
    for _ in range(MAX_CRASH_RECOVERIES + 1):
        crash_file.unlink(missing_ok=True)
        judge.reset()
        result = _run(Autograde, job, _config(job, disabled, judge))
        if result["success"]:
            return None
        if not crash_file.exists():
            return result.get("error", "") + result.get("log", "")
        report = json.loads(crash_file.read_text())
        reason = _crash_reason(report, job.settings.cell_timeout_s)
        disabled[str(report["cell_index"])] = reason
        notices.append(f"Cell {report['cell_index']} was disabled because {reason}; the notebook was regraded without it.")
    return "too many cells broke the kernel"


def _collect(job, result):
    with Gradebook(_scratch_course(job).db_url) as gb:
        submission = gb.find_submission(job.assignment, job.student)
        for nb in submission.notebooks:
            result.grades[nb.name] = {
                g.name: (g.auto_score, g.max_score, bool(g.needs_manual_grade)) for g in nb.grades
            }
            if result.error:  # nothing could be executed: a recorded 0, never "ungraded"
                result.grades[nb.name] = {k: (0.0, m, False) for k, (_, m, _) in result.grades[nb.name].items()}
            result.comments[nb.name] = {c.name: c.auto_comment for c in nb.comments}
            result.late_penalties[nb.name] = nb.late_submission_penalty


def grade_in_isolation(job):
    """Stage, autograde (with crash recovery) and build feedback for one submission."""
    start = time.monotonic()
    job.work_dir.mkdir(parents=True, exist_ok=True)
    scratch = _scratch_course(job)
    shutil.copyfile(job.template_db, scratch.db_path)
    notices = []
    timestamp = _read_timestamp(job.submission_dir, notices)
    result = GradingResult(job.assignment, job.student, timestamp, notices=notices)
    staged_dir = _staged_dir(job)
    _make_kernel_dir(job)
    _stage(job, staged_dir, notices)
    if timestamp:
        (staged_dir / "timestamp.txt").write_text(timestamp)
    with _judge(job) as judge:
        error = _autograde_with_recovery(job, notices, judge)
        if error is not None:
            # last resort: a stand-in that raises the reason everywhere, so the student
            # still gets a recorded 0 and feedback saying why
            reason = f"autograding failed ({error.strip().splitlines()[-1][:200] if error.strip() else 'unknown error'})"
            _stage(job, staged_dir, notices, force_reason=reason)
            notices.append(f"Your submission was replaced by a stand-in scoring 0: {reason}.")
            error = _autograde_with_recovery(job, notices, judge)
        verdicts = list(judge.verdicts)
    if error is None:
        autograded_dir = scratch.output_dir("autograded", job.student, job.assignment)
        apply_judge_scores(scratch.db_url, job.assignment, job.student,
                           course.source_notebooks(job.settings, job.assignment), autograded_dir, verdicts)
        feedback = _run(GenerateFeedback, job, _course_config(job))
        if not feedback["success"]:
            notices.append("Feedback could not be generated; grades were recorded.")
        result.autograded_dir = autograded_dir
        result.feedback_dir = scratch.output_dir("feedback", job.student, job.assignment)
        say_not_graded_yet(result.feedback_dir)
    else:
        result.error = error[-2000:]
    _collect(job, result)
    result.seconds = time.monotonic() - start
    return result
