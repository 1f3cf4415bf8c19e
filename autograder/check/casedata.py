"""Case data: the plain data an exercise's verdict runs on, how it is stored, where check() finds it.

An exercise's cases are computed on the instructor's side (`autograder.exercises.casebook`,
with the reference `course_lib` and, for hidden cases, the secret seed); the student's
side only ever reads their result. That result is plain data, written as JSON:

    dict (str keys), list, tuple, str, int, float (nan/inf too), bool, None,
    numpy arrays of bool, integer or float dtype

Arrays are stored as {"__array__": dtype, "shape": [...], "data": base64 of the bytes};
tuples as {"__tuple__": [...]}. Decoding builds only these types, so reading a case file
can never run code (unlike pickle).

Where check() finds case data:
- visible cases: `visible_cases.json` in the exercise's package (written by
  `python -m autograder release` into the student edition);
- hidden cases: never on the student's side. While grading, the grader's judge holds them
  (autograder.grading.judge_service reads the file the grader wrote with the secret seed);
- in the instructor's repository, both are computed on the spot by
  `autograder.exercises.casebook` (the same function the release and the grader call).
"""
import base64
import json

import numpy as np

VISIBLE_CASES_FILE = "visible_cases.json"
_ARRAY_KINDS = "biuf"  # bool, signed, unsigned, float


class CasesUnavailable(LookupError):
    """The case data of an exercise cannot be found (its message says what to do)."""


# ---------------------------------------------------------------------------- codec

def is_data_array(array):
    """True for a numpy array of bool, integer or float dtype (the only arrays data may hold)."""
    return array.dtype.kind in _ARRAY_KINDS and array.dtype.fields is None


def encode_array(array):
    """{"__array__": dtype, "shape": [...], "data": base64 of the bytes} of a data array."""
    array = np.ascontiguousarray(array)
    return {"__array__": array.dtype.str, "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii")}


def decode_array(value):
    """The array `encode_array` described; ValueError when the description is not one."""
    dtype = np.dtype(value["__array__"])
    if dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"an array of dtype {dtype}")
    shape = value["shape"]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"an array of shape {str(shape)[:100]}")
    raw = base64.b64decode(value["data"], validate=True)
    if len(raw) != dtype.itemsize * int(np.prod(shape, dtype=object)):
        raise ValueError(f"an array of shape {tuple(shape)} described by {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _encode(value):
    if isinstance(value, np.ndarray):
        if not is_data_array(value):
            raise TypeError(f"case data arrays must be bool, int or float, got dtype {value.dtype}")
        return encode_array(value)
    if isinstance(value, np.generic):
        return _encode(value.item())
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError(f"case data dicts need str keys, got {sorted(map(repr, value))[:3]}")
        return {k: _encode(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"case data must be plain data (arrays, numbers, strings, lists, tuples, "
                    f"dicts), got {type(value).__name__}")


def _decode(value):
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if "__array__" in value:
            return decode_array(value)
        if "__tuple__" in value:
            return tuple(_decode(v) for v in value["__tuple__"])
        return {k: _decode(v) for k, v in value.items()}
    return value


def dumps(data):
    """JSON text of plain data (raises TypeError naming anything that is not plain data)."""
    return json.dumps(_encode(data))


def loads(text):
    """The plain data `dumps` wrote."""
    return _decode(json.loads(text))


# ---------------------------------------------------------------------------- lookup

def case_data(exercise_id, hidden):
    """The cases of `exercise_id` (visible or hidden) as plain data; raises CasesUnavailable."""
    source = None if hidden else _visible_file(exercise_id)
    if source is not None:
        all_cases = loads(source.read_text(encoding="utf-8"))
        if exercise_id not in all_cases:
            raise CasesUnavailable(f"{source} holds no cases for {exercise_id!r}: it was written "
                                   "for another assignment; tell your instructor.")
        return all_cases[exercise_id]
    try:
        from autograder.exercises import casebook
    except ImportError:
        if hidden:
            raise CasesUnavailable("the hidden tests run only while your instructor grades "
                                   "the notebook; the visible checks above are the ones to pass.")
        raise CasesUnavailable(f"the visible cases of {exercise_id!r} are missing from this "
                               f"copy of the course (no {VISIBLE_CASES_FILE}); download the "
                               "assignment again.")
    return casebook.compute(exercise_id, hidden)


def _visible_file(exercise_id):
    from autograder.exercises import package_dir

    path = package_dir(exercise_id.split(".", 1)[0]) / VISIBLE_CASES_FILE
    return path if path.is_file() else None
