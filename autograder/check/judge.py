"""The judge: decides one check's verdict while the student's objects run in a runner.

    decide(exercise_id, hidden, cases, payload, launch) -> {"passed", "message", "cases", "where"}

The judge starts a runner (runner.py) from `launch`, has it unpickle the student's objects
(`payload`, the kernel's cloudpickle bytes, which the judge itself never unpickles), and
runs the exercise's verdict here on the case data and proxies of those objects (remote.py).
So the comparison with the expected values, and the decision, happen where no student code
runs: code in the kernel or in the runner can change what the student's functions answer,
never what the judge concludes from it.

Two ways in:
- in a student's Jupyter, `check()` starts this module as a fresh `python -I` process (`main`)
  and the runner as another, unsandboxed; the student sees the same messages as in grading;
- while an instructor grades, the grader calls `decide` itself, outside the submission's
  sandbox, with a runner in a sandbox of its own (autograder.grading.judge_service).
"""
import os
import signal
import sys
import time
from dataclasses import dataclass

from autograder.check import casedata, compare, remote, wire
from autograder.check.registry import lookup
from autograder.check.runner import ForbiddenCall, ForbiddenFunctions
from course_lib.threads import single_thread_environment

RUNNER_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
                    "from autograder.check.runner import main; main()")
JUDGE_BOOTSTRAP = ("import sys; sys.path.insert(0, sys.argv[1]); "
                   "from autograder.check.judge import main; main()")
# the folder holding the `autograder` package this process imported (repository or edition)
SUPPORT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_FAILED_TO_LOAD = ("the grader could not load your objects ({error}). Pass functions, "
                   "classes and arrays defined in the notebook.")


@dataclass(frozen=True)
class RunnerLaunch:
    """How to start a runner: argv, environment (None: this process's), working folder."""

    command: tuple
    env: dict | None = None
    cwd: str | None = None


def process_environment():
    """The environment of a judge or runner started outside a sandbox: one BLAS thread (same
    sums, same verdict), matplotlib without a display."""
    return {**single_thread_environment(), "MPLBACKEND": "Agg"}


def local_launch(support_root=SUPPORT_ROOT):
    """A runner as a plain `python -I` process next to the judge (a student's own Jupyter)."""
    return RunnerLaunch((sys.executable, "-I", "-c", RUNNER_BOOTSTRAP, support_root))


def timeout_message(limit):
    return (f"your code did not finish within {limit:g} seconds and was stopped: look for an "
            "infinite loop (a `while` whose condition never changes) or a very slow loop over "
            "every element.")


def _describe_exception(error, case_label):
    during = f" (while running {case_label})" if case_label else ""
    name = getattr(error, "remote_type", type(error).__name__)
    where = getattr(error, "where", None)
    if isinstance(error, NotImplementedError) and where and getattr(error, "by_student", False):
        return (f"{where['function']} is not implemented yet — fill in the YOUR CODE HERE "
                f"part{during}.")
    if where:
        return (f"your code raised {name}: {error}{during}\n"
                f"  in {where['function']}, line {where['line']}")
    return (f"the check raised {name}: {error}{during}. This usually means "
            "your function returned something of the wrong type or shape; "
            "if not, tell your instructor.")


def _run_verdict(spec, cases, runner, proxies):
    """The verdict's result dict; every way student code can fail ends in a message."""
    result = {"passed": False, "message": "", "cases": 0, "where": None}
    compare.start_run()
    try:
        with remote.running_with(runner):
            returned = spec.function(cases, *proxies)
        result.update(passed=True, cases=returned if type(returned) is int else compare.cases_seen())
    except compare.WrongAnswer as failure:
        result["message"] = str(failure)
    except (ForbiddenCall, remote.RunnerFailed) as error:
        result["message"] = str(error)
    except SystemExit as error:
        result["message"] = (f"your code called sys.exit({getattr(error, 'exit_code', None) or ''}) "
                             "(or exit()/quit()); remove it: the grader cannot check code that stops Python.")
    except KeyboardInterrupt:
        result["message"] = "your code raised KeyboardInterrupt."
    except Exception as error:
        result["where"] = getattr(error, "where", None)
        result["message"] = _describe_exception(error, compare.current_case())
    return result


def decide(exercise_id, hidden, cases, payload, launch, timeout=None, watch=None):
    """Run the verdict of `exercise_id` on `cases` and the objects pickled in `payload`.
    watch: a descriptor that becomes readable if the asker stops waiting (see RunnerProcess)."""
    try:
        spec = lookup(exercise_id)
    except Exception as error:
        return {"passed": False, "cases": 0, "where": None,
                "message": f"grader error, not your fault: exercise {exercise_id!r} could not be "
                           f"set up ({type(error).__name__}: {error}); tell your instructor."}
    limit = spec.timeout if timeout is None else float(timeout)
    runner = remote.RunnerProcess(launch.command, launch.env, launch.cwd, time.monotonic() + limit,
                                  timeout_message(limit), watch=watch)
    try:
        try:
            proxies = runner.value("load", forbid=list(spec.forbid), objects=remote.as_text(payload),
                                   marker=remote.as_text(runner.marker))
        except (ForbiddenCall, remote.RunnerFailed) as error:
            return {"passed": False, "message": str(error), "cases": 0, "where": None}
        except Exception as error:
            message = _FAILED_TO_LOAD.format(error=f"{getattr(error, 'remote_type', type(error).__name__)}: {error}")
            return {"passed": False, "message": message, "cases": 0, "where": None}
        result = _run_verdict(spec, cases, runner, proxies)
        try:
            calls = runner.value("forbidden")
        except (remote.RunnerFailed, Exception):  # a dead runner made no calls this check trusts
            calls = []
        if calls and not result["message"].startswith("you may not call"):
            result.update(passed=False, message=ForbiddenFunctions.message(calls[0]))
        return result
    finally:
        runner.close()


# ---------------------------------------------------------------------------- local judge

def main():
    """A student's local judge: request frames on stdin (a JSON header with exercise_id,
    hidden, cases and timeout; then the pickled objects), the result as one frame on stdout."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # the kernel was interrupted: end the runner too
    header = casedata.loads(wire.read_frame(0).decode("utf-8"))
    payload = wire.read_frame(0)
    result = decide(header["exercise_id"], header["hidden"], header["cases"], payload, local_launch(),
                    header["timeout"])
    wire.write_frame(1, casedata.dumps(result).encode("utf-8"))
    os._exit(0)  # the runner is gone; nothing is left to tear down


if __name__ == "__main__":
    main()
