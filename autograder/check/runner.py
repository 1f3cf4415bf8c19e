"""The runner: the only process where a student's objects execute while they are checked.

Started by the judge (judge.py) as `python -I -c <bootstrap> <support root>`, on its own
(in the student's Jupyter) or inside a grading sandbox (while an instructor grades). It
answers the judge's requests, one frame each way (wire.py), until its stdin ends:

    load      {"forbid": [...], "objects": base64 cloudpickle,
               "marker": base64}                                -> the objects
    call      {"target", "args", "kwargs"}                      -> the result, and the
              arguments the call changed in place ("changed"), so the judge can apply them
    getattr / setattr / getitem / setitem / len / iter / bool / str / repr / convert
    operator  {"name": "mul", "args": [...]}                    -> operator.mul(*args)
    build     {"function": "module:qualname", "args", "kwargs"} -> a verdict helper marked
              @in_runner, run here because it makes objects the student's code receives
    forbidden {}                                                -> forbidden calls made so far

Answers are {"id": n, "value": ...} or {"id": n, "raised": {...}}. Values are plain data or
handles to objects that stay here (wire.py); nothing is pickled towards the judge. The
answer channel is a private copy of fd 1: fd 1 itself is pointed at stderr, so what the
student's code prints cannot mix with answers (the judge keeps the tail of stderr). Every
answer starts with the marker the judge sent in `load`, and the judge skips anything else
in the channel: bytes the student's code writes into it by itself do not break the answers.
(Code here can always write an answer of its own: an answer is only what the student's
code returned, which the verdict checks, never a verdict.)

Forbidden course_lib functions: before the objects are unpickled, every forbidden function
is replaced on the course_lib modules by a stub that always raises, so the student's
by-reference `affine_backward` binds to it; afterwards by a stub that raises only when
student code is on the call stack, so course_lib's own internals and the verdict helpers
still work. A forbidden call fails the exercise even if the student's code catches it.
"""
import base64
import builtins
import hashlib
import importlib
import json
import operator
import os
import sys
import traceback

from autograder.check import wire
from autograder.check.trust import is_installed_file

OPERATORS = frozenset({
    "add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "neg", "pos", "abs",
    "eq", "ne", "lt", "le", "gt", "ge", "contains", "and_", "or_", "xor", "invert",
})
CONVERSIONS = {"float": float, "int": int, "complex": complex, "index": operator.index}
MAX_ITEMS = 1_000_000


class ForbiddenCall(BaseException):
    """Raised when student code calls a forbidden course_lib function (not an Exception,
    so `except Exception` in the student's code does not hide it)."""


def _student_code_on_stack(frame):
    while frame is not None:
        if not is_installed_file(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


class ForbiddenFunctions:
    """Replaces the forbidden course_lib functions on every loaded course_lib module."""

    def __init__(self, dotted_names):
        from autograder.check.registry import resolve

        self.originals = {name: resolve(name) for name in dotted_names}
        self.calls = []
        self._stubs = {name: [] for name in dotted_names}  # name -> its earlier stubs, kept alive

    @staticmethod
    def message(name):
        return f"you may not call {name} in this exercise: write this part yourself."

    def _strict_stub(self, name):
        def forbidden(*args, **kwargs):
            self.calls.append(name)
            raise ForbiddenCall(self.message(name))
        return forbidden

    def _guarded_stub(self, name, original):
        def forbidden_to_students(*args, **kwargs):
            if _student_code_on_stack(sys._getframe(1)):
                self.calls.append(name)
                raise ForbiddenCall(self.message(name))
            return original(*args, **kwargs)
        return forbidden_to_students

    def install(self, strict):
        """Put a stub wherever a course_lib module exposes an original (or an earlier stub)."""
        for name, original in self.originals.items():
            stub = self._strict_stub(name) if strict else self._guarded_stub(name, original)
            stub.__name__ = stub.__qualname__ = name.rpartition(".")[2]
            # Only this name's original and its own earlier stubs: another forbidden
            # name's stub must keep pointing at that name's original.
            replaced = {id(original)} | {id(s) for s in self._stubs[name]}
            for module_name, module in list(sys.modules.items()):
                if module is None or not (module_name == "course_lib"
                                          or module_name.startswith("course_lib.")):
                    continue
                for attribute, value in list(vars(module).items()):
                    if id(value) in replaced:
                        setattr(module, attribute, stub)
            self._stubs[name].append(stub)


# ---------------------------------------------------------------------------- exceptions

def student_frame(tb):
    """{file, line, function} of the innermost student frame of a traceback, or None."""
    frames = [f for f in traceback.extract_tb(tb) if not is_installed_file(f.filename)]
    if not frames:
        return None
    last = frames[-1]
    return {"file": last.filename, "line": last.lineno, "function": last.name}


def _safe_str(error):
    try:
        return str(error)
    except BaseException:  # a student's exception class with a broken __str__
        return "<unprintable message>"


def describe_raised(error):
    """What the judge needs to re-raise `error` there and explain it (plain data)."""
    builtin = next((k.__name__ for k in type(error).__mro__
                    if getattr(builtins, k.__name__, None) is k), "BaseException")
    frames = traceback.extract_tb(error.__traceback__)
    return {
        "type": type(error).__name__,
        "builtin": builtin,
        "message": _safe_str(error)[:10_000],
        "args": _plain_arguments(error.args),
        "where": student_frame(error.__traceback__),
        # the student's own code raised it, not a course_lib function it called (the
        # student edition's left-out answers raise NotImplementedError with their own message)
        "by_student": bool(frames) and not is_installed_file(frames[-1].filename),
        "exit_code": repr(error.code)[:200] if isinstance(error, SystemExit) else None,
    }


def _plain_arguments(args):
    """The exception's args when they are plain data (so KeyError('x').args[0] stays 'x'), else None."""
    def refuse(obj):
        raise TypeError("not plain data")
    try:
        return wire.encode_value(args, refuse) if len(str(args)) < 10_000 else None
    except BaseException:
        return None


# ---------------------------------------------------------------------------- the server

class Runner:
    """The handle table and the request handlers of one runner process."""

    def __init__(self):
        self.objects = {}  # handle -> object (kept alive, so id() stays unique)
        self.handles = {}  # id(object) -> handle
        self.forbidden = None
        self.marker = b""

    def handle_for(self, obj):
        key = id(obj)
        if key not in self.handles:
            self.handles[key] = len(self.objects)
            self.objects[self.handles[key]] = obj
        return {"__handle__": self.handles[key], "type": type(obj).__name__[:200]}

    def resolve(self, handle):
        try:
            return self.objects[handle["__handle__"]]
        except KeyError:
            raise wire.WireError(f"no object has handle {handle['__handle__']}") from None

    def encode(self, value):
        return wire.encode(value, self.handle_for)

    # ---- requests

    def load(self, forbid, objects, marker):
        import cloudpickle
        import numpy  # noqa: F401  (before the student's objects exist)

        import course_lib  # noqa: F401

        self.marker = base64.b64decode(marker)
        self.forbidden = ForbiddenFunctions(forbid)
        self.forbidden.install(strict=True)
        loaded = cloudpickle.loads(base64.b64decode(objects))
        self.forbidden.install(strict=False)
        return list(loaded)

    def call(self, target, args, kwargs):
        before = [(key, _fingerprint(value)) for key, value in _mutable_arguments(args, kwargs)]
        result = target(*args, **kwargs)
        changed = [(key, self.encode(_argument(args, kwargs, key))) for key, print_before in before
                   if _fingerprint(_argument(args, kwargs, key)) != print_before]
        return result, changed

    def build(self, function, args, kwargs):
        module_name, _, qualname = function.partition(":")
        if not module_name.startswith("autograder.exercises."):
            raise ValueError(f"build: {function} is not an exercise helper")
        helper = importlib.import_module(module_name)
        for part in qualname.split("."):
            helper = getattr(helper, part)
        if not getattr(helper, "__in_runner__", False):
            raise ValueError(f"build: {function} is not marked @in_runner")
        return helper(*args, **kwargs)

    def answer(self, request):
        """The value a request asks for (an exception propagates to `serve`)."""
        op, fields = request["op"], request
        if op == "load":
            return self.load(fields["forbid"], fields["objects"], fields["marker"]), None
        if op == "call":
            return self.call(fields["target"], fields["args"], fields["kwargs"])
        if op == "build":
            return self.build(fields["function"], fields["args"], fields["kwargs"]), None
        if op == "forbidden":
            return list(self.forbidden.calls if self.forbidden else []), None
        target = fields.get("target")
        simple = {
            "getattr": lambda: getattr(target, fields["name"]),
            "setattr": lambda: setattr(target, fields["name"], fields["value"]),
            "getitem": lambda: target[fields["key"]],
            "setitem": lambda: operator.setitem(target, fields["key"], fields["value"]),
            "len": lambda: len(target),
            "iter": lambda: _bounded_list(target),
            "bool": lambda: bool(target),
            "str": lambda: str(target)[:100_000],
            "repr": lambda: repr(target)[:100_000],
            "convert": lambda: CONVERSIONS[fields["name"]](target),
            "operator": lambda: _operator(fields["name"])(*fields["args"]),
        }
        if op not in simple:
            raise ValueError(f"unknown request {op!r}")
        return simple[op](), None

    def serve(self, requests_fd, answers_fd):
        while True:
            frame = wire.read_frame(requests_fd)
            if frame is None:
                return
            request = wire.decode(frame.decode("utf-8"), self.resolve)
            try:
                value, changed = self.answer(request)
                text = json.dumps({"id": request["id"], "value": "__VALUE__"})
                body = text.replace('"__VALUE__"', self.encode(value), 1)
                if changed:
                    body = body[:-1] + ', "changed": [' + ", ".join(
                        f"[{json.dumps(key)}, {after}]" for key, after in changed) + "]}"
            except BaseException as error:  # noqa: B036 -- every failure of student code is an answer
                body = json.dumps({"id": request["id"], "raised": describe_raised(error)})
            _flush_student_output()
            wire.write_frame(answers_fd, body.encode("utf-8"), self.marker)


def _mutable_arguments(args, kwargs):
    import numpy as np

    mutable = (list, dict, np.ndarray)
    return ([(i, v) for i, v in enumerate(args) if isinstance(v, mutable)]
            + [(k, v) for k, v in kwargs.items() if isinstance(v, mutable)])


def _fingerprint(value, depth=0):
    """Something equal before and after a call exactly when `value` (an argument the judge
    sent: arrays, lists and dicts of data and handles) was not changed in place."""
    import numpy as np

    if depth > wire.MAX_DEPTH:
        return None
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value)
        return ("array", data.shape, data.dtype.str, hashlib.blake2b(data.tobytes()).digest()
                if data.dtype.kind != "O" else tuple(map(id, data.ravel())))
    if isinstance(value, list):
        return ("list", tuple(_fingerprint(v, depth + 1) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), _fingerprint(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, tuple):
        return ("tuple", tuple(_fingerprint(v, depth + 1) for v in value))
    return ("object", id(value))


def _argument(args, kwargs, key):
    return args[key] if isinstance(key, int) else kwargs[key]


def _bounded_list(iterable):
    items = []
    for item in iterable:
        items.append(item)
        if len(items) > MAX_ITEMS:
            raise ValueError(f"iterating gave more than {MAX_ITEMS} items")
    return items


def _operator(name):
    if name not in OPERATORS:
        raise ValueError(f"operator {name!r} is not forwarded")
    return getattr(operator, name)


def _flush_student_output():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:  # the student's code may have closed or replaced it
            pass


def main():
    """Entry point: keep a private answer channel, send fd 1 to stderr, serve, exit hard."""
    answers_fd = os.dup(1)
    os.dup2(2, 1)
    try:
        Runner().serve(0, answers_fd)
    finally:
        # skip interpreter teardown: atexit handlers or __del__ from student code could hang
        os._exit(0)


if __name__ == "__main__":
    main()
