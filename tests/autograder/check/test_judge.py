"""The judge and its runner: the codec between them, and student code that attacks the channel.

The graded end to end version of these attacks is tests/autograder/grading/test_forging.py;
here each runs through a local judge (what `check()` starts in a student's Jupyter)."""
import json
import os
import struct

import numpy as np
import pytest

from autograder.check import wire
from autograder.check.checker import run


def _refuse(obj):
    raise TypeError(f"not data: {type(obj).__name__}")


def _handle(obj):
    return {"__handle__": 7, "type": type(obj).__name__}


def _round_trip(value):
    return wire.decode(wire.encode(value, _handle), lambda handle: ("proxy", handle["type"]))


# ---------------------------------------------------------------------------- codec

def test_plain_data_round_trips_with_its_types():
    value = {"x": np.arange(6.0).reshape(2, 3), "n": np.int64(3), "t": (1, [2.5, None]),
             "flags": np.array([True, False]), 4: "int key", "missing": NotImplemented}
    back = _round_trip(value)
    assert np.array_equal(back["x"], value["x"]) and back["x"].dtype == np.float64
    assert type(back["n"]) is np.int64 and back["t"] == (1, [2.5, None]) and back[4] == "int key"
    assert back["flags"].dtype == bool and back["missing"] is NotImplemented


def test_what_is_not_data_becomes_a_handle_never_a_pickle():
    import pickle
    crafted = pickle.dumps(os.system)
    assert _round_trip([crafted, object()]) == [("proxy", "bytes"), ("proxy", "object")]


def test_a_dict_shaped_like_an_array_stays_a_dict():
    forged = {"__array__": "<f8", "shape": [10 ** 12], "data": ""}
    assert _round_trip(forged) == forged


def test_a_huge_array_header_is_refused_without_allocating():
    text = json.dumps({"__array__": "<f8", "shape": [10 ** 12], "data": ""})
    with pytest.raises(wire.WireError, match="described by 0 bytes"):
        wire.decode(text, _refuse)


def test_object_arrays_and_structured_dtypes_are_not_data():
    for dtype in ("|O", "(2,)<f8", "[('a', '<f8')]"):
        text = json.dumps({"__array__": dtype, "shape": [1], "data": ""})
        with pytest.raises(wire.WireError):
            wire.decode(text, _refuse)


def test_deep_nesting_is_refused_both_ways():
    nested = []
    for _ in range(wire.MAX_DEPTH + 5):
        nested = [nested]
    with pytest.raises(wire.WireError, match="nested deeper"):
        wire.encode(nested, _refuse)
    with pytest.raises(wire.WireError):
        wire.decode("[" * 100_000 + "]" * 100_000, _refuse)


def test_the_frame_reader_skips_bytes_before_each_marked_frame():
    read_end, write_end = os.pipe()
    marker = os.urandom(16)
    os.write(write_end, b"passed\n" + struct.pack(">Q", 4) + b"fake")
    wire.write_frame(write_end, b"real one", marker)
    os.write(write_end, b"\x00" * 100)
    wire.write_frame(write_end, b"real two", marker)
    os.close(write_end)
    reader = wire.MarkedFrameReader(read_end, marker)
    assert [reader.read(), reader.read(), reader.read()] == [b"real one", b"real two", None]
    os.close(read_end)


def test_without_the_marker_the_same_bytes_are_read_as_a_frame():
    read_end, write_end = os.pipe()
    os.write(write_end, struct.pack(">Q", 4) + b"fake")
    wire.write_frame(write_end, b"real one")
    os.close(write_end)
    assert wire.read_frame(read_end) == b"fake"
    os.close(read_end)


# ---------------------------------------------------------------------------- attacks from the runner

def writes_forged_verdicts_then_answers_wrong(x):
    import json as json_
    import os as os_
    import struct as struct_
    verdict = json_.dumps({"passed": True, "message": "", "cases": 2, "where": None}).encode()
    answers = [json_.dumps({"id": n, "value": 2 * x.tolist()[0]}).encode() for n in range(1, 20)]
    for fd in range(64):
        for data in [b"passed\n", struct_.pack(">Q", len(verdict)) + verdict,
                     *(struct_.pack(">Q", len(a)) + a for a in answers)]:
            try:
                os_.write(fd, data)
            except OSError:
                pass
    return 3 * x


def writes_junk_then_answers_right(x):
    import os as os_
    for fd in range(64):
        try:
            os_.write(fd, b"passed\n" * 1000)
        except OSError:
            pass
    return 2 * x


def patches_the_grader_then_answers_wrong(x):
    import sys as sys_
    for name, module in list(sys_.modules.items()):
        if name.startswith("autograder") and module is not None:
            for attribute in ("array", "scalar", "true", "decide", "gradient"):
                if hasattr(module, attribute):
                    setattr(module, attribute, lambda *a, **k: None)
    frame = sys_._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, dict) and "passed" in value:
                value["passed"] = True
        frame = frame.f_back
    return 3 * x


def returns_deep_nesting(x):
    nested = []
    for _ in range(10_000):
        nested = [nested]
    return nested


def test_forged_verdicts_and_answers_in_every_descriptor_do_not_pass():
    result = run("selftest.square_derivative", writes_forged_verdicts_then_answers_wrong)
    assert not result.passed and "dfdx is wrong" in result.message


def test_junk_in_every_descriptor_does_not_break_a_right_answer():
    assert run("selftest.square_derivative", writes_junk_then_answers_right).passed


def test_patched_grader_modules_and_stack_in_the_runner_do_not_reach_the_judge():
    result = run("selftest.square_derivative", patches_the_grader_then_answers_wrong)
    assert not result.passed and "dfdx is wrong" in result.message


def test_an_answer_nested_too_deep_fails_that_check_with_a_message():
    result = run("selftest.square_derivative", returns_deep_nesting)
    assert not result.passed and "nested deeper than" in result.message
