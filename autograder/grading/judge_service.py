"""The judge of one submission while it is graded: a socket the kernel asks, and the record
that the submission's scores come from.

The grader starts a JudgeService before nbgrader runs the submission and binds its folder
read-only into the kernel's sandbox; `check()` in the kernel finds the socket through
$AUTOGRADER_JUDGE (checker.JUDGE_SOCKET_ENV). For each request (an exercise id, hidden or
not, and the pickled objects) the service, in the grader's process and outside the sandbox:

- reads the request's frames, which start with the marker the kernel got in
  $AUTOGRADER_JUDGE_MARKER, skipping anything else written into the socket;
- takes the case data from its own copy (visible cases of the student edition, hidden cases
  from the grader's file, which the kernel cannot read); nothing the kernel sends but the id,
  the flag and the objects is used;
- has `judge.decide` run the verdict, with the student's objects in a runner started in a
  sandbox of its own (the student edition read-only, the kernel's folder read-only as its
  working folder, a fresh scratch folder, the same limits as the kernel's);
- records {notebook, cell, exercise_id, hidden, passed, message} under the cell nbgrader is
  executing (GuardedExecute calls `enter_cell`), then answers the kernel.

What the kernel does with the answer does not matter: `scores.apply_judge_scores` sets every
test cell's score from this record. Requests are served one at a time; a malformed one is
answered with an error and recorded as nothing.
"""
import contextlib
import itertools
import json
import os
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from autograder.check import casedata, wire
from autograder.check.judge import RUNNER_BOOTSTRAP, RunnerLaunch, decide, process_environment
from autograder.grading.sandbox import ProcessLimit, SandboxSpec, sandbox_command

SOCKET_NAME = "judge.sock"
MAX_HEADER_BYTES = 64 * 1024
MAX_OBJECTS_BYTES = 256 * 1024 * 1024
RECEIVE_SECONDS = 60.0
_SERVICES = {}  # socket path -> the JudgeService serving it in this process


@dataclass(frozen=True)
class Verdict:
    """One decided check, as the judge recorded it."""

    notebook: str | None
    cell: int | None
    exercise_id: str
    hidden: bool
    passed: bool
    message: str
    cases: int


def load_cases(edition, hidden_cases_file):
    """{(exercise_id, hidden): case data} of every exercise the edition holds visible cases for."""
    cases = {}
    for visible_file in sorted(Path(edition).glob(f"autograder/exercises/*/{casedata.VISIBLE_CASES_FILE}")):
        cases.update({(k, False): v for k, v in casedata.loads(visible_file.read_text("utf-8")).items()})
    hidden = casedata.loads(Path(hidden_cases_file).read_text("utf-8"))
    cases.update({(k, True): v for k, v in hidden.items()})
    return cases


def service_for(socket_path):
    """The JudgeService serving `socket_path` in this process (GuardedExecute reports cells to it)."""
    return _SERVICES.get(str(socket_path))


class JudgeService:
    """folder: where the socket lives (bound read-only into the kernel's sandbox);
    edition: the student edition the runners import; cases: load_cases(...);
    kernel_dir: the kernel's folder (the runners' working folder, read-only);
    sandbox_limits: SandboxLimits of the runners, or None to run them unsandboxed
    (`grade --no-sandbox`); scratch: a folder for the runners' writable folders."""

    def __init__(self, folder, edition, cases, kernel_dir, sandbox_limits, scratch):
        self.folder = Path(folder)
        self.socket_path = str(self.folder / SOCKET_NAME)
        self.edition, self.cases, self.kernel_dir = Path(edition), cases, Path(kernel_dir)
        self.sandbox_limits, self.scratch = sandbox_limits, Path(scratch)
        self.marker = os.urandom(16)
        self.verdicts = []
        self._position = (None, None)
        self._serial = itertools.count()
        self._listener = None
        self._thread = None

    # ---- what the grader calls

    def start(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(4)
        _SERVICES[self.socket_path] = self
        self._thread = threading.Thread(target=self._serve, name="judge", daemon=True)
        self._thread.start()
        return self

    def enter_cell(self, notebook, index):
        """nbgrader is about to execute cell `index` of `notebook`: verdicts from now on are its."""
        self._position = (notebook, index)

    def reset(self):
        """Forget every verdict (a new attempt at executing the submission starts)."""
        self.verdicts = []
        self._position = (None, None)

    def close(self):
        _SERVICES.pop(self.socket_path, None)
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
        if self._thread is not None:
            self._thread.join(timeout=120)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    # ---- serving

    def _serve(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed
            with connection:
                try:
                    self._answer(connection)
                except Exception:  # a client that vanished or broke the protocol: nothing recorded
                    pass

    def _answer(self, connection):
        deadline = time.monotonic() + RECEIVE_SECONDS
        frames = wire.MarkedFrameReader(connection.fileno(), self.marker, MAX_OBJECTS_BYTES)
        header, payload = frames.read(deadline), frames.read(deadline)
        request = json.loads(header.decode("utf-8")) if header and len(header) <= MAX_HEADER_BYTES else None
        if not (isinstance(request, dict) and isinstance(request.get("exercise_id"), str)
                and isinstance(request.get("hidden"), bool) and payload is not None):
            raise ValueError("malformed request")
        exercise_id, hidden = request["exercise_id"], request["hidden"]
        notebook, cell = self._position
        key = (exercise_id, hidden)
        if key in self.cases:
            with self._runner_launch() as launch:
                # the kernel sends nothing more: its socket becomes readable only when it hangs
                # up (an interrupted cell), and then the check is dropped, not recorded
                result = decide(exercise_id, hidden, self.cases[key], payload, launch,
                                watch=connection.fileno())
            if _hung_up(connection):
                return
        else:
            result = {"passed": False, "cases": 0, "where": None,
                      "message": f"{exercise_id!r} is not an exercise of this assignment."}
        self.verdicts.append(Verdict(notebook, cell, exercise_id, hidden, bool(result["passed"]),
                                     result["message"], int(result["cases"])))
        wire.write_frame(connection.fileno(), json.dumps(result).encode("utf-8"))

    @contextlib.contextmanager
    def _runner_launch(self):
        """The RunnerLaunch of one check's runner; its sandbox's process cap and scratch folder
        exist exactly as long as the check."""
        argv = [sys.executable, "-I", "-c", RUNNER_BOOTSTRAP, str(self.edition)]
        if self.sandbox_limits is None:
            yield RunnerLaunch(tuple(argv), env=process_environment(), cwd=str(self.kernel_dir))
            return
        scratch = self.scratch / f"runner-{next(self._serial)}"
        scratch.mkdir(parents=True)
        spec = SandboxSpec(scratch_dir=scratch, read_only_paths=(self.edition, self.kernel_dir),
                           limits=self.sandbox_limits)
        try:
            with ProcessLimit(spec.limits.max_processes) as process_limit:
                command = sandbox_command(spec, argv, process_limit, cwd=self.kernel_dir)
                yield RunnerLaunch(tuple(command), env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _hung_up(connection):
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


