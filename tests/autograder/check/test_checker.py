"""autograder.check end to end: the subprocess worker, forbid, isolation, seeds, timeouts."""
import os
import sys

import numpy as np
import pytest

import course_lib.layers
from autograder import check
from autograder.check.checker import CheckFailed, run
from autograder.exercises.casebook import exercise_seed

# The "student" answers below live in this module: check() pickles them by value, as it
# does for functions defined in a notebook.

def derivative(x):
    return 2 * x


def derivative_without_the_two(x):
    return x


def derivative_stub(x):
    # YOUR CODE HERE
    raise NotImplementedError()


def affine_backward(dout, cache):
    x, w, _ = cache
    num_samples = x.shape[0]
    dx = (dout @ w.T).reshape(x.shape)
    return dx, x.reshape(num_samples, -1).T @ dout, dout.sum(axis=0)


def affine_backward_with_transposed_dw(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T, db


def affine_backward_without_batch_sum(dout, cache):
    dx, dw, _ = affine_backward(dout, cache)
    return dx, dw, dout[0]


def affine_backward_calling_reference(dout, cache):
    return course_lib.layers.affine_backward(dout, cache)


def affine_backward_hiding_the_reference(dout, cache):
    try:
        return course_lib.layers.affine_backward(dout, cache)
    except BaseException:
        return affine_backward(dout, cache)


def affine_backward_through_a_layer_object(dout, cache):
    import course_lib.nn
    layer = course_lib.nn.Affine(2, 2)
    dx, grads = layer._backward(dout, cache)  # course_lib code calling the forbidden function
    return dx, grads["W"], grads["b"]


def relu_forward(x):
    return np.maximum(x, 0.0), x


def relu_forward_with_bad_mask(x):
    return x * (x > -1.5), x


def check_fails(exercise_id, *objects, **kwargs):
    """The AssertionError message of a failing check."""
    with pytest.raises(AssertionError) as info:
        check(exercise_id, *objects, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------- verdicts

def test_right_answers_pass_with_a_friendly_line(capsys):
    check("selftest.square_derivative", derivative)
    check("selftest.affine_backward", affine_backward)
    check("selftest.relu_forward", relu_forward, hidden=True)
    assert capsys.readouterr().out.splitlines() == [
        "✓ selftest.square_derivative: 2 cases passed",
        "✓ selftest.affine_backward: 2 cases passed",
        "✓ selftest.relu_forward (hidden tests): 3 cases passed",
    ]


def test_wrong_answers_fail_with_the_diagnosis():
    message = check_fails("selftest.square_derivative", derivative_without_the_two)
    assert message.startswith("✗ selftest.square_derivative: dfdx is wrong (case 1: x (4,))")
    assert "relative error 3.33e-01" in message and "worst element dfdx[3]" in message
    assert "2 times too small" in message
    assert "dw.T is exactly right" in check_fails("selftest.affine_backward",
                                                  affine_backward_with_transposed_dw)
    assert "sample 0's contribution only" in check_fails("selftest.affine_backward",
                                                         affine_backward_without_batch_sum)
    assert "out is wrong" in check_fails("selftest.relu_forward", relu_forward_with_bad_mask)


def test_stub_is_reported_as_not_implemented():
    message = check_fails("selftest.square_derivative", derivative_stub)
    assert "derivative_stub is not implemented yet — fill in the YOUR CODE HERE part" in message


def test_student_exception_names_function_line_and_source():
    def crashing(x):
        return x @ np.ones((7, 7))
    message = check_fails("selftest.square_derivative", crashing)
    assert "your code raised ValueError" in message and "in crashing, line" in message
    assert "> return x @ np.ones((7, 7))" in message


# ---------------------------------------------------------------------------- forbid

def test_forbidden_function_fails_however_it_is_reached():
    for answer in (affine_backward_calling_reference, course_lib.layers.affine_backward,
                   affine_backward_hiding_the_reference, affine_backward_through_a_layer_object):
        message = check_fails("selftest.affine_backward", answer)
        assert "may not call course_lib.layers.affine_backward" in message


def test_forbid_does_not_affect_other_exercises_or_the_reference():
    # the selftest reference itself calls course_lib.layers.affine_backward while forbidden
    check("selftest.affine_backward", affine_backward, hidden=True)
    def uses_affine_backward(x):
        cache = (x.reshape(-1)[:1, None], np.eye(1), np.zeros(1))
        dx, _, _ = affine_backward_calling_reference(np.ones((1, 1)), cache)
        return 2 * x * float(dx[0, 0])
    check("selftest.square_derivative", uses_affine_backward)


# ---------------------------------------------------------------------------- isolation

def test_monkeypatched_numpy_in_the_kernel_does_not_change_the_verdict(monkeypatch):
    monkeypatch.setattr(np, "allclose", lambda *args, **kwargs: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *args, **kwargs: None)
    monkeypatch.setattr(np, "abs", lambda x: 0 * x)
    assert "dfdx is wrong" in check_fails("selftest.square_derivative", derivative_without_the_two)


def test_monkeypatching_numpy_where_the_code_runs_does_not_reach_the_judge():
    def cheating(x):  # wrong, and makes every comparison in its own process say "equal"
        np.allclose = lambda *args, **kwargs: True
        np.testing.assert_allclose = lambda *args, **kwargs: None
        np.abs = lambda x: 0 * x
        return 3 * x
    assert "is wrong" in check_fails("selftest.square_derivative", cheating)


def test_numpy_py_in_the_working_directory_does_not_shadow_numpy(tmp_path, monkeypatch):
    (tmp_path / "numpy.py").write_text("raise ImportError('the student numpy.py was imported')\n")
    (tmp_path / "autograder.py").write_text("raise ImportError('shadowed autograder')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    check("selftest.square_derivative", derivative)


def test_worker_does_not_import_matplotlib():
    def right_unless_matplotlib_loaded(x):
        return 2 * x if "matplotlib" not in sys.modules else x
    check("selftest.square_derivative", right_unless_matplotlib_loaded)


def test_printing_to_stdout_does_not_break_the_result():
    def chatty(x):
        print("x" * 1_000_000)
        print('{"passed": true, "message": "", "cases": 99, "where": null}')
        sys.stdout.flush()
        os.write(1, b'{"passed": true, "message": "", "cases": 99, "where": null}\n')
        os.write(1, b"no newline at the end")  # would corrupt a result line sharing fd 1
        return x
    assert "2 times too small" in check_fails("selftest.square_derivative", chatty)


def test_sys_exit_and_os_exit_give_clean_failures():
    def exits(x):
        sys.exit(0)

    def hard_exits(x):
        print("last words")
        sys.stdout.flush()
        os._exit(3)
    assert "your code called sys.exit(0)" in check_fails("selftest.square_derivative", exits)
    message = check_fails("selftest.square_derivative", hard_exits)
    assert "exited with code 3 before answering" in message
    assert "last output:" in message and message.endswith("last words")


def test_infinite_loop_is_stopped_by_the_timeout():
    def spins(x):
        while True:
            pass
    message = check_fails("selftest.square_derivative", spins, timeout=1)
    assert "did not finish within 1 seconds and was stopped" in message


def test_unpicklable_object_and_wrong_arity_are_explained():
    message = check_fails("selftest.square_derivative", (i for i in range(3)))
    assert "could not send student_derivative (generator) to the grader" in message
    with pytest.raises(TypeError, match=r"takes 1 object\(s\) \(student_derivative\), got 2"):
        check("selftest.square_derivative", derivative, derivative)
    with pytest.raises(KeyError, match="unknown exercise 'selftest.nope'"):
        check("selftest.nope", derivative)


# ---------------------------------------------------------------------------- seeds

def recorded_inputs(tmp_path, hidden):
    """The inputs the exercise gave the student, as recorded by the student's function."""
    log = tmp_path / f"inputs-{len(list(tmp_path.iterdir()))}.txt"

    def recording(x):
        with open(log, "a") as handle:
            handle.write(repr(x.tolist()) + "\n")
        return 2 * x
    check("selftest.square_derivative", recording, hidden=hidden)
    return log.read_text()


def test_hidden_cases_differ_from_visible_and_are_deterministic(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "spring-term")
    visible = recorded_inputs(tmp_path, hidden=False)
    hidden = recorded_inputs(tmp_path, hidden=True)
    assert hidden != visible
    assert recorded_inputs(tmp_path, hidden=True) == hidden
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "autumn-term")
    assert recorded_inputs(tmp_path, hidden=True) != hidden
    assert recorded_inputs(tmp_path, hidden=False) == visible


def test_seeds_depend_on_exercise_and_secret(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_HIDDEN_SEED", raising=False)
    default = exercise_seed("nb02.x", hidden=True)
    assert default != exercise_seed("nb02.y", hidden=True)
    assert default != exercise_seed("nb02.x", hidden=False)
    monkeypatch.setenv("AUTOGRADER_HIDDEN_SEED", "other")
    assert exercise_seed("nb02.x", hidden=True) != default
    assert 0 <= default < 2 ** 63


def test_run_returns_the_verdict_without_raising():
    result = run("selftest.square_derivative", derivative_without_the_two)
    assert (result.passed, result.cases) == (False, 0) and "dfdx is wrong" in result.message
    assert run("selftest.square_derivative", derivative).cases == 2


# ---------------------------------------------------------------------------- registry

def test_registry_refuses_malformed_exercises():
    from autograder.check.registry import lookup, verdict
    with pytest.raises(ValueError, match="must look like"):
        verdict("affine backward")
    with pytest.raises(TypeError, match="list of dotted names"):
        verdict("selftest.x", forbid="course_lib.layers.affine_forward")
    with pytest.raises(ValueError, match="must be course_lib functions"):
        verdict("selftest.x", forbid=["numpy.dot"])
    with pytest.raises(KeyError, match="no exercise package for 'nb99'"):
        lookup("nb99.anything")
    spec = lookup("selftest.affine_backward")
    assert spec.forbid == ("course_lib.layers.affine_backward",)
    assert spec.student_parameters == ["student_backward"] and spec.timeout == 60.0


def test_several_forbidden_names_keep_their_own_originals():
    import course_lib.layers as layers
    from autograder.check.runner import ForbiddenFunctions

    names = ["course_lib.layers.relu_forward", "course_lib.layers.sigmoid_forward"]
    originals = {"relu_forward": layers.relu_forward, "sigmoid_forward": layers.sigmoid_forward}
    forbidden = ForbiddenFunctions(names)
    try:
        forbidden.install(strict=True)
        forbidden.install(strict=False)
        for attribute, original in originals.items():
            stub = getattr(layers, attribute)
            wrapped = [cell.cell_contents for cell in stub.__closure__ if callable(cell.cell_contents)]
            # The guarded stub (what trusted code calls) must forward to its own original.
            assert original in wrapped, (attribute, wrapped)
            assert all(w is original or w.__name__ != original.__name__ for w in wrapped)
    finally:
        # install() patched every course_lib module exposing them: undo it everywhere.
        for module in [m for n, m in sys.modules.items() if n.startswith("course_lib") and m]:
            for attribute, original in originals.items():
                if attribute in vars(module):
                    setattr(module, attribute, original)


def test_jupyter_shows_a_failed_check_as_its_message_only():
    with pytest.raises(CheckFailed) as info:
        check("selftest.relu_forward", relu_forward_with_bad_mask)
    shown = "\n".join(info.value._render_traceback_())
    assert shown.startswith("\x1b[0;31m✗ selftest.relu_forward: ")
    assert str(info.value).split("\n", 1)[1] in shown  # the whole explanation
    assert "checker.py" not in shown and "Traceback" not in shown
