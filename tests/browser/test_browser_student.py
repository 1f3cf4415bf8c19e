"""A student in JupyterLab, on the released notebooks: a first exercise from blank to right
to the typical bug, nbgrader's Validate button, and figures in the notebook."""
import re

import nbformat
import pytest
from playwright.sync_api import expect

from autograder.grading import samples
from autograder.grading.cells import cells_by_grade_id
from lab_ui import code_cell, editor_text, first_code_cell, open_notebook, output_of, run_cells, type_into_cell
from support import NOTEBOOKS
from support.fixture_course import ASSIGNMENT, NOTEBOOK

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.xdist_group("browser")]

NB02 = "02_jacobians"
MATMUL_CHECK = 'check("nb02.matmul_backward"'


def typed_by_a_student(code):
    """A solution cell's function as a student types it: its signature and body, no docstring."""
    lines = code.split("\n")
    end_of_docstring = max(i for i, line in enumerate(lines) if '"""' in line)
    return "\n".join([lines[0], *lines[end_of_docstring + 1:]])


def matmul_solution_and_bug():
    """matmul_backward, right and with its typical bug, from the source notebook's solution region."""
    source_nb = nbformat.read(str(NOTEBOOKS / NB02 / f"{NB02}.ipynb"), as_version=4)
    source = cells_by_grade_id(source_nb)["matmul_backward"].source
    return typed_by_a_student(samples.solution_code(source)), typed_by_a_student(samples.bug_code(source))


def assert_no_grader_traceback(output):
    """A failed check shows its explanation alone, never a traceback into autograder.check."""
    text = output.inner_text()
    assert "Traceback" not in text and "autograder/check" not in text, text


def test_a_first_exercise_blank_then_right_then_the_typical_bug(student_lab, page, screenshots):
    solution, bug = matmul_solution_and_bug()
    assert "dw = dy.T @ x" in bug  # the mistake this scenario shows the diagnosis of

    open_notebook(page, student_lab, f"{NB02}/{NB02}.ipynb")
    # the setup cell, then section 4's example arrays, which the exercise's "try it" cell uses
    run_cells(page, first_code_cell(page))
    run_cells(page, code_cell(page, "x = np.array([[2.0, 1.0, -3.0]"), code_cell(page, "dL_dy = np.array("))

    exercise = code_cell(page, "def matmul_backward(dy, x, w)")
    try_it = code_cell(page, "dx_try, dw_try = matmul_backward(dL_dy, x, w)")
    test = code_cell(page, MATMUL_CHECK)
    assert "raise NotImplementedError" in editor_text(exercise)  # the student version: blank

    # blank: the check says so, in red, with no traceback into the grader
    run_cells(page, exercise)
    run_cells(page, test)
    red = output_of(test).locator(".ansi-red-fg")
    expect(red).to_contain_text("matmul_backward is not implemented yet")
    assert_no_grader_traceback(output_of(test))
    screenshots.save(page, "01-student-check-not-implemented", exercise, test)

    # right: typed into the editor, then solution, try-it and check cells run with Shift+Enter
    type_into_cell(page, exercise, solution)
    run_cells(page, exercise, try_it, test)
    expect(output_of(test)).to_contain_text(re.compile(r"✓ nb02\.matmul_backward: \d+ cases passed"))
    expect(output_of(test).locator(".ansi-red-fg")).to_have_count(0)
    screenshots.save(page, "01-student-check-passed", exercise, test, readme_name="jupyterlab-passed-check.png")

    # the typical bug: dw = dy.T @ x is diagnosed as transposed
    type_into_cell(page, exercise, bug)
    run_cells(page, exercise, try_it, test)
    expect(output_of(test).locator(".ansi-red-fg")).to_contain_text("✗ nb02.matmul_backward")
    expect(output_of(test)).to_contain_text("transposed")
    assert_no_grader_traceback(output_of(test))
    screenshots.save(page, "01-student-check-typical-bug", exercise, test,
                     readme_name="jupyterlab-failed-check.png")


def validate_button_result(page):
    """Click nbgrader's Validate button and return its result dialog once it shows."""
    page.locator(".jp-NotebookPanel-toolbar .validate-button").get_by_text("Validate").click()
    message = page.locator(".jp-Dialog #validation-message")
    expect(message).to_be_visible()
    return message


def close_dialog(page):
    page.locator(".jp-Dialog").get_by_role("button", name="Ok").click()
    expect(page.locator(".jp-Dialog")).to_have_count(0)


def test_nbgraders_validate_button_fails_a_blank_notebook_and_passes_a_solved_one(
        student_lab, student_course, page, screenshots):
    # the perfect sample, next to the blank release in the folder the student's server shows
    perfect = samples.build_samples(student_course, ASSIGNMENT)["perfect"][NOTEBOOK]
    solved = student_course.release_dir(ASSIGNMENT) / "fixture_solved.ipynb"
    nbformat.write(perfect, str(solved))

    open_notebook(page, student_lab, f"{ASSIGNMENT}/{NOTEBOOK}")
    message = validate_button_result(page)
    expect(message).to_have_class(re.compile("validation-failed"))
    expect(message).to_contain_text("The following cell failed")
    expect(message).to_contain_text("relu_forward is not implemented yet")  # the check's own words
    screenshots.save(page, "02-validate-blank", page.locator(".jp-Dialog-content"))
    close_dialog(page)

    open_notebook(page, student_lab, f"{ASSIGNMENT}/{solved.name}")
    message = validate_button_result(page)
    expect(message).to_have_class(re.compile("validation-success"))
    expect(message).to_contain_text("Success! Your notebook passes all the tests.")
    screenshots.save(page, "02-validate-solved", page.locator(".jp-Dialog-content"))


def test_figures_are_drawn_in_the_notebook(student_lab, page, screenshots):
    open_notebook(page, student_lab, "01_flat_backprop/01_flat_backprop.ipynb")
    setup = first_code_cell(page)
    errors = code_cell(page, "step_sizes = np.logspace(")
    plot = code_cell(page, "fig, ax = plt.subplots(figsize=(7, 4.5))")
    run_cells(page, setup)
    run_cells(page, errors, plot)

    figure = output_of(plot).locator("img")
    expect(figure).to_have_count(1)
    width, height = figure.evaluate("img => img.decode().then(() => [img.naturalWidth, img.naturalHeight])")
    assert width > 100 and height > 100, (width, height)
    expect(output_of(plot)).not_to_contain_text("non-interactive")  # matplotlib's Agg warning
    screenshots.save(page, "03-figure", plot)
