"""The temporary courses the browser tests serve: one released for a student, one graded for
an instructor. Both are copies; nothing is written into the repository's own course folders."""
import shutil
import subprocess
import sys
from pathlib import Path

from autograder.grading import samples
from autograder.grading.pipeline import grade
from autograder.grading.release import release
from support import NOTEBOOKS, REPO
from support.fixture_course import ASSIGNMENT, make_course, write_students

STUDENT_NOTEBOOKS = ["01_flat_backprop", "02_jacobians"]
# the fixture course has no hand-graded cell; notebook 01 has a written answer
WRITTEN_ANSWER_NOTEBOOK = "01_flat_backprop"
BUG_STUDENT = "bug-relu"  # the fixture's relu_forward returns np.abs(x)
FIXTURE_STUDENTS = ("perfect", "blank", BUG_STUDENT)


def use_course_config(root):
    """Put the repository's nbgrader_config.py in the course root: the course's one
    configuration, which `python -m autograder`, nbgrader's formgrader and its Validate
    handler read (the two last from the server's working directory)."""
    shutil.copyfile(REPO / "nbgrader_config.py", Path(root) / "nbgrader_config.py")


def release_with_the_cli(root, assignments):
    """`python -m autograder release`, as an instructor produces the student versions."""
    command = [sys.executable, "-m", "autograder", "--root", str(root), "release"]
    for name in assignments:
        command += ["--assignment", name]
    subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)


def make_student_course(root):
    """The fixture assignment plus notebooks 01 and 02, all released; returns its CourseSettings."""
    settings = make_course(root)
    use_course_config(settings.root)
    for name in STUDENT_NOTEBOOKS:
        shutil.copytree(NOTEBOOKS / name, settings.source_root / name)
    release_with_the_cli(settings.root, STUDENT_NOTEBOOKS)
    return settings


def make_graded_course(root):
    """The fixture course graded for real (the pipeline, in the sandbox): a perfect, a blank and
    a typical-bug student, plus the perfect sample of notebook 01 for its written answer."""
    # notebook 01's cells take seconds each on a busy machine: the fixture's 10 s is too tight
    settings = make_course(root, cell_timeout_s=60)
    use_course_config(settings.root)
    shutil.copytree(NOTEBOOKS / WRITTEN_ANSWER_NOTEBOOK, settings.source_root / WRITTEN_ANSWER_NOTEBOOK)
    release(settings, [WRITTEN_ANSWER_NOTEBOOK])
    fixture_samples = samples.build_samples(settings, ASSIGNMENT)
    write_students(settings, {name: fixture_samples[name] for name in FIXTURE_STUDENTS})
    samples.write_submission(settings.default_submissions, "perfect", WRITTEN_ANSWER_NOTEBOOK,
                             samples.build_samples(settings, WRITTEN_ANSWER_NOTEBOOK)["perfect"])
    grade(settings, jobs=2, progress=False)
    return settings
