"""Case data: plain data round-trips exactly, anything else is refused, and check() finds it."""
import json

import numpy as np
import pytest

from autograder.check import casedata
from autograder.grading.judge_service import load_cases
from autograder.exercises import casebook


def test_plain_data_round_trips_with_types_shapes_and_dtypes():
    data = {"x": np.arange(6, dtype=np.float64).reshape(2, 3), "mask": np.array([True, False]),
            "labels": np.array([3, 1], dtype=np.int64), "pair": (1, 2.5), "items": [None, "a", np.nan],
            "empty": np.zeros((0, 4)), "scalar": np.float64(2.0)}
    back = casedata.loads(casedata.dumps(data))
    for key in ("x", "mask", "labels", "empty"):
        assert back[key].dtype == data[key].dtype and back[key].shape == data[key].shape
        np.testing.assert_array_equal(back[key], data[key])
    assert back["pair"] == (1, 2.5) and back["items"][:2] == [None, "a"] and np.isnan(back["items"][2])
    assert back["scalar"] == 2.0 and type(back["scalar"]) is float
    assert back["x"].flags.writeable  # a verdict may hand it to student code that writes into it


@pytest.mark.parametrize("value, named", [
    (lambda v: v, "function"), (np.array(["a"], dtype=object), "object"), ({1: 2}, "str keys"),
    (object(), "object"),
])
def test_anything_but_plain_data_is_refused(value, named):
    with pytest.raises(TypeError, match=named):
        casedata.dumps({"case": value})


def test_decoding_refuses_object_arrays():
    text = json.dumps({"__array__": "|O", "shape": [1], "data": ""})
    with pytest.raises(ValueError, match="dtype object"):
        casedata.loads(text)


def test_computed_cases_are_what_a_case_file_would_hold():
    computed = casebook.compute("selftest.affine_backward", hidden=False)
    from_file = casedata.loads(casebook.case_file_text(["selftest.affine_backward"], hidden=False))
    assert len(computed) == len(from_file["selftest.affine_backward"]) == 2
    for ours, theirs in zip(computed, from_file["selftest.affine_backward"]):
        assert ours.keys() == theirs.keys()
        assert all(np.array_equal(ours[k], theirs[k]) for k in ours)


def test_the_judge_reads_visible_cases_from_the_edition_and_hidden_ones_from_the_graders_file(tmp_path):
    package = tmp_path / "edition" / "autograder" / "exercises" / "selftest"
    package.mkdir(parents=True)
    (package / casedata.VISIBLE_CASES_FILE).write_text(casebook.case_file_text(["selftest.square_derivative"], hidden=False))
    hidden = {"selftest.square_derivative": [{"x": np.array([5.0]), "dfdx": np.array([10.0])}]}
    (tmp_path / "hidden_cases.json").write_text(casedata.dumps(hidden))
    cases = load_cases(tmp_path / "edition", tmp_path / "hidden_cases.json")
    assert set(cases) == {("selftest.square_derivative", False), ("selftest.square_derivative", True)}
    assert np.array_equal(cases[("selftest.square_derivative", True)][0]["dfdx"], [10.0])


def test_a_student_copy_has_no_hidden_cases(monkeypatch):
    import sys

    import autograder.exercises
    # what a student edition lacks: the casebook (and with it every way to hidden cases)
    monkeypatch.delattr(autograder.exercises, "casebook")
    monkeypatch.setitem(sys.modules, "autograder.exercises.casebook", None)
    with pytest.raises(casedata.CasesUnavailable, match="hidden tests run only while your instructor grades"):
        casedata.case_data("selftest.square_derivative", hidden=True)
