"""The judge's side of a runner: the process, and proxies for the objects that stay in it.

A verdict runs in the judge exactly as it would next to the student's code: it receives
proxies (`Remote`) and calls them, reads their attributes, applies operators to them. Each
of those becomes one request to the runner (runner.py); the answer is plain data, or a
handle that becomes another proxy. One proxy per remote object, so `is` and identity-keyed
dicts behave as they would in one process; a proxy's class carries the remote type's name,
so messages saying "got a Value" still read right. Arrays the runner's call changed in place
are changed in place here too, so "you modified your input" diagnoses still work.

Objects the student's code must receive (a test function, a model, a graph of nodes) are
made in the runner by verdict helpers marked `@in_runner`: called in the judge while a
runner is active, such a helper runs there and returns a proxy. Nothing from the judge
process ever reaches the runner but plain data and handles.

Limits: every request shares the check's deadline; a check makes at most MAX_REQUESTS; an
answer longer than `max_bytes` or malformed, a runner that exits or writes garbage, ends the
check with `RunnerFailed` (a BaseException, so a verdict's `except Exception` cannot swallow
it). Bytes before an answer's marker are skipped (wire.MarkedFrameReader).
"""
import base64
import builtins
import functools
import json
import os
import signal
import subprocess
import threading

import numpy as np

from autograder.check import wire

STDERR_TAIL_BYTES = 1500
MAX_REQUESTS = 100_000  # per check; the course's verdicts make at most a few thousand
_ACTIVE = threading.local()


class RunnerFailed(BaseException):
    """The runner crashed, hung, or broke the protocol; str() is the student-facing message."""


class RemoteError(Exception):
    """Base of the judge-side copies of exceptions raised in the runner. Attributes:
    remote_type (name), where ({file, line, function} of the student's frame, or None),
    by_student (the student's own code raised it), exit_code (repr, for SystemExit)."""


@functools.lru_cache(maxsize=None)
def _exception_class(type_name, builtin_name):
    """A judge-side class named like the runner's exception, deriving from its nearest
    builtin base (so `except ValueError` in a verdict still catches a student's ValueError)."""
    base = getattr(builtins, builtin_name, Exception)
    if not (isinstance(base, type) and issubclass(base, Exception)):
        base = Exception
    return type(type_name, (RemoteError, base), {"__module__": "runner"})


def raise_remote(raised):
    """Raise the judge-side copy of the exception the runner described."""
    from autograder.check.compare import WrongAnswer
    from autograder.check.runner import ForbiddenCall

    kind, message = raised["type"], raised["message"]
    if kind == "ForbiddenCall":
        raise ForbiddenCall(message)
    if kind == "WrongAnswer":  # raised by a verdict helper that ran in the runner
        raise WrongAnswer(message)
    if kind in ("SystemExit", "KeyboardInterrupt"):
        error = getattr(builtins, kind)(message)
    else:
        args = raised.get("args")
        args = args if isinstance(args, tuple) else (message,)
        try:
            error = _exception_class(kind, raised["builtin"])(*args)
        except TypeError:  # a base whose constructor wants other arguments
            error = _exception_class(kind, "Exception")(message)
    error.remote_type = kind
    error.where, error.by_student, error.exit_code = raised["where"], raised["by_student"], raised["exit_code"]
    raise error


# ---------------------------------------------------------------------------- the process

class RunnerProcess:
    """One runner: started from `command` (argv) in `cwd` with `env`; every request must be
    answered before `deadline` (time.monotonic()). `watch`: a descriptor that becomes
    readable when whoever asked for the check stops waiting (the runner is then stopped)."""

    def __init__(self, command, env, cwd, deadline, timeout_message, max_bytes=wire.DEFAULT_MAX_BYTES,
                 watch=None):
        self.deadline, self.watch = deadline, watch
        self.timeout_message = timeout_message
        self.max_bytes = max_bytes
        self.proxies = {}
        self.marker = os.urandom(16)
        self._next_id = 0
        self._tail = bytearray()
        stderr_read, stderr_write = os.pipe()
        try:
            self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                            stderr=stderr_write, env=env, cwd=cwd,
                                            start_new_session=True)
        finally:
            os.close(stderr_write)
        self._reader = threading.Thread(target=_keep_tail, args=(stderr_read, self._tail), daemon=True)
        self._reader.start()
        self._answers = wire.MarkedFrameReader(self.process.stdout.fileno(), self.marker, max_bytes)

    # ---- requests

    def request(self, op, **fields):
        """Send one request; return the decoded answer (proxies for handles)."""
        self._next_id += 1
        if self._next_id > MAX_REQUESTS:
            raise self._failure(f"the check asked your code more than {MAX_REQUESTS} questions")
        body = wire.encode({"op": op, "id": self._next_id, **fields}, self._handle_of)
        try:
            wire.write_frame(self.process.stdin.fileno(), body.encode("utf-8"))
            frame = self._answer_to(self._next_id)
        except wire.WireAbandoned:
            self.close()
            raise RunnerFailed("the check was abandoned: the notebook stopped waiting for it") from None
        except wire.WireTimeout:
            self.close()
            raise RunnerFailed(self.timeout_message) from None
        except (wire.WireError, OSError) as error:
            raise self._failure(f"its answer broke the protocol ({error})") from None
        if frame is None:
            raise self._failure(None)
        try:
            answer = wire.decode(frame.decode("utf-8"), self._proxy_for)
        except (wire.WireError, UnicodeDecodeError) as error:
            raise self._failure(f"its answer broke the protocol ({error})") from None
        if "raised" in answer:
            raise_remote(answer["raised"])
        return answer.get("value"), answer.get("changed", [])

    def _answer_to(self, request_id):
        """The payload of the first marked frame answering `request_id` (a marked frame for
        another request can only be one the student's code wrote: it is skipped)."""
        while True:
            frame = self._answers.read(self.deadline, self.watch)
            if frame is None:
                return None
            try:
                if json.loads(frame.decode("utf-8")).get("id") == request_id:
                    return frame
            except (ValueError, UnicodeDecodeError, AttributeError):
                raise wire.WireError("an answer that is not this codec's data") from None

    def value(self, op, **fields):
        return self.request(op, **fields)[0]

    def _handle_of(self, obj):
        if isinstance(obj, Remote) and object.__getattribute__(obj, "_runner") is self:
            return {"__handle__": object.__getattribute__(obj, "_handle"), "type": "?"}
        raise TypeError(f"cannot send a {type(obj).__name__} to the runner: only plain data and "
                        "the runner's own objects travel; make it there with an @in_runner helper")

    def _proxy_for(self, handle):
        key = handle["__handle__"]
        if key not in self.proxies:
            proxy = object.__new__(_proxy_class(handle["type"]))
            object.__setattr__(proxy, "_runner", self)
            object.__setattr__(proxy, "_handle", key)
            self.proxies[key] = proxy
        return self.proxies[key]

    # ---- ending

    def _failure(self, problem):
        """RunnerFailed for a runner that died or broke the protocol (it is killed first)."""
        self.close()
        status = self.process.returncode
        if problem is None and isinstance(status, int) and status < 0:
            how = f"was killed by signal {signal.Signals(-status).name}"
            if status == -signal.SIGKILL:
                how += " (often: out of memory)"
        elif problem is None:
            how = f"exited with code {status} before answering"
        else:
            how = f"was stopped: {problem}"
        lines = [f"the process running your code {how}. Did your code call os._exit(), exit the "
                 "interpreter, crash Python or write to the grader's channel?"]
        tail = self.stderr_tail()
        if tail.strip():
            lines.append("last output:\n" + tail.strip()[-STDERR_TAIL_BYTES:])
        return RunnerFailed("\n  ".join(lines))

    def stderr_tail(self):
        self._reader.join(timeout=0 if self.process.poll() is None else 5)
        return self._tail.decode("utf-8", errors="replace")

    def close(self):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass
        self.process.wait()


def _keep_tail(fd, tail):
    """Read fd to its end (then close it), keeping only the last bytes in `tail`."""
    with os.fdopen(fd, "rb", buffering=0) as stream:
        for chunk in iter(lambda: stream.read(65536), b""):
            tail += chunk
            del tail[:-STDERR_TAIL_BYTES]


# ---------------------------------------------------------------------------- proxies

class Remote:
    """An object that lives in the runner; every use is a request (see the module docstring)."""

    __slots__ = ("_runner", "_handle", "__weakref__")

    def _ask(self, op, **fields):
        return object.__getattribute__(self, "_runner").value(op, target=self, **fields)

    def __getattr__(self, name):
        return self._ask("getattr", name=name)

    def __setattr__(self, name, value):
        self._ask("setattr", name=name, value=value)

    def __call__(self, *args, **kwargs):
        runner = object.__getattribute__(self, "_runner")
        value, changed = runner.request("call", target=self, args=list(args), kwargs=kwargs)
        for key, after in changed:
            _apply_in_place(args[key] if isinstance(key, int) else kwargs[key], after)
        return value

    def __getitem__(self, key):
        return self._ask("getitem", key=key)

    def __setitem__(self, key, value):
        self._ask("setitem", key=key, value=value)

    def __len__(self):
        return self._ask("len")

    def __iter__(self):
        return iter(self._ask("iter"))

    def __bool__(self):
        return self._ask("bool")

    def __str__(self):
        return self._ask("str")

    def __repr__(self):
        return self._ask("repr")

    def __float__(self):
        return self._ask("convert", name="float")

    def __int__(self):
        return self._ask("convert", name="int")

    def __index__(self):
        return self._ask("convert", name="index")

    def __complex__(self):
        return self._ask("convert", name="complex")

    def __contains__(self, item):
        return bool(_operator("contains", self, item))

    __hash__ = object.__hash__  # one proxy per remote object: identity is the remote identity


def _runner_of(*values):
    return next(object.__getattribute__(v, "_runner") for v in values if isinstance(v, Remote))


def _operator(name, *args):
    return _runner_of(*args).value("operator", name=name, args=list(args))


def _binary(name, reflected=False):
    if reflected:
        return lambda self, other: _operator(name, other, self)
    return lambda self, other: _operator(name, self, other)


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or", "xor"):
    _op = _name + "_" if _name in ("and", "or") else _name
    setattr(Remote, f"__{_name}__", _binary(_op))
    setattr(Remote, f"__r{_name}__", _binary(_op, reflected=True))
for _name in ("eq", "ne", "lt", "le", "gt", "ge"):
    setattr(Remote, f"__{_name}__", _binary(_name))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(Remote, f"__{_name}__", functools.partialmethod(lambda self, op: _operator(op, self), _name))


@functools.lru_cache(maxsize=None)
def _proxy_class(type_name):
    return type(type_name, (Remote,), {"__slots__": (), "__module__": "runner"})


def _apply_in_place(original, after):
    """Make `original` (an argument the judge sent) equal to `after`, in place where it can."""
    if isinstance(original, np.ndarray) and isinstance(after, np.ndarray) and original.shape == after.shape:
        if original.flags.writeable:
            original[...] = after
    elif isinstance(original, dict) and isinstance(after, dict):
        for key in [k for k in original if k not in after]:
            del original[key]
        for key, value in after.items():
            if key in original and _same_kind(original[key], value):
                _apply_in_place(original[key], value)
            else:
                original[key] = value
    elif isinstance(original, list) and isinstance(after, list):
        if len(original) == len(after):
            for i, value in enumerate(after):
                if _same_kind(original[i], value):
                    _apply_in_place(original[i], value)
                else:
                    original[i] = value
        else:
            original[:] = after


def _same_kind(original, after):
    return (isinstance(original, (np.ndarray, dict, list)) and type(original) is type(after)
            and (not isinstance(original, np.ndarray) or original.shape == after.shape))


# ---------------------------------------------------------------------------- @in_runner

def active_runner():
    """The runner the current verdict talks to, or None outside a judged check."""
    return getattr(_ACTIVE, "runner", None)


class running_with:
    """Context manager: verdict helpers marked @in_runner run in `runner` meanwhile."""

    def __init__(self, runner):
        self.runner = runner

    def __enter__(self):
        self.previous, _ACTIVE.runner = active_runner(), self.runner

    def __exit__(self, *exc_info):
        _ACTIVE.runner = self.previous


class Trace:
    """What an @in_runner helper's instruments record while the student's code runs: `calls`,
    in call order. It lives in the runner; the verdict reads `trace.calls` (plain data) once
    the student's code has returned."""

    def __init__(self):
        self.calls = []


def in_runner(helper):
    """Mark a verdict helper that makes or instruments objects the student's code receives
    (a test function, a model, a graph): during a judged check it runs in the runner, on
    plain data and the runner's objects, and returns proxies; elsewhere it runs here."""
    @functools.wraps(helper)
    def wrapper(*args, **kwargs):
        runner = active_runner()
        if runner is None:
            return helper(*args, **kwargs)
        return runner.value("build", function=f"{helper.__module__}:{helper.__qualname__}",
                            args=list(args), kwargs=kwargs)

    wrapper.__in_runner__ = True
    return wrapper


def as_text(raw):
    """Bytes (the kernel's pickled objects, the answers' marker) as base64 text for a request."""
    return base64.b64encode(raw).decode("ascii")
