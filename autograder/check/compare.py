"""Assertion helpers for exercise checks: each failure says what is wrong and guesses why.

Every helper raises `WrongAnswer` (an AssertionError) whose message names the output
(e.g. `dw`), the case, the relative error, the worst element with both values, and a
diagnosis of the usual mistakes: transposed, off by a constant factor (2, 1/2, N, 1/N,
-1), missing sum over the batch, wrong shape, NaN/inf, a list instead of an array,
None returned, integer dtype.

    case = compare.case(1, x=x, w=w, stride=1)   # "case 1: x (2, 3), w (3, 4), stride=1"
    compare.array("dw", dw, expected_dw)          # uses the current case
    compare.gradient("dx", dx, lambda x: forward(x, w, b)[0], x, dout)
    compare.scalar("loss", loss, expected_loss, batch_size=N)

Pass rule (like np.allclose): |got - expected| <= atol + rtol * |expected| everywhere.
Reported "relative error" is the course's rel_error: max |g - e| / max(1e-8, |g| + |e|).

Optional keyword-only extras sharpen the diagnosis:
- `batch_size=N`: a constant factor of N or 1/N is reported as sum/mean confusion;
- `terms=` (array, shape (N, *expected.shape), summing over axis 0 to `expected`):
  recognises "only one sample's term" and "overwrote instead of accumulating".

The case count shown by check() is the number of distinct case labels seen
(see `start_run` / `cases_seen`, used by the judge).
"""
import re

import numpy as np

from course_lib.gradcheck import rel_error

GRADIENT_STEP = 1e-5
DEFAULT_MAX_ENTRIES = 40
_RATIO_TOLERANCE = 1e-6  # a fitted constant factor must explain `got` to this accuracy


class WrongAnswer(AssertionError):
    """Raised in the judge when a student's output is wrong; str(error) is the full,
    student-facing explanation. The judge turns it into a verdict; in the kernel, `check`
    reports a failed verdict as `checker.CheckFailed`."""


class _Run:
    """Case labels seen during one exercise run (reset by `start_run`)."""

    current_case = None
    labels = []


def start_run():
    """Forget the cases of any previous run (the judge calls this before an exercise)."""
    _Run.current_case = None
    _Run.labels = []


def current_case():
    """Label of the case being run (None before the first `case(...)`)."""
    return _Run.current_case


def cases_seen():
    """Number of distinct case labels used since `start_run`."""
    return len(_Run.labels)


def case(label, **inputs):
    """Start a new case and return its label, e.g. "case 2: x (4, 3), w (3, 5), pad=1".

    label: a number (shown as "case <n>") or a string; inputs: arrays (shown by shape)
    and settings (shown by value). Later helpers without `case=` use this label.
    """
    text = f"case {label}" if isinstance(label, (int, np.integer)) else str(label)
    if inputs:
        text += ": " + ", ".join(_describe_input(k, v) for k, v in inputs.items())
    _note_case(text)
    return text


def _describe_input(name, value):
    if isinstance(value, np.ndarray):
        return f"{name} {value.shape}"
    if isinstance(value, dict):
        return f"{name}={{{', '.join(f'{k}: {v!r}' for k, v in value.items())}}}"
    return f"{name}={value!r}"


def _note_case(text):
    _Run.current_case = text
    if text not in _Run.labels:
        _Run.labels.append(text)


def _resolve_case(case_label):
    if case_label is None:
        return _Run.current_case
    if isinstance(case_label, dict):
        case_label = ", ".join(_describe_input(k, v) for k, v in case_label.items())
    _note_case(str(case_label))
    return str(case_label)


def _fail(name, case_label, lines):
    header = f"{name} is wrong" + (f" ({case_label})" if case_label else "")
    raise WrongAnswer("\n".join([header] + [f"  {line}" for line in lines if line]))


# ---------------------------------------------------------------------------- type checks

def _type_problem(name, got, expected_kind):
    """A sentence explaining why `got` is not usable as `expected_kind`, or None."""
    if got is None:
        return (f"{name} is None: your function returned nothing for it. "
                "Did you forget a `return`, or is the YOUR CODE HERE part still empty?")
    if got is NotImplemented:
        return f"{name} is NotImplemented: not implemented yet — fill in the YOUR CODE HERE part."
    if expected_kind == "array":
        if isinstance(got, (list, tuple)):
            return (f"{name} is a {type(got).__name__} of length {len(got)}, not a numpy array: "
                    "build it with numpy operations (or wrap it in np.array(...)).")
        if not isinstance(got, np.ndarray):
            return f"{name} should be a numpy array, got {type(got).__name__} ({_short(got)})."
        return _dtype_problem(name, got.dtype)
    if isinstance(got, (list, tuple)):
        return f"{name} should be a single number, got a {type(got).__name__} of length {len(got)}."
    if isinstance(got, np.ndarray):
        if got.ndim == 0:
            return _dtype_problem(name, got.dtype)
        return (f"{name} should be a single number, got an array of shape {got.shape}: "
                "did you forget to sum or average it? (float(x) converts a size-1 array)")
    if isinstance(got, (bool, np.bool_)):
        return f"{name} should be a number, got the boolean {got!r}."
    if not isinstance(got, (int, float, np.number)):
        return f"{name} should be a number, got {type(got).__name__} ({_short(got)})."
    if isinstance(got, (complex, np.complexfloating)):
        return f"{name} should be a real number, got the complex number {got!r}."
    return None


def _dtype_problem(name, dtype):
    if dtype.kind in "iub":
        return (f"{name} has dtype {dtype} (integers): integer arrays truncate fractions. "
                "Create float arrays (np.zeros(shape), x.astype(float)) instead.")
    if dtype.kind not in "f":
        return f"{name} has dtype {dtype}; expected real floating-point numbers (float64)."
    return None


def _short(value, limit=60):
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# ---------------------------------------------------------------------------- shape checks

def _shape_problem(name, got, expected):
    """Explain a shape mismatch and what would fix it (got, expected: arrays)."""
    lines = [f"shape: expected {expected.shape}, got {got.shape}."]
    if got.ndim == 2 and got.shape[::-1] == expected.shape:
        if _close(got.T, expected):
            lines.append(f"diagnosis: {name} is transposed — {name}.T is exactly right. "
                         "Check the order of the factors in your matrix product.")
        else:
            lines.append("diagnosis: the shape is transposed (and the values are also wrong): "
                         "check the order and transposes of your matrix product.")
        return lines
    if got.size == expected.size:
        if _close(got.reshape(expected.shape), expected):
            lines.append(f"diagnosis: the values are right; {name}.reshape({expected.shape}) "
                         "fixes it (e.g. keepdims or a missing reshape back to the input's shape).")
        else:
            lines.append(f"diagnosis: same number of elements; a reshape to {expected.shape} "
                         "would fix the shape, but the values would still be wrong "
                         "or out of order.")
        return lines
    if got.ndim == expected.ndim + 1 and got.shape[1:] == expected.shape:
        if _close(got.sum(axis=0), expected):
            lines.append(f"diagnosis: summing {name} over axis 0 gives the right answer: "
                         "you forgot to sum over the batch.")
        elif _close(got.mean(axis=0), expected):
            lines.append(f"diagnosis: averaging {name} over axis 0 gives the right answer: "
                         "you forgot to reduce over the batch (axis 0).")
        else:
            lines.append(f"diagnosis: {name} has an extra leading axis of size {got.shape[0]}: "
                         "a sum over the batch (axis 0) is probably missing.")
    return lines


def _close(got, expected, rtol=1e-6, atol=1e-9):
    with np.errstate(all="ignore"):
        return bool(np.all(np.abs(got - expected) <= atol + rtol * np.abs(expected)))


# ---------------------------------------------------------------------------- value checks

def _value_lines(name, got, expected, index_of, rtol, atol, transposed=None,
                 batch_size=None, terms=None):
    """Lines describing a value mismatch, or [] if got matches expected.

    got, expected: flat float arrays of the compared entries; index_of(i) -> the
    multi-index (tuple) of flat entry i; transposed: the same entries of got.T, when
    a transpose is a plausible mistake; terms: shape (N, len(expected)).
    """
    with np.errstate(all="ignore"):
        excess = np.abs(got - expected) - (atol + rtol * np.abs(expected))
    bad = excess > 0
    if not bad.any():
        return []
    worst = int(np.argmax(excess))
    with np.errstate(all="ignore"):
        relative = np.abs(got - expected) / np.maximum(1e-8, np.abs(got) + np.abs(expected))
    largest = int(np.nanargmax(relative)) if not np.all(np.isnan(relative)) else worst
    if not relative[worst] < relative[largest] * (1 - 1e-9):  # a tie (a constant factor): one entry
        largest = worst

    def entry(i):
        return f"{name}[{', '.join(str(k) for k in index_of(i))}]"

    relative_line = f"relative error {rel_error(got, expected):.2e} (allowed: rtol={rtol:g}, atol={atol:g})"
    worst_line = f"worst element {entry(worst)}: expected {expected[worst]:.6g}, got {got[worst]:.6g}"
    if largest != worst:  # two different entries: say which number belongs to which
        relative_line += (f", largest at {entry(largest)}: expected {expected[largest]:.6g}, "
                          f"got {got[largest]:.6g}")
        worst_line = worst_line.replace("worst element", "worst element (furthest outside the tolerance)", 1)
    lines = [relative_line, worst_line, f"{int(bad.sum())} of {bad.size} checked entries are wrong"]
    hint = _diagnose(name, got, expected, bad, transposed, batch_size, terms)
    if hint:
        lines.append("diagnosis: " + hint)
    return lines


def _diagnose(name, got, expected, bad, transposed, batch_size, terms):
    """The most likely mistake behind a value mismatch, as a sentence, or None."""
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-12)
    if not np.any(got):
        return f"{name} is all zeros: the gradient was never filled in (or was overwritten)."
    if transposed is not None and _close(transposed, expected):
        return (f"{name} is transposed — {name}.T is exactly right. "
                "Check the order of the factors in your matrix product.")
    if terms is not None:
        hint = _terms_hint(name, got, terms)
        if hint:
            return hint
    ratio = _constant_ratio(got, expected, scale)
    if ratio is not None:
        hint = _ratio_hint(name, ratio, batch_size)
        if got.size > 1 or "constant factor" not in hint:  # one number always fits "some factor"
            return hint
    if np.all(bad == (expected == 0)) and np.any(expected == 0):
        return (f"{name} is wrong exactly where the expected value is 0: "
                "check your mask (which inputs let the gradient through).")
    if np.all(bad == (got == 0)) and np.any(got == 0):
        return (f"{name} is wrong exactly where you have 0: you zeroed entries that should "
                "pass the gradient — check your mask.")
    if bad.mean() < 0.5:
        return (f"only some entries are wrong ({int(bad.sum())} of {bad.size}): "
                "look at the boundaries, the mask, or one of the terms.")
    return None


def _constant_ratio(got, expected, scale):
    """The constant c with got ≈ c * expected (least squares), if it explains got; else None."""
    denominator = float(np.dot(expected, expected))
    if denominator == 0.0:
        return None
    ratio = float(np.dot(got, expected)) / denominator
    if abs(ratio - 1.0) < 1e-9:
        return None
    residual = float(np.max(np.abs(got - ratio * expected)))
    if residual > _RATIO_TOLERANCE * max(scale, abs(ratio) * scale):
        return None
    return ratio


def _ratio_hint(name, ratio, batch_size):
    """Name a constant factor: sign, 2, 1/2, N, 1/N, or just the number."""
    if abs(ratio + 1) < 1e-6:
        return (f"{name} has the wrong sign everywhere (got = -1 × expected): "
                "check the sign of your formula or of the update.")
    subject = f"{name} has the wrong sign and is" if ratio < 0 else f"{name} is"
    size = abs(ratio)
    if batch_size and abs(size - batch_size) < 1e-6 * batch_size:
        return (f"{subject} {batch_size} times too large (N = {batch_size}): "
                "divide by the batch size (mean instead of sum over the batch).")
    if batch_size and abs(size * batch_size - 1) < 1e-6:
        return (f"{subject} {batch_size} times too small (N = {batch_size}): "
                "you divided by the batch size where a sum over the batch belongs.")
    for k in range(2, 1001):
        if k == 2:
            large, small = (" (a term counted twice?)",
                            " (the 2 from the derivative of a square is missing?)")
        else:
            large = small = " (the batch size? a sum where a mean belongs, or the reverse)"
        if abs(size - k) < 1e-6 * k:
            return f"{subject} {k} times too large{large}."
        if abs(size * k - 1) < 1e-6:
            return f"{subject} {k} times too small{small}."
    return f"{name} is off by a constant factor: got ≈ {ratio:.6g} × expected."


def _terms_hint(name, got, terms):
    for i, term in enumerate(terms):
        if _close(got, term):
            which = "the last sample" if i == len(terms) - 1 else f"sample {i}"
            return (f"{name} equals {which}'s contribution only: sum the contributions of all "
                    f"{len(terms)} samples (use +=, or .sum(axis=0)).")
    return None


# ---------------------------------------------------------------------------- public helpers

def array(name, got, expected, case=None, rtol=1e-6, atol=1e-9, *, batch_size=None, terms=None):
    """Check an array output against the expected values.

    name: output name shown to the student (e.g. "dw"); got: the student's value;
    expected: array of any shape; case: label (default: the current `case(...)`);
    batch_size: N, to explain factors of N; terms: shape (N, *expected.shape),
    the per-sample contributions whose sum over axis 0 is `expected`.
    """
    case_label = _resolve_case(case)
    expected = np.asarray(expected, dtype=np.float64)
    problem = _type_problem(name, got, "array")
    if problem:
        _fail(name, case_label, [problem])
    got = np.array(got, dtype=np.float64)  # a plain ndarray: subclasses cannot bend the math
    if got.shape != expected.shape:
        _fail(name, case_label, _shape_problem(name, got, expected))
    _check_finite(name, case_label, got, expected)
    flat_terms = None if terms is None else np.asarray(terms, np.float64).reshape(len(terms), -1)
    transposed = got.T.ravel() if got.ndim == 2 and got.shape[0] == got.shape[1] > 1 else None
    lines = _value_lines(name, got.ravel(), expected.ravel(),
                         lambda i: np.unravel_index(i, expected.shape), rtol, atol,
                         transposed, batch_size, flat_terms)
    if lines:
        _fail(name, case_label, lines)


def scalar(name, got, expected, case=None, rtol=1e-6, atol=1e-9, *, batch_size=None):
    """Check a single number (loss, derivative at a point) against the expected value."""
    case_label = _resolve_case(case)
    problem = _type_problem(name, got, "scalar")
    if problem:
        _fail(name, case_label, [problem])
    value = float(got)
    if not np.isfinite(value):
        _fail(name, case_label, [f"{name} is {value}, expected {float(expected):.6g}: "
                                 "look for 0/0, log(0) or overflow in exp (shift by the max)."])
    got_flat = np.array([value])
    expected_flat = np.array([float(expected)])
    lines = _value_lines(name, got_flat, expected_flat, lambda i: (), rtol, atol,
                         batch_size=batch_size)
    if lines:
        lines[1] = f"expected {float(expected):.10g}, got {value:.10g}"
        del lines[2]
        _fail(name, case_label, lines)


def gradient(name, got, f, x, df=None, case=None, max_entries=DEFAULT_MAX_ENTRIES,
             rtol=1e-5, atol=1e-7, *, seed=0, batch_size=None):
    """Check a gradient against centered finite differences of f at x (h = 1e-5).

    got: the student's gradient, shape of x; f: callable x -> scalar (df None) or
    array shaped like df; x: array (not modified: f sees a private copy);
    df: upstream gradient, the checked function is sum(df * f(x)).
    When x has more than `max_entries` entries, only that many are checked: the first,
    the last and a seeded random sample of the rest (so a check stays well under a second).
    atol is scaled by max(1, largest numerical gradient entry) to allow for round-off.
    """
    case_label = _resolve_case(case)
    # C order: _centered_difference nudges x_work through a flat view, which must not be a copy
    x_work = np.array(x, dtype=np.float64, order="C")
    problem = _type_problem(name, got, "array")
    if problem:
        _fail(name, case_label, [problem])
    got = np.array(got, dtype=np.float64)  # a plain ndarray: subclasses cannot bend the math
    if got.shape != x_work.shape:
        lines = [f"shape: expected {x_work.shape} (the shape of the input it differentiates), "
                 f"got {got.shape}."]
        if got.ndim == x_work.ndim + 1 and got.shape[1:] == x_work.shape:
            lines.append(f"diagnosis: {name} has an extra leading axis: "
                         "a sum over the batch (axis 0) is probably missing.")
        elif got.size == x_work.size:
            lines.append(f"diagnosis: same number of elements — reshape {name} to {x_work.shape} "
                         "(e.g. reshape the gradient back to the input's shape).")
        elif got.ndim == 2 and got.shape[::-1] == x_work.shape:
            lines.append(f"diagnosis: {name} is transposed: "
                         "check the order of your matrix product.")
        _fail(name, case_label, lines)
    flat_indices = _sample_entries(x_work.size, max_entries, seed)
    numerical = np.array([_centered_difference(f, x_work, i, df) for i in flat_indices])
    _check_finite(name, case_label, got, numerical, what="finite-difference gradient")
    scaled_atol = atol * max(1.0, float(np.max(np.abs(numerical), initial=0.0)))
    got_flat = got.ravel()[flat_indices]
    transposed = None
    if got.ndim == 2 and got.shape[0] == got.shape[1] > 1:
        transposed = got.T.ravel()[flat_indices]
    lines = _value_lines(name, got_flat, numerical,
                         lambda i: np.unravel_index(flat_indices[i], x_work.shape),
                         rtol, scaled_atol, transposed, batch_size)
    if lines:
        lines.insert(0, "compared with centered finite differences of the forward pass "
                        f"at {len(flat_indices)} of {x_work.size} entries")
        _fail(name, case_label, lines)


def raises(exc_types, fn, *args, match=None, case=None, **kwargs):
    """Check that fn(*args, **kwargs) raises one of exc_types (regex `match` in its message)."""
    case_label = _resolve_case(case)
    expected_types = exc_types if isinstance(exc_types, tuple) else (exc_types,)
    wanted = " or ".join(t.__name__ for t in expected_types)
    label = getattr(fn, "__name__", "the function")
    try:
        result = fn(*args, **kwargs)
    except expected_types as error:
        if match is not None and not re.search(match, str(error)):
            _fail(label, case_label, [f"it raised {type(error).__name__} as it should, but the "
                                      f"message {str(error)!r} does not mention {match!r}."])
        return
    except NotImplementedError:
        raise
    except Exception as error:
        _fail(label, case_label, [f"expected {wanted}, but it raised "
                                  f"{type(error).__name__}: {error}"])
    _fail(label, case_label, [f"expected it to raise {wanted}, but it returned {_short(result)}."])


def true(condition, message):
    """Fail with `message` (prefixed by the current case) unless condition holds."""
    if not condition:
        case_label = _Run.current_case
        raise WrongAnswer(f"{message}" + (f"\n  ({case_label})" if case_label else ""))


# ---------------------------------------------------------------------------- internals

def _check_finite(name, case_label, got, expected, what="expected value"):
    """Fail if got has NaN/inf where the expected value is finite."""
    broken = ~np.isfinite(got)
    if got.shape == expected.shape:
        broken &= np.isfinite(expected)
    if not broken.any():
        return
    first = ", ".join(str(i) for i in np.unravel_index(int(np.argmax(broken)), got.shape))
    kinds = " and ".join(k for k, present in (("NaN", np.isnan(got).any()),
                                              ("inf", np.isinf(got).any())) if present)
    _fail(name, case_label, [
        f"{name} contains {kinds} at {int(broken.sum())} of {got.size} entries "
        f"(first at {name}[{first}]) where the {what} is finite.",
        "diagnosis: look for 0/0, log(0), division by a zero count, or overflow in exp "
        "(subtract the max before exponentiating).",
    ])


def _sample_entries(size, max_entries, seed):
    """Flat indices to check: all of them, or the first, the last and a seeded sample."""
    if size <= max_entries:
        return np.arange(size)
    rng = np.random.default_rng(seed)
    middle = rng.choice(np.arange(1, size - 1), size=max_entries - 2, replace=False)
    return np.concatenate(([0], np.sort(middle), [size - 1]))


def _centered_difference(f, x, flat_index, df):
    """(F(x + h e_i) - F(x - h e_i)) / 2h with F = f, or sum(df * f) when df is given."""
    view = x.reshape(-1)
    original = view[flat_index]
    try:
        view[flat_index] = original + GRADIENT_STEP
        plus = _objective(f(x), df)
        view[flat_index] = original - GRADIENT_STEP
        minus = _objective(f(x), df)
    finally:
        view[flat_index] = original
    return (plus - minus) / (2 * GRADIENT_STEP)


def _objective(value, df):
    if df is None:
        return float(value)
    return float(np.sum(np.asarray(value, dtype=np.float64) * df))
