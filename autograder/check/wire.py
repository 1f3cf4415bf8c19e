"""What crosses between a judge and a runner (or a kernel and a judge): frames of plain data.

A frame is 8 bytes of big-endian length, then that many bytes. Frames of a runner carry
JSON of this codec, which decodes to these types and nothing else, so decoding can never
run code (unlike pickle):

    None, bool, int, float (nan/inf too), str, list, tuple, dict,
    numpy arrays of bool, integer or float dtype, numpy scalars of those dtypes, NotImplemented,
    handles: {"__handle__": n, "type": "Value"} (an object that stays in the runner)

Tuples are {"__tuple__": [...]}, dicts with keys other than str {"__items__": [[k, v], ...]},
arrays {"__array__": dtype, "shape": [...], "data": base64} (casedata's array format), numpy
scalars {"__scalar__": dtype, "value": v}. `encode(value, handle_for)` turns anything that is
not data into a handle through `handle_for(obj) -> {"__handle__": ...}`; `decode(text,
proxy_for)` turns a handle back into `proxy_for(handle_dict)`.

Limits: a frame longer than `max_bytes` or nested deeper than MAX_DEPTH is refused with
WireError before it is decoded.
"""
import json
import os
import select
import struct
import time

import numpy as np

from autograder.check.casedata import decode_array, encode_array, is_data_array

MAX_DEPTH = 64
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
_LENGTH = struct.Struct(">Q")
_MARKERS = ("__handle__", "__tuple__", "__items__", "__array__", "__scalar__", "__singleton__")


class WireError(Exception):
    """A frame that breaks the protocol: too long, too deep, cut short, not this codec."""


class WireTimeout(WireError):
    """The other side did not send a whole frame before the deadline."""


class WireAbandoned(WireError):
    """While waiting, the watched descriptor became readable: whoever asked stopped waiting."""


# ---------------------------------------------------------------------------- codec

def _encode(value, handle_for, depth):
    if depth > MAX_DEPTH:
        raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if value is NotImplemented:  # what an unanswered "result = NotImplemented" cell holds
        return {"__singleton__": "NotImplemented"}
    # subclasses (a namedtuple, an OrderedDict, np.matrix) travel as their base type
    if isinstance(value, np.ndarray) and is_data_array(value):
        return encode_array(np.asarray(value))
    if isinstance(value, np.generic) and is_data_array(np.asarray(value)):
        return {"__scalar__": value.dtype.str, "value": value.item()}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, handle_for, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, handle_for, depth + 1) for v in value]
    if isinstance(value, dict):
        if all(type(k) is str for k in value) and not any(m in value for m in _MARKERS):
            return {k: _encode(v, handle_for, depth + 1) for k, v in value.items()}
        return {"__items__": [[_encode(k, handle_for, depth + 1), _encode(v, handle_for, depth + 1)]
                              for k, v in value.items()]}
    return handle_for(value)


def encode_value(value, handle_for):
    """The JSON-ready form of `value`; whatever is not plain data goes through handle_for(obj)."""
    return _encode(value, handle_for, 0)


def encode(value, handle_for):
    """JSON text of `value`; whatever is not plain data goes through handle_for(obj)."""
    return json.dumps(encode_value(value, handle_for))


def _decode(value, proxy_for, depth=0):
    if depth > MAX_DEPTH:
        raise WireError(f"data nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, list):
        return [_decode(v, proxy_for, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if "__handle__" in value:
        if not isinstance(value["__handle__"], int) or not isinstance(value.get("type"), str):
            raise WireError("malformed handle")
        return proxy_for(value)
    if "__tuple__" in value:
        return tuple(_decode(v, proxy_for, depth + 1) for v in value["__tuple__"])
    if "__items__" in value:
        return {_hashable(_decode(k, proxy_for, depth + 1)): _decode(v, proxy_for, depth + 1)
                for k, v in value["__items__"]}
    if "__array__" in value:
        return decode_array(value)
    if value.get("__singleton__") == "NotImplemented":
        return NotImplemented
    if "__scalar__" in value:
        dtype = np.dtype(value["__scalar__"])
        if not is_data_array(np.empty(0, dtype)):
            raise WireError(f"a scalar of dtype {dtype}")
        return dtype.type(value["value"])
    return {k: _decode(v, proxy_for, depth + 1) for k, v in value.items()}


def _hashable(key):
    if isinstance(key, (list, dict, np.ndarray)):
        raise WireError("an unhashable dict key")
    return key


def decode(text, proxy_for):
    """The value `encode` wrote; raises WireError for anything else."""
    try:  # json's own recursion guard ends deeper nesting with RecursionError
        return _decode(json.loads(text), proxy_for)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, RecursionError, OverflowError) as error:
        raise WireError(f"not this codec's data ({type(error).__name__}: {str(error)[:200]})") from None


# ---------------------------------------------------------------------------- frames

def write_frame(fd, payload, marker=b""):
    """Write bytes `payload` as one frame to file descriptor fd (blocking), after `marker`
    (see MarkedFrameReader)."""
    data = marker + _LENGTH.pack(len(payload)) + payload
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd, max_bytes=DEFAULT_MAX_BYTES, deadline=None):
    """One frame's bytes from fd; WireError when it is too long or cut short, WireTimeout
    when `deadline` (time.monotonic()) passes first. EOF before a frame: None."""
    header = _read_exactly(fd, _LENGTH.size, deadline, allow_eof=True)
    if header is None:
        return None
    (length,) = _LENGTH.unpack(header)
    if length > max_bytes:
        raise WireError(f"a frame of {length} bytes (the limit is {max_bytes})")
    return _read_exactly(fd, length, deadline, allow_eof=False)


def _wait_readable(fd, deadline, watch=None):
    """Return once fd has bytes (or EOF); WireTimeout when `deadline` (time.monotonic(), None:
    never) passes first, WireAbandoned when the descriptor `watch` becomes readable first."""
    if deadline is None and watch is None:
        return
    remaining = None if deadline is None else deadline - time.monotonic()
    ready = [] if remaining is not None and remaining <= 0 else select.select(
        [fd] + ([watch] if watch is not None else []), [], [], remaining)[0]
    if watch is not None and watch in ready:
        raise WireAbandoned("the caller stopped waiting")
    if not ready:
        raise WireTimeout("no answer before the deadline")


def _read_exactly(fd, size, deadline, allow_eof):
    chunks, received = [], 0
    while received < size:
        _wait_readable(fd, deadline)
        chunk = os.read(fd, min(size - received, 1 << 20))
        if not chunk:
            if allow_eof and received == 0:
                return None
            raise WireError("the stream ended in the middle of a frame")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)


class MarkedFrameReader:
    """Reads frames that each start with `marker` (random bytes the reader chose) from fd,
    skipping whatever comes before a marker: bytes that code on the other side wrote into the
    channel by itself are passed over, and the real frames behind them still arrive."""

    def __init__(self, fd, marker, max_bytes=DEFAULT_MAX_BYTES):
        self.fd, self.marker, self.max_bytes = fd, marker, max_bytes
        self.buffer = bytearray()

    def read(self, deadline=None, watch=None):
        """The next marked frame's payload; None at EOF. Raises like read_frame; more than
        max_bytes of unmarked bytes in a row is a WireError."""
        skipped = 0
        while True:
            start = self.buffer.find(self.marker)
            if start < 0:
                keep = len(self.marker) - 1
                skipped += max(0, len(self.buffer) - keep)
                del self.buffer[:max(0, len(self.buffer) - keep)]
            else:
                skipped += start
                del self.buffer[:start]
                header_end = len(self.marker) + _LENGTH.size
                if len(self.buffer) >= header_end:
                    (length,) = _LENGTH.unpack(self.buffer[len(self.marker):header_end])
                    if length > self.max_bytes:
                        raise WireError(f"a frame of {length} bytes (the limit is {self.max_bytes})")
                    if len(self.buffer) >= header_end + length:
                        payload = bytes(self.buffer[header_end:header_end + length])
                        del self.buffer[:header_end + length]
                        return payload
            if skipped > self.max_bytes:
                raise WireError(f"more than {self.max_bytes} bytes that are not frames")
            if not self._fill(deadline, watch):
                if self.buffer.find(self.marker) >= 0:
                    raise WireError("the stream ended in the middle of a frame")
                return None

    def _fill(self, deadline, watch):
        """Read what is there into the buffer; False at EOF."""
        _wait_readable(self.fd, deadline, watch)
        chunk = os.read(self.fd, 1 << 20)
        self.buffer += chunk
        return bool(chunk)
