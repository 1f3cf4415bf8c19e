"""`make lab`: JupyterLab starts on release/ with nbgrader's lab and server extensions loaded."""
import json

import pytest

from support.fixture_course import ASSIGNMENT, make_course
from support.jupyter_server import jupyterlab

pytestmark = pytest.mark.slow  # starts a real JupyterLab server

TOKEN = "autograder-lab-check"


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on release/, from the course root, as `make lab` starts it."""
    settings = make_course(tmp_path_factory.mktemp("lab"))
    with jupyterlab(settings.root / "release", cwd=settings.root, token=TOKEN,
                    state_dir=tmp_path_factory.mktemp("lab_state")) as server:
        yield server


def test_lab_serves_the_released_notebook(lab):
    status, body = lab.get(f"/api/contents/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")
    released = json.loads(body)["content"]
    assert status == 200
    assert any("NotImplementedError" in "".join(c["source"]) for c in released["cells"])


def test_lab_has_nbgraders_extensions(lab):
    _, lab_page = lab.get("/lab")  # its page config lists the federated lab extensions it loads
    assert '"name": "@jupyter/nbgrader"' in lab_page or '"name":"@jupyter/nbgrader"' in lab_page
    status, _ = lab.get("/formgrader/api/assignments")  # the formgrader server extension answers
    assert status == 200
