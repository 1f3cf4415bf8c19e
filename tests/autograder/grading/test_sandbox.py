"""The grading sandbox with the real bwrap.

Each protection is shown doing the work: the same attack succeeds in a plain subprocess
and fails in the sandbox.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from support import REPO
from traitlets.config import Config

import autograder
import course_lib
from autograder.grading import sandbox
from autograder.grading.sandbox import (
    SandboxedKernelManager,
    SandboxLimits,
    SandboxSpec,
    SandboxUnavailable,
    require_sandbox,
    run_sandboxed,
    sandbox_environment,
)
from course_lib.datasets import DATA_DIR

# what these tests let a sandboxed process read (grading binds a student edition instead)
COURSE_CODE = (Path(course_lib.__file__).parent, Path(autograder.__file__).parent, DATA_DIR)

# Runs the statement argv[1]; prints "done", the errno name of an OSError, or the exception's class.
ATTEMPT = """
import errno, sys
try:
    exec(sys.argv[1])
except OSError as error:
    print(errno.errorcode.get(error.errno, type(error).__name__))
except Exception as error:
    print(type(error).__name__)
else:
    print("done")
"""

# argv: file, marker. Ignores the polite signals and rewrites `file` ten times a second (for 30 s at most).
HEARTBEAT = """
import os, signal, sys, time
for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(number, signal.SIG_IGN)
for beat in range(300):
    with open(sys.argv[1], "w") as out:
        out.write(f"{os.getpid()} {beat}")
    time.sleep(0.1)
"""

# argv: python, folder, marker, heartbeat code. Starts a heartbeat in a new session
# (posix_spawn) and one through a double fork, both off this process's output pipes,
# waits until both beat, then exits.
ESCAPE = """
import os, sys, time
python, folder, marker, heartbeat = sys.argv[1:5]
null = os.open(os.devnull, os.O_RDWR)
os.posix_spawn(python, [python, "-c", heartbeat, folder + "/spawned", marker], dict(os.environ),
               setsid=True, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1), (os.POSIX_SPAWN_DUP2, null, 2)])
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.execv(python, [python, "-c", heartbeat, folder + "/double_forked", marker])
    os._exit(0)
deadline = time.monotonic() + 10
while not all(os.path.exists(folder + name) for name in ("/spawned", "/double_forked")):
    assert time.monotonic() < deadline, "the heartbeats did not start"
    time.sleep(0.02)
"""

# argv: attempts. Forks children that sleep; prints how many forks succeeded and whether one was refused.
FORK_BOMB = """
import os, signal, sys, time
children = []
try:
    for _ in range(int(sys.argv[1])):
        pid = os.fork()
        if pid == 0:
            time.sleep(10)
            os._exit(0)
        children.append(pid)
    print("forked", len(children))
except BlockingIOError:
    print("refused", len(children))
finally:
    for pid in children:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
"""


def plain(code, *args):
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=30)


def sandboxed(spec, code, *args):
    return run_sandboxed(spec, [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=30)


def outcome(result):
    assert not result.stderr, result.stderr
    return result.stdout.strip()


@pytest.fixture
def scratch(tmp_path):
    folder = tmp_path / "scratch"
    folder.mkdir()
    return folder


@pytest.fixture
def spec(scratch):
    return SandboxSpec(scratch, COURSE_CODE)


def processes_with(marker):
    """Host pids whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass  # exited meanwhile
    return found


def beats(path):
    """Is something still rewriting the heartbeat file `path`?"""
    before = path.read_text()
    time.sleep(0.4)
    return path.read_text() != before


# ---------------------------------------------------------------------------- files

def test_files_outside_the_scratch_folder_cannot_be_read(tmp_path, spec):
    other_student = tmp_path / "other_student" / "answers.py"
    other_student.parent.mkdir()
    other_student.write_text("secret")
    course_notebook = next((REPO / "notebooks").rglob("*.ipynb"))
    graders_home = [p for p in Path.home().iterdir() if p.is_file()][:1]  # e.g. /root/.bashrc
    for path in (other_student, course_notebook, *graders_home):
        attack = f"open({str(path)!r}).read()"
        assert outcome(plain(ATTEMPT, attack)) == "done"
        assert outcome(sandboxed(spec, ATTEMPT, attack)) == "ENOENT"


def test_only_the_scratch_folder_is_writable(tmp_path, scratch):
    course_code = tmp_path / "course_code"
    other_student = tmp_path / "other_student"
    course_code.mkdir()
    other_student.mkdir()
    spec = SandboxSpec(scratch, (course_code,))
    for target, refusal in ((course_code / "x", "EROFS"), (other_student / "x", "ENOENT")):
        attack = f"open({str(target)!r}, 'w').write('x')"
        assert outcome(plain(ATTEMPT, attack)) == "done"
        target.unlink()
        assert outcome(sandboxed(spec, ATTEMPT, attack)) == refusal
        assert not target.exists()
    assert outcome(sandboxed(spec, ATTEMPT, f"open({str(scratch / 'x')!r}, 'w').write('x')")) == "done"
    assert (scratch / "x").read_text() == "x"


def test_the_python_environment_and_course_code_are_readable(spec):
    code = "import numpy, course_lib, autograder, os; print(os.getcwd())"
    assert outcome(sandboxed(spec, code)) == str(spec.scratch_dir)


# ---------------------------------------------------------------------------- processes

def test_other_processes_can_neither_be_seen_nor_signalled(spec):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        attack = f"import os; os.kill({sleeper.pid}, 9)"
        assert outcome(sandboxed(spec, ATTEMPT, attack)) == "ESRCH"
        assert sleeper.poll() is None
        listing = "import os; print(sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))"
        assert outcome(sandboxed(spec, listing)) == "[1, 2]"  # bwrap's init and this python
        assert outcome(plain(ATTEMPT, attack)) == "done"
        assert sleeper.wait(timeout=5) == -signal.SIGKILL
    finally:
        sleeper.kill()
        sleeper.wait()


def test_detached_processes_end_with_the_sandbox(tmp_path, scratch, spec):
    marker = f"escapee-{uuid.uuid4().hex}"
    escaped = tmp_path / "plain"
    escaped.mkdir()
    try:
        plain(ESCAPE, sys.executable, str(escaped), marker, HEARTBEAT).check_returncode()
        assert beats(escaped / "spawned") and beats(escaped / "double_forked")
    finally:
        for pid in processes_with(marker):
            os.kill(pid, signal.SIGKILL)

    result = sandboxed(spec, ESCAPE, sys.executable, str(scratch), marker, HEARTBEAT)
    assert result.returncode == 0, result.stderr
    assert processes_with(marker) == []
    assert not beats(scratch / "spawned") and not beats(scratch / "double_forked")


def test_a_fork_bomb_hits_the_process_limit(scratch):
    spec = SandboxSpec(scratch, limits=SandboxLimits(max_processes=32))
    assert outcome(plain(FORK_BOMB, "64")) == "forked 64"
    refused, forked = outcome(sandboxed(spec, FORK_BOMB, "64")).split()
    assert refused == "refused" and int(forked) < 32


# ---------------------------------------------------------------------------- network, identity, environment

def test_no_network(spec):
    with socket.create_server(("127.0.0.1", 0)) as server:
        attack = f"import socket; socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), timeout=5)"
        assert outcome(plain(ATTEMPT, attack)) == "done"
        # the sandbox has a loopback of its own, where nothing listens
        assert outcome(sandboxed(spec, ATTEMPT, attack)) == "ECONNREFUSED"


def test_not_root_inside(spec):
    identity = ("import os; capabilities = open('/proc/self/status').read().split('CapEff:')[1].split()[0]; "
                "print(os.getuid(), os.getgid(), capabilities)")
    assert outcome(sandboxed(spec, identity)) == "65534 65534 0000000000000000"
    if os.geteuid() == 0:
        assert outcome(plain(ATTEMPT, "import os; os.setuid(0)")) == "done"
    # uid 0 does not even exist in the sandbox's user namespace
    assert outcome(sandboxed(spec, ATTEMPT, "import os; os.setuid(0)")) == "EINVAL"


def test_the_graders_environment_does_not_leak(monkeypatch, scratch):
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "s3cret")
    spec = SandboxSpec(scratch, env={"NBGRADER_EXECUTION": "autograde"})
    show = "import json, os; print(json.dumps(dict(os.environ)))"
    assert json.loads(outcome(plain(show)))["AUTOGRADER_HIDDEN_SEED"] == "s3cret"
    inside = json.loads(outcome(sandboxed(spec, show)))
    assert set(inside) == set(sandbox_environment(spec.env)) | {"PWD"}
    assert inside["NBGRADER_EXECUTION"] == "autograde"
    assert inside["HOME"] == "/tmp"
    # nor through the environment another process inside (bwrap's init, pid 1) started with
    environs = ("import glob; "
                "print(sum(open(f, 'rb').read().count(b's3cret') for f in glob.glob('/proc/[0-9]*/environ')))")
    assert outcome(sandboxed(spec, environs)) == "0"


# ---------------------------------------------------------------------------- limits

def test_a_file_past_the_size_limit_cannot_be_written(scratch):
    spec = SandboxSpec(scratch, limits=SandboxLimits(max_file_mb=1))
    attack = f"open({str(scratch / 'big')!r}, 'wb').write(bytes(2 * 2**20))"
    assert outcome(plain(ATTEMPT, attack)) == "done"
    assert outcome(sandboxed(spec, ATTEMPT, attack)) == "EFBIG"


def test_the_private_tmp_is_capped(scratch):
    spec = SandboxSpec(scratch, limits=SandboxLimits(tmp_mb=1))
    in_tmp = Path(f"/tmp/sandbox-test-{uuid.uuid4().hex}")
    attack = f"open({str(in_tmp)!r}, 'wb').write(bytes(2 * 2**20))"
    try:
        assert outcome(plain(ATTEMPT, attack)) == "done"
    finally:
        in_tmp.unlink(missing_ok=True)
    assert outcome(sandboxed(spec, ATTEMPT, attack)) == "ENOSPC"


def test_memory_is_capped(scratch):
    spec = SandboxSpec(scratch, limits=SandboxLimits(memory_mb=256))
    attack = "bytes(512 * 2**20)"
    assert outcome(plain(ATTEMPT, attack)) == "done"
    assert outcome(sandboxed(spec, ATTEMPT, attack)) == "MemoryError"


def test_cpu_time_is_capped(scratch):
    spec = SandboxSpec(scratch, limits=SandboxLimits(cpu_seconds=1))
    spin = "import time; start = time.process_time()\nwhile time.process_time() - start < 1.2: pass\nprint('done')"
    assert outcome(plain(spin)) == "done"
    result = sandboxed(spec, spin)
    # soft limit = hard limit, so the kernel's SIGKILL comes with its SIGXCPU; bwrap exits 128 + signal
    assert result.stdout == "" and result.returncode == 128 + signal.SIGKILL


# ---------------------------------------------------------------------------- availability

@pytest.fixture
def fresh_probe():
    sandbox._probe_failure.cache_clear()
    yield
    sandbox._probe_failure.cache_clear()


def test_an_unusable_bwrap_is_explained(tmp_path, monkeypatch, fresh_probe):
    failing = tmp_path / "bwrap"
    failing.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    failing.chmod(0o755)
    monkeypatch.setattr(sandbox, "bwrap_executable", lambda: str(failing))
    with pytest.raises(SandboxUnavailable) as error:
        require_sandbox()
    assert "setting up uid map: Permission denied" in str(error.value)
    assert "unprivileged_userns_clone=1" in str(error.value)
    assert "--no-sandbox" in str(error.value)


def test_the_sandbox_is_available_here(fresh_probe):
    require_sandbox()


# ---------------------------------------------------------------------------- Jupyter kernels

def run_notebook(sources, scratch, **client_options):
    """Execute the code cells `sources` in a sandboxed kernel configured through a traitlets
    Config, as nbgrader passes it; returns the executed notebook."""
    config = Config()
    config.SandboxedKernelManager.scratch_dir = str(scratch)
    config.SandboxedKernelManager.read_only_paths = [str(p) for p in COURSE_CODE]
    config.SandboxedKernelManager.sandbox_env = {"NBGRADER_EXECUTION": "autograde"}
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    client = NotebookClient(nb, config=config, kernel_manager_class=SandboxedKernelManager,
                            resources={"metadata": {"path": str(scratch)}}, **client_options)
    client.execute()
    return nb


def stdout_of(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout").strip()


def test_a_notebook_runs_in_the_sandbox(scratch, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "s3cret")
    marker = f"escapee-{uuid.uuid4().hex}"
    nb = run_notebook([
        "import os, numpy, course_lib\nprint(os.getcwd(), os.getuid())",
        f"print(os.path.exists({str(REPO / 'notebooks')!r}), os.environ.get('AUTOGRADER_HIDDEN_SEED'))",
        "import json\nprint(json.dumps([name for name in os.listdir('.') if name.startswith('kernel')]))",
        "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.savefig('plot.png')\nprint(os.path.exists('plot.png'))",
        f"import sys, time\nos.posix_spawn(sys.executable, [sys.executable, '-c', {HEARTBEAT!r}, 'beat', {marker!r}],"
        " dict(os.environ), setsid=True)\nwhile not os.path.exists('beat'): time.sleep(0.02)",
    ], scratch)
    assert stdout_of(nb.cells[0]) == f"{scratch.resolve()} 65534"
    assert stdout_of(nb.cells[1]) == "False None"
    sockets = json.loads(stdout_of(nb.cells[2]))
    assert "kernel.json" in sockets and any(name.startswith("kernel-ipc-") for name in sockets)
    assert stdout_of(nb.cells[3]) == "True"
    # shutting the kernel down ended the sandbox, with the detached process in it
    assert processes_with(marker) == []
    assert not beats(scratch / "beat")
    assert not list(scratch.glob("kernel*"))  # connection file and sockets are cleaned up


def test_a_cell_past_its_timeout_is_interrupted_and_the_next_one_runs(scratch):
    start = time.monotonic()
    nb = run_notebook(["while True: pass", "print('after')"], scratch,
                      timeout=3, interrupt_on_timeout=True, allow_errors=True)
    assert [o.get("ename") for o in nb.cells[0].outputs] == ["KeyboardInterrupt"]
    assert stdout_of(nb.cells[1]) == "after"
    assert time.monotonic() - start < 15
