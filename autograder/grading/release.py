"""What students receive: release/<assignment>/ = the student notebooks (nbgrader generate_assignment)
plus the assignment's student edition of the support code and data (student_edition.py)."""
import shutil

from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograder.grading import course
from autograder.grading.config import build_config
from autograder.grading.course import prepare_grading_process
from autograder.grading.student_edition import build


class ReleaseError(RuntimeError):
    pass


def nbgrader_api(settings):
    prepare_grading_process()
    config = build_config(settings)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def release(settings, names=None):
    """Write release/<assignment>/ for each assignment (all by default) and record it in the gradebook:
    the student notebooks, and the student edition they import (course_lib without this and
    later assignments' answers, the checks' student side with the visible cases, the data),
    and the same folder as release/<assignment>.zip.

    Returns the released assignment names; raises ReleaseError with nbgrader's log on failure.
    """
    names = names or course.assignments(settings)
    api = nbgrader_api(settings)
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"releasing {name} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
        folder = build(settings, name, settings.release_dir(name))
        # one file to publish where students without nbgrader's exchange fetch it (Colab, a course site)
        shutil.make_archive(str(folder), "zip", root_dir=folder.parent, base_dir=name)
    return names
