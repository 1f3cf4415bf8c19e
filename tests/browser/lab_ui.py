"""Driving a JupyterLab notebook the way a person does: click a cell, type, Shift+Enter.

Every wait is on a DOM condition (a cell's prompt turning into a new execution count, the
status bar's kernel turning idle), never a fixed sleep.
"""
import re

from playwright.sync_api import expect

# A cell's input prompt once it ran: "[7]:" (queued or running shows "[*]:", never ran "[ ]:")
_RAN_SINCE = """([prompt, before]) => {
    const text = prompt.textContent.trim();
    return /^\\[\\d+\\]:$/.test(text) && text !== before;
}"""

_EDITOR_TEXT = """content => Array.from(content.querySelectorAll('.cm-line'))
    .map(line => line.textContent).join('\\n')"""


def log_in(page, server, next_path):
    """Log in on the server's login page with its token, as a person does, and land on next_path.

    The formgrader's pages call its API from jQuery, with the login cookie only: a token in
    a formgrader URL would log that one page in (its cookie is limited to the page's path).
    """
    page.goto(f"{server.base}/login?next={next_path}")
    page.locator("#password_input").fill(server.token)
    page.locator("#login_submit").click()
    page.wait_for_url(f"{server.base}{next_path}")


def open_notebook(page, server, path):
    """Open `path` (relative to the server's root) in JupyterLab and wait until its kernel is ready."""
    page.goto(server.url(f"/lab/tree/{path}", reset=""))  # reset: no workspace from a previous visit
    expect(page.locator(".jp-NotebookPanel .jp-Cell").first).to_be_visible()
    kernel_idle(page)


def kernel_idle(page):
    """Wait until the status bar says the notebook's kernel is idle.

    Not the toolbar's execution indicator: it says "idle" before any kernel exists, and a cell
    run then is silently dropped. The status bar's kernel item appears with the kernel
    ("Initializing", "Connecting", ...) and reads "Idle" once the kernel answered.
    """
    status = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem[title^='Change kernel']")
    expect(status).to_have_text(re.compile(r"\|\s*Idle$"))


def code_cell(page, text):
    """The one code cell whose source contains `text`."""
    cell = page.locator(".jp-NotebookPanel .jp-CodeCell").filter(has_text=text)
    expect(cell).to_have_count(1)
    return cell


def first_code_cell(page):
    return page.locator(".jp-NotebookPanel .jp-CodeCell").first


def output_of(cell):
    """The output area of a code cell (what the student reads under it)."""
    return cell.locator(".jp-OutputArea")


def run_cells(page, *cells):
    """Run the cells in order, as a person does: click a cell, Shift+Enter; then wait until
    every one of them has run (a new execution count in its prompt)."""
    prompts = [cell.locator(".jp-InputPrompt") for cell in cells]
    before = [prompt.text_content().strip() for prompt in prompts]
    for prompt in prompts:
        prompt.click()  # selects the cell without moving an editor's cursor
        page.keyboard.press("Shift+Enter")
    for prompt, text in zip(prompts, before):
        page.wait_for_function(_RAN_SINCE, arg=[prompt.element_handle(), text])


def editor_text(cell):
    """The cell's source as its editor shows it, one line per CodeMirror line."""
    return cell.locator(".cm-content").evaluate(_EDITOR_TEXT)


def type_into_cell(page, cell, code):
    """Replace the cell's source by typing `code`: click into the editor, select all, type.

    The editor indents a new line by itself (after a `def ...:`, and as deep as the line
    above), so each line is typed without its leading spaces; the result is then compared
    with `code`, so a difference in indentation fails here rather than as a strange check.
    """
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    lines = code.strip("\n").split("\n")
    for number, line in enumerate(lines):
        page.keyboard.type(line.lstrip())
        if number < len(lines) - 1:
            page.keyboard.press("Enter")
    typed = editor_text(cell)
    assert typed == code.strip("\n"), f"the editor holds\n{typed}\ninstead of\n{code}"
