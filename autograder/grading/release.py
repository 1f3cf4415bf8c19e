"""Student versions of the source notebooks (nbgrader generate_assignment)."""
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory

from autograder.grading import course
from autograder.grading.config import build_config
from autograder.grading.course import prepare_grading_process


class ReleaseError(RuntimeError):
    pass


def nbgrader_api(settings):
    prepare_grading_process()
    config = build_config(settings)
    return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)


def release(settings, names=None):
    """Write release/<assignment>/ for each assignment (all by default) and record it in the gradebook.

    Returns the released assignment names; raises ReleaseError with nbgrader's log on failure.
    """
    names = names or course.assignments(settings)
    api = nbgrader_api(settings)
    for name in names:
        result = api.generate_assignment(name, force=True, create=True)
        if not result["success"]:
            raise ReleaseError(f"releasing {name} failed:\n{result.get('log', '')}\n{result.get('error', '')}")
    return names
