"""Feedback as a student reads it: the HTML file grading wrote, opened in the browser."""
import pytest
from playwright.sync_api import expect

from courses import BUG_STUDENT
from support.fixture_course import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]


def test_feedback_explains_the_failed_check_and_shows_no_hidden_test(graded_course, page, screenshots):
    feedback = graded_course.output_dir("feedback", BUG_STUDENT, ASSIGNMENT) / NOTEBOOK.replace(".ipynb", ".html")
    # offline: the page's CDN scripts (MathJax, require.js) fail at once; the DOM is what matters
    page.goto(feedback.as_uri(), wait_until="domcontentloaded")

    # bug-relu returns np.abs(x): its check fails, with the explanation, in the test cell's output
    explanation = page.get_by_text("✗ selftest.relu_forward: out is wrong")
    expect(explanation).to_be_visible()
    test_cell = page.locator(".cell").filter(has=explanation)
    expect(test_cell).to_contain_text("Score: 0.0 / 2.0")
    expect(test_cell).to_contain_text("worst element out[1]: expected 0, got 2")
    expect(test_cell).to_contain_text("diagnosis:")
    expect(page.locator("body")).to_contain_text("✓ selftest.square_derivative")  # the other check passed

    page_text = page.locator("body").inner_text()
    assert "BEGIN HIDDEN TESTS" not in page_text and "hidden=True" not in page_text
    assert "BEGIN HIDDEN TESTS" not in page.content()  # nor anywhere in the HTML source
    screenshots.save(page, "05-feedback", test_cell)
