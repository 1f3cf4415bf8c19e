"""The typical-bug convention: a bug replaces exactly its own solution region."""
from autograder.grading import samples

TWO_REGIONS = """\
def f(x):
    ### BEGIN SOLUTION
    y = x + 1
    ### BEGIN TYPICAL BUG
    # y = x - 1
    ### END TYPICAL BUG
    ### END SOLUTION
    return y

def g(x):
    ### BEGIN SOLUTION
    return 2 * x
    ### END SOLUTION
"""


def test_solution_code_drops_markers_and_bug_blocks():
    code = samples.solution_code(TWO_REGIONS)
    assert "y = x + 1" in code and "return 2 * x" in code
    assert "###" not in code and "x - 1" not in code


def test_bug_code_replaces_only_the_region_holding_the_bug():
    namespace = {}
    exec(samples.bug_code(TWO_REGIONS), namespace)
    assert namespace["f"](1) == 0  # the typical bug
    assert namespace["g"](3) == 6  # untouched: this region has no bug block


def test_bug_code_is_none_without_a_bug_block():
    assert samples.bug_code(samples.solution_code(TWO_REGIONS)) is None
