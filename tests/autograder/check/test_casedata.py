"""Case data: plain data round-trips exactly, anything else is refused, and check() finds it."""
import json

import numpy as np
import pytest

from autograder.check import casedata
from autograder.check.checker import run
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


def test_hidden_cases_come_from_the_graders_file_when_it_is_set(tmp_path, monkeypatch):
    hidden = {"selftest.square_derivative": [{"x": np.array([5.0]), "dfdx": np.array([10.0])}]}
    path = tmp_path / "hidden_cases.json"
    path.write_text(casedata.dumps(hidden))
    monkeypatch.setenv(casedata.HIDDEN_CASES_ENV, str(path))
    assert run("selftest.square_derivative", lambda x: 2 * x, hidden=True).cases == 1
    result = run("selftest.relu_forward", lambda x: (np.maximum(x, 0), None), hidden=True)
    assert not result.passed and "holds no cases for 'selftest.relu_forward'" in result.message
