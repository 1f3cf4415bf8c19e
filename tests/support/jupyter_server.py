"""A real JupyterLab server for tests: 127.0.0.1, a free port, a token, stopped by the test.

    with jupyterlab(root_dir, cwd=course_root, lab_settings={...}) as server:
        server.get("/api/status")          # (status, body), authenticated with the token
        server.url("/lab/tree/a.ipynb")    # a browser URL that logs in with the token

`cwd` matters to nbgrader: its formgrader and its Validate handler read the
`nbgrader_config.py` of the server's working directory (the course root), while `root_dir`
is what the file browser shows (release/ for students, the course root for the formgrader).
"""
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

JUPYTER = Path(sys.executable).with_name("jupyter")
DEFAULT_TOKEN = "autograder-test-token"
START_TIMEOUT_S = 120


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class JupyterServer:
    base: str          # http://127.0.0.1:<port>
    token: str
    root_dir: Path
    log: Path          # the server's stdout and stderr, for diagnosing a failure

    def url(self, path, **query):
        """Browser URL of `path` carrying the token (the server then sets its login cookie)."""
        params = "&".join([f"token={self.token}", *(f"{k}={v}" for k, v in query.items())])
        return f"{self.base}{path}?{params}"

    def request(self, path, method="GET", timeout=10):
        """(HTTP status, body text) of an authenticated request to the server's REST API."""
        request = urllib.request.Request(f"{self.base}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()

    def get(self, path, timeout=10):
        return self.request(path, timeout=timeout)

    def shutdown_kernels(self):
        """Shut down every running kernel through the API, so none outlives the server."""
        _, body = self.get("/api/kernels")
        for kernel in json.loads(body):
            self.request(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=30)


def write_lab_settings(settings_dir, lab_settings):
    """Write JupyterLab user settings: {"@jupyterlab/notebook-extension:tracker": {...}, ...}.

    JupyterLab reads them from $JUPYTERLAB_SETTINGS_DIR/<package>/<plugin>.jupyterlab-settings.
    """
    for plugin_id, values in lab_settings.items():
        package, plugin = plugin_id.split(":")
        path = Path(settings_dir) / package / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values, indent=2))


def server_environment(state_dir, lab_settings=None):
    """The server's environment: ours, minus what would change what a student sees.

    - MPLBACKEND: the Makefile exports MPLBACKEND=Agg for the test run, and ipykernel only
      selects the inline backend (figures shown in the notebook) when MPLBACKEND is unset.
    - JupyterLab's user settings and workspaces go to a fresh folder under `state_dir`, so a
      test never reads nor writes the settings of the person running it.
    """
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    settings_dir, workspaces_dir = Path(state_dir) / "lab-settings", Path(state_dir) / "lab-workspaces"
    workspaces_dir.mkdir(parents=True, exist_ok=True)
    write_lab_settings(settings_dir, lab_settings or {})
    env.update(JUPYTERLAB_SETTINGS_DIR=str(settings_dir), JUPYTERLAB_WORKSPACES_DIR=str(workspaces_dir))
    return env


def wait_until_up(server, process, timeout=START_TIMEOUT_S):
    """Poll /api/status until the server answers; raise with the log's tail if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            server.get("/api/status")
            return
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline or process.poll() is not None:
                tail = server.log.read_text(errors="replace")[-3000:] if server.log.exists() else ""
                raise RuntimeError(f"JupyterLab did not start on {server.base}; its log ends with:\n{tail}")
            time.sleep(0.25)


def stop(process, timeout=30):
    """SIGTERM (the server shuts its kernels down), SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


@contextlib.contextmanager
def jupyterlab(root_dir, cwd=None, token=DEFAULT_TOKEN, lab_settings=None, state_dir=None):
    """Run `jupyter lab root_dir` (from `cwd`, default root_dir) and yield a JupyterServer.

    lab_settings: JupyterLab user settings by plugin id (see write_lab_settings).
    state_dir: where the settings, workspaces and the server log go (default: next to root_dir).
    """
    root_dir = Path(root_dir).resolve()
    cwd = Path(cwd or root_dir).resolve()
    state_dir = Path(state_dir or root_dir.parent / f".{root_dir.name}-jupyter")
    state_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = JupyterServer(f"http://127.0.0.1:{port}", token, root_dir, state_dir / "server.log")
    command = [str(JUPYTER), "lab", str(root_dir), "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--IdentityProvider.token={token}", "--allow-root", "--ServerApp.open_browser=False"]
    with open(server.log, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                   env=server_environment(state_dir, lab_settings))
    try:
        wait_until_up(server, process)
        yield server
    finally:
        with contextlib.suppress(Exception):  # the server may already be gone: stop() still runs
            if process.poll() is None:
                server.shutdown_kernels()
        stop(process)
