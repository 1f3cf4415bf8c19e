"""A test cell's score and feedback from the judge's record alone (scores.judged_cell)."""
from nbformat.v4 import new_code_cell, new_output

from autograder.grading.cells import checks
from autograder.grading.judge_service import Verdict
from autograder.grading.scores import NEVER_ASKED, NOT_REACHED, judged_cell

CHECKS = [("nb02.affine", False), ("nb02.affine", True)]


def verdict(hidden, passed, message="", cases=2):
    return Verdict("02_jacobians", 5, "nb02.affine", hidden, passed, message, cases)


def test_every_check_passed_earns_the_points_and_shows_the_judges_lines():
    passed, outputs = judged_cell(CHECKS, [verdict(False, True), verdict(True, True, cases=4)])
    assert passed
    assert outputs[0].text == "✓ nb02.affine: 2 cases passed\n✓ nb02.affine (hidden tests): 4 cases passed\n"


def test_a_failed_check_costs_the_cell_and_the_checks_after_it_are_explained():
    passed, outputs = judged_cell(CHECKS, [verdict(False, False, "dw is wrong")])
    assert not passed
    assert outputs[0].traceback == ["✗ nb02.affine: dw is wrong", f"✗ nb02.affine (hidden tests): {NOT_REACHED}"]


def test_a_check_never_asked_for_scores_zero_whatever_the_kernel_printed():
    printed = new_output("stream", name="stdout", text="✓ nb02.affine: 2 cases passed\n")
    passed, outputs = judged_cell(CHECKS, [verdict(False, True)], [printed])
    assert not passed
    assert outputs[0].traceback[1] == f"✗ nb02.affine (hidden tests): {NEVER_ASKED}"
    assert outputs[-1] is printed  # shown below the judge's lines, for context


def test_one_failed_verdict_among_passing_ones_fails_the_check():
    passed, _ = judged_cell(CHECKS, [verdict(False, True), verdict(False, False, "x"), verdict(True, True)])
    assert not passed


def test_a_cell_that_calls_no_check_earns_nothing():
    passed, _ = judged_cell([], [])
    assert not passed


def test_the_checks_a_cell_calls_are_read_from_its_source_in_order():
    cell = new_code_cell(
        "from autograder import check\n"
        "print('check(\\'nb09.fake\\', x)')  # a string, not a call\n"
        "check(\"nb02.affine\", forward, backward)\n"
        "### BEGIN HIDDEN TESTS\n"
        "check(\"nb02.affine\", forward, backward, hidden=True)\n"
        "check(\"nb02.affine\", forward, backward, hidden=True)\n"
        "### END HIDDEN TESTS\n")
    assert checks(cell) == CHECKS
    assert checks(new_code_cell("assert True")) == []
    assert checks(new_code_cell("check(")) == []  # not Python: no check the judge could match
