"""`make lab`: JupyterLab starts on release/ with nbgrader's lab and server extensions loaded."""
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from support.fixture_course import ASSIGNMENT, make_course

pytestmark = pytest.mark.slow  # starts a real JupyterLab server

TOKEN = "autograder-lab-check"
JUPYTER = Path(sys.executable).with_name("jupyter")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    settings = make_course(tmp_path_factory.mktemp("lab"))
    port = _free_port()
    command = [str(JUPYTER), "lab", "release/", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
               f"--IdentityProvider.token={TOKEN}", "--allow-root", "--ServerApp.open_browser=False"]
    server = subprocess.Popen(command, cwd=settings.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _get(f"{base}/api/status")
                break
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("JupyterLab did not start")
                time.sleep(0.5)
        yield base, settings
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_lab_serves_the_released_notebook(lab):
    base, _ = lab
    status, body = _get(f"{base}/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    released = json.loads(body)["content"]
    assert status == 200
    assert any("NotImplementedError" in "".join(c["source"]) for c in released["cells"])


def test_lab_has_nbgraders_extensions(lab):
    base, _ = lab
    _, lab_page = _get(f"{base}/lab")  # its page config lists the federated lab extensions it loads
    assert '"name": "@jupyter/nbgrader"' in lab_page or '"name":"@jupyter/nbgrader"' in lab_page
    status, _ = _get(f"{base}/formgrader/api/assignments")  # the formgrader server extension answers
    assert status == 200
