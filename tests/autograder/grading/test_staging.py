"""The static scan and the staging of submissions (no kernel: fast)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook

from autograder.grading.staging import read_submission, source_profile, stage_notebook
from autograder.grading.tamper import scan_cell

PROTECTED = {"check": "autograder.check", "np": "numpy"}
REQUIRED = {"relu_forward"}


def flagged(source):
    return scan_cell(source, REQUIRED, {"np"}, PROTECTED)


@pytest.mark.parametrize("source", [
    "import numpy as np\nnp.allclose = lambda *a, **k: True",
    "import numpy\nnumpy.testing.assert_allclose = print",
    "np.random.seed = None",
    "del np.allclose",
    "np.linalg.norm, x = print, 1",
    "import autograder\nautograder.check = lambda *a, **k: None",
    "from autograder.check import compare",
    "check = lambda *a, **k: None",
    "def check(*args):\n    pass",
    "np = None",
    "from course_lib.layers import relu_forward",
    "from course_lib.layers import affine_forward as relu_forward",
    "import course_lib.layers as L\nrelu_forward = L.relu_forward",
    "import builtins\nbuiltins.AssertionError = Exception",
    "__builtins__['len'] = None",
    "exec('np.allclose = print')",
    "get_ipython().input_transformers_post.append(lambda lines: [])",
    "import sys\nsys.modules['autograder'] = None",
    "import os\nos._exit(0)",
    "import os\nos.environ['AUTOGRADER_HIDDEN_SEED'] = '1'",
    "!rm -rf /",
    "%run other.py",
    "%%bash\nls",
    "%time np.allclose = print",
    "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)",
    "import resource",
    "f = relu_forward.__code__",
    "import importlib\nimportlib.reload(np)",
    "setattr(np, 'allclose', print)",
])
def test_tampering_is_flagged(source):
    assert flagged(source), source


@pytest.mark.parametrize("source", [
    "def relu_forward(x):\n    out = np.maximum(x, 0.0)\n    return out, x",
    "import numpy as np\nx = np.ones(3)\nx[0] = 2.0\nx += 1",
    "from course_lib.layers import affine_forward\nout, cache = affine_forward(x, w, b)",
    "%matplotlib inline\nimport matplotlib.pyplot as plt",
    "%time y = np.sum(np.ones(3))",
    "class Net:\n    def __init__(self):\n        self.w = np.zeros(3)",
    "dx = np.zeros((3, 4))\ndx[np.arange(3), y] -= 1.0",
    "a, (b, c) = 1, (2, 3)",
    "from autograder.check.environment import is_autograding\nepochs = 1 if is_autograding() else 20",
    "def relu_forward(x)\n    return x",  # does not parse: it cannot run, so it cannot cheat
])
def test_ordinary_student_code_is_not_flagged(source):
    assert flagged(source) == []


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["allclose", "isclose", "array_equal", "testing"]), st.sampled_from(["np", "numpy"]))
def test_any_numpy_attribute_assignment_is_flagged(attribute, alias):
    assert flagged(f"import numpy as np\nimport numpy\n{alias}.{attribute} = None")


def _profile():
    source = new_notebook(cells=[
        new_code_cell("import numpy as np\nfrom autograder import check",
                      metadata={"nbgrader": {"grade_id": "setup", "locked": True, "grade": False, "solution": False}}),
        new_code_cell("def relu_forward(x):\n    ### BEGIN SOLUTION\n    return x, x\n    ### END SOLUTION",
                      metadata={"nbgrader": {"grade_id": "relu", "solution": True, "grade": False, "locked": False}}),
        new_code_cell('check("selftest.relu_forward", relu_forward)',
                      metadata={"nbgrader": {"grade_id": "test_relu", "grade": True, "solution": False,
                                             "locked": True, "points": 2}}),
    ])
    return source, source_profile(source)


def test_profile_protects_what_locked_cells_import_and_requires_solution_names():
    _, profile = _profile()
    assert profile.protected_names == PROTECTED
    assert profile.required_names == {"relu_forward"}
    assert profile.locked_ids == {"setup", "test_relu"}


def test_staging_resets_test_metadata_and_strips_tags():
    source, profile = _profile()
    submitted = source.copy()
    test = submitted.cells[2]
    test.metadata["nbgrader"].update(solution=True, points=100)
    test.metadata["tags"] = ["skip-execution"]
    staged, notices = stage_notebook(submitted, profile)
    assert staged.cells[2].metadata == {"nbgrader": profile.nbgrader_meta["test_relu"]}
    assert notices == []
    assert submitted.cells[2].metadata["tags"] == ["skip-execution"]  # the original is untouched


def test_staging_disables_a_flagged_cell_and_adds_a_notice():
    source, profile = _profile()
    submitted = source.copy()
    submitted.cells.insert(2, new_code_cell("np.allclose = lambda *a, **k: True"))
    staged, notices = stage_notebook(submitted, profile)
    assert len(notices) == 1 and "np.allclose" in notices[0]
    assert staged.cells[0].cell_type == "markdown" and "Autograder notice" in staged.cells[0].source
    disabled = staged.cells[3].source
    assert disabled.startswith("raise RuntimeError(") and "# np.allclose = lambda" in disabled


def test_duplicate_test_ids_keep_only_the_last_like_nbgrader():
    source, profile = _profile()
    submitted = source.copy()
    impostor = new_code_cell("pass", metadata={"nbgrader": dict(source.cells[2].metadata["nbgrader"])})
    submitted.cells.insert(1, impostor)
    staged, _ = stage_notebook(submitted, profile)
    assert staged.cells[1].metadata == {}
    assert staged.cells[3].metadata["nbgrader"]["grade_id"] == "test_relu"


def test_a_deleted_test_cell_after_a_read_only_cell_is_put_back_in_place():
    # nbgrader's own restore looks the preceding cell up among grade and solution cells only,
    # so after a read-only cell it raises KeyError and the whole submission scored 0
    source, _ = _profile()
    given = new_code_cell("trained = relu_forward", metadata={"nbgrader": {
        "grade_id": "given_code", "locked": True, "grade": False, "solution": False}})
    source.cells.insert(2, given)
    profile = source_profile(source)
    submitted = source.copy()
    submitted.cells = [c for c in submitted.cells if c.metadata["nbgrader"]["grade_id"] != "test_relu"]
    staged, notices = stage_notebook(submitted, profile)
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in staged.cells]
    assert ids == [None, "setup", "relu", "given_code", "test_relu"]  # None: the notice cell
    assert staged.cells[4].source == source.cells[3].source
    assert notices == ["Cell `test_relu` was missing from the submission; the grader put the original back."]


@pytest.mark.parametrize("content", [b"{not json", b"", b'{"cells": 3}', b"\xff\xfe"])
def test_unreadable_files_are_reported_not_raised(tmp_path, content):
    path = tmp_path / "nb.ipynb"
    path.write_bytes(content)
    nb, reason = read_submission(path)
    assert nb is None and reason.startswith("the file is not a valid notebook")
