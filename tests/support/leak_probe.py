"""Run as `python -I leak_probe.py EDITION REQUEST.json`: which callables of a student edition pass a check.

The leak test's probe: it runs with only the edition on sys.path (so it imports the edition's
course_lib and autograder, never the repository's), and tries every function and class
defined in the edition's packages, in every slot of every exercise of the request whose
arity fits, with the other slots filled by the source notebook's solution objects. It
runs the exercise's verdict from the edition on the instructor's case data, in this
process (fast), each call under an alarm. Prints a JSON list of the passing
[exercise id, slot name, candidate, "visible"|"hidden"].

REQUEST.json: [{"exercise_id", "slots": [names], "solution_code": source defining them,
                "visible": case data file, "hidden": case data file,
                "verdicts_file": the repository's verdicts.py of the exercise}, ...]
A release ships only its own assignment's verdicts; a later exercise's verdict is loaded
from `verdicts_file` onto the edition's own check code.
"""
import contextlib
import importlib
import importlib.util
import inspect
import io
import json
import pkgutil
import signal
import sys
from pathlib import Path

CALL_SECONDS = 5


class TookTooLong(BaseException):
    pass


def _alarm(signum, frame):
    raise TookTooLong


def _modules(package_name):
    package = importlib.import_module(package_name)
    yield package
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        try:
            yield importlib.import_module(info.name)
        except Exception:  # noqa: BLE001 -- a module the edition cannot import holds no answer
            continue


def edition_callables():
    """{"module.name": object} for every function and class defined in the edition's packages."""
    found = {}
    for package in ("course_lib", "autograder"):
        for module in _modules(package):
            for name, value in vars(module).items():
                if ((inspect.isfunction(value) or inspect.isclass(value))
                        and getattr(value, "__module__", "") == module.__name__):
                    found[f"{module.__name__}.{name}"] = value
    return found


def _arity(obj):
    """(required, maximum) number of positional arguments, or None if unknown."""
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return None
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = sum(p.default is p.empty for p in positional)
    varargs = any(p.kind == p.VAR_POSITIONAL for p in parameters)
    return required, (10**6 if varargs else len(positional))


def _fits(candidate, solution):
    if inspect.isclass(solution) != inspect.isclass(candidate):
        return False
    if inspect.isclass(solution):
        return True
    wanted, got = _arity(solution), _arity(candidate)
    return wanted is not None and got is not None and got[0] <= wanted[0] <= got[1]


def _passes(verdict, case_data, objects):
    from autograder.check import compare

    compare.start_run()
    signal.alarm(CALL_SECONDS)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            verdict.function(case_data, *objects)
        return True
    except BaseException:  # noqa: BLE001 -- any failure, timeout or exit means: does not pass
        return False
    finally:
        signal.alarm(0)


def _verdict(registry, item):
    try:
        return registry.lookup(item["exercise_id"])
    except KeyError:
        name = "leak_probe_" + Path(item["verdicts_file"]).parent.name
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, item["verdicts_file"])
            sys.modules[name] = module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)  # registers its verdicts with the edition's registry
        return registry._REGISTRY[item["exercise_id"]]


def main(edition, request_path):
    sys.path.insert(0, edition)
    signal.signal(signal.SIGALRM, _alarm)
    from autograder.check import casedata, registry

    candidates = edition_callables()
    passing = []
    for item in json.loads(Path(request_path).read_text()):
        verdict = _verdict(registry, item)
        namespace = {}
        exec(compile(item["solution_code"], "<solutions>", "exec"), namespace)
        if not all(name in namespace for name in item["slots"]):
            continue  # checks a value the notebook computes (trained parameters): no callable can be it
        solution = [namespace[name] for name in item["slots"]]
        cases = {kind: casedata.loads(Path(item[kind]).read_text()) for kind in ("visible", "hidden")}
        for slot, name in enumerate(item["slots"]):
            if not callable(solution[slot]):
                continue  # a value (e.g. trained parameters), not code: no callable can be it
            for candidate_name, candidate in candidates.items():
                if not _fits(candidate, solution[slot]):
                    continue
                objects = [*solution[:slot], candidate, *solution[slot + 1:]]
                for kind, data in cases.items():
                    if _passes(verdict, data, objects):
                        passing.append([item["exercise_id"], name, candidate_name, kind])
    print(json.dumps(passing))


if __name__ == "__main__":
    main(*sys.argv[1:3])
