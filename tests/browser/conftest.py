"""Browser tests: Debian's Chromium driven by Playwright, on real JupyterLab servers.

Shared here, once per test session (all browser tests share one xdist group, so one worker):
- `browser`: Chromium (fails with one line naming what to install when it is missing);
- `student_course`, `student_lab`: JupyterLab on the student versions (release/) of notebooks
  01, 02 and the fixture assignment, started from the course root as `make lab` does, so
  nbgrader's Validate button finds the course's nbgrader_config.py;
- `graded_course`, `instructor_lab`: a small batch graded by the real pipeline, and JupyterLab
  with the formgrader on that course (courses.py builds both courses);
- `screenshots`: each scenario's picture, in outputs/screenshots/ (git-ignored).
"""
import os
import shutil
from pathlib import Path

import pytest

from courses import make_graded_course, make_student_course
from support import REPO
from support.jupyter_server import jupyterlab

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # reported by the `browser` fixture as a failure, never as a skip
    sync_playwright = expect = None

CHROMIUM = Path("/usr/bin/chromium")
# Browser downloads are impossible here; Debian's Chromium is driven instead. The
# background-networking flags stop Chromium's own calls home, which this closed network refuses.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
VIEWPORT = {"width": 1440, "height": 1000}
# A check spawns a worker process and a busy 2-core machine is slow: generous DOM waits.
WAIT_MS = 90_000

SCREENSHOTS = REPO / "outputs" / "screenshots"
# `make screenshots` sets this to docs/screenshots: the README's pictures are saved there too.
README_SCREENSHOTS_ENV = "README_SCREENSHOTS_DIR"

# Settings of the JupyterLab the tests drive.
LAB_SETTINGS = {
    # every cell in the DOM (the default windowing attaches only the visible ones), and no
    # auto-inserted closing brackets while the tests type code key by key
    "@jupyterlab/notebook-extension:tracker": {
        "windowingMode": "none",
        "codeCellConfig": {"autoClosingBrackets": False},
    },
    # no news or update checks: no toast over the notebook, no request to the internet
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}


# ---------------------------------------------------------------------------- browser

def missing_browser_dependency():
    """One line naming what to install, or None when Playwright and Chromium are both there."""
    if sync_playwright is None:
        return "Playwright is missing: install it with `.venv/bin/pip install -r requirements.txt`"
    if not CHROMIUM.exists():
        return (f"Chromium is missing ({CHROMIUM}): install it with `apt-get install chromium` "
                "(`make browser-deps` does it as root)")
    return None


@pytest.fixture(scope="session", autouse=True)
def browser_dependencies():
    """Before any course is built or graded: fail every browser test, in one line, when
    Playwright or Chromium is missing (a skip would hide that these tests never ran)."""
    problem = missing_browser_dependency()
    if problem:
        pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def browser(browser_dependencies):
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so `page` knows whether its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request):
    """A page in a fresh browser context (no cookies, storage or cache from another test).
    When the test fails, the page as it was goes to outputs/screenshots/FAILED-<test>.png."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"FAILED-{request.node.name}.png"))
    context.close()


class Screenshots:
    """Saves each scenario's screenshot to outputs/screenshots/, and the README's pictures
    also to $README_SCREENSHOTS_DIR when it is set (`make screenshots`)."""

    def __init__(self, folder, readme_folder=None):
        self.folder = Path(folder)
        self.readme_folder = Path(readme_folder) if readme_folder else None
        self.folder.mkdir(parents=True, exist_ok=True)

    def save(self, page, name, *regions, readme_name=None, padding=8):
        """Screenshot of the union of the `regions` (locators; the whole page when none)."""
        clip = self._union(page, regions, padding) if regions else None
        path = self.folder / f"{name}.png"
        page.screenshot(path=str(path), clip=clip)
        if readme_name and self.readme_folder:
            self.readme_folder.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, self.readme_folder / readme_name)
        return path

    @staticmethod
    def _union(page, regions, padding):
        boxes = []
        for region in regions:
            region.scroll_into_view_if_needed()
            boxes.append(region.bounding_box())
        left = max(0, min(b["x"] for b in boxes) - padding)
        top = max(0, min(b["y"] for b in boxes) - padding)
        right = min(page.viewport_size["width"], max(b["x"] + b["width"] for b in boxes) + padding)
        # little below: the next cell's border (blue once Shift+Enter selected it) starts there
        bottom = min(page.viewport_size["height"], max(b["y"] + b["height"] for b in boxes) + 2)
        return {"x": left, "y": top, "width": right - left, "height": bottom - top}


@pytest.fixture(scope="session")
def screenshots():
    readme = os.environ.get(README_SCREENSHOTS_ENV)
    return Screenshots(SCREENSHOTS, REPO / readme if readme else None)


# ---------------------------------------------------------------------------- courses and servers

@pytest.fixture(scope="session")
def student_course(tmp_path_factory):
    return make_student_course(tmp_path_factory.mktemp("student_course"))


@pytest.fixture(scope="session")
def student_lab(student_course, tmp_path_factory):
    """JupyterLab on release/, as `make lab` starts it (from the course root)."""
    with jupyterlab(student_course.root / "release", cwd=student_course.root, lab_settings=LAB_SETTINGS,
                    state_dir=tmp_path_factory.mktemp("student_lab_state")) as server:
        yield server


@pytest.fixture(scope="session")
def graded_course(tmp_path_factory):
    return make_graded_course(tmp_path_factory.mktemp("graded_course"))


@pytest.fixture(scope="session")
def instructor_lab(graded_course, tmp_path_factory):
    """JupyterLab with the formgrader, on the course root (nbgrader wants the course inside
    the server's root) and from it (for its nbgrader_config.py)."""
    with jupyterlab(graded_course.root, cwd=graded_course.root, lab_settings=LAB_SETTINGS,
                    state_dir=tmp_path_factory.mktemp("instructor_lab_state")) as server:
        yield server
