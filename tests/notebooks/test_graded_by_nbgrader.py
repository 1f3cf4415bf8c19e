"""Every course notebook, graded for real by nbgrader: the reference solution earns every
autograded point, the released stub earns none, tampering earns nothing, and each typical
bug loses exactly the points of its own exercise."""
import shutil

import pytest

from autograder.grading import course, samples
from autograder.grading.cells import cells_by_grade_id, is_test, is_written_answer, points
from autograder.grading.course import CourseSettings
from autograder.grading.pipeline import grade
from autograder.grading.release import release
from autograder.grading.summary import score_table
from support import REPO

# grades with the real nbgrader; one xdist worker builds the module's batch (make test: --dist loadgroup)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("course_notebooks")]

ASSIGNMENTS = course.assignments(CourseSettings().with_root(REPO))


def test_the_course_has_its_four_assignments():
    assert len(ASSIGNMENTS) == 4, ASSIGNMENTS


def _source(settings, assignment):
    (path,) = course.source_notebooks(settings, assignment)
    return path.stem, course.read_notebook(path)


def _autograded_points(source_nb):
    """grade_id -> points of every autograded test cell (written answers are graded by hand)."""
    return {gid: points(cell) for gid, cell in cells_by_grade_id(source_nb, is_test).items()}


@pytest.fixture(scope="module", params=ASSIGNMENTS)
def graded(request, tmp_path_factory):
    """One temporary course per assignment with every sample student autograded."""
    assignment = request.param
    root = tmp_path_factory.mktemp(assignment)
    shutil.copytree(REPO / "notebooks" / assignment, root / "notebooks" / assignment)
    settings = CourseSettings().with_root(root)
    release(settings, [assignment])
    students = samples.build_samples(settings, assignment)
    for student, notebooks in students.items():
        samples.write_submission(root / "submitted", student, assignment, notebooks)
    results = grade(settings, jobs=2, progress=False)
    stem, source_nb = _source(settings, assignment)
    scores = {
        student: {gid: score for gid, (score, _, _) in results[(assignment, student)].grades[stem].items()}
        for student in students
    }
    return assignment, source_nb, scores, results, settings


def test_reference_solution_earns_every_autograded_point(graded):
    _, source_nb, scores, _, _ = graded
    points = _autograded_points(source_nb)
    assert {gid: scores["perfect"][gid] for gid in points} == points


def test_a_perfect_submission_gets_no_notice(graded):
    # a given cell the tamper scan disabled would be graded differently from the student's run
    assignment, _, _, results, _ = graded
    assert results[(assignment, "perfect")].notices == []


def test_released_stub_earns_no_point(graded):
    _, source_nb, scores, _, _ = graded
    assert {gid: scores["blank"][gid] for gid in _autograded_points(source_nb)} == \
        dict.fromkeys(_autograded_points(source_nb), 0.0)


def test_forging_submission_earns_nothing(graded):
    # the blank release plus the forging cell (samples.FORGING): its kernel prints "✓" for every
    # check (full marks if scores came from the kernel's outputs, test_forging.py shows it)
    _, source_nb, scores, _, _ = graded
    assert sum(scores["forging"][gid] or 0.0 for gid in _autograded_points(source_nb)) == 0.0


def test_tampered_submission_earns_nothing(graded):
    _, source_nb, scores, _, _ = graded
    assert sum(scores["tampered"][gid] or 0.0 for gid in _autograded_points(source_nb)) == 0.0


def test_every_graded_exercise_has_a_typical_bug(graded):
    _, source_nb, scores, _, _ = graded
    exercises = {sol for sol, tests in samples.exercise_tests(source_nb).items()
                 if any(t in _autograded_points(source_nb) for t in tests)}
    assert exercises and exercises <= {s.removeprefix("bug-") for s in scores if s.startswith("bug-")}


def test_each_typical_bug_loses_exactly_its_exercise(graded):
    """...and at most the tests declared to run that exercise's code too (nb02's graded training
    runs the student's loss and optimizer: a broken optimizer may not reach the bar)."""
    _, source_nb, scores, _, _ = graded
    points = _autograded_points(source_nb)
    tests_of, dependents = samples.exercise_tests(source_nb), samples.tests_using(source_nb)
    for student in (s for s in scores if s.startswith("bug-")):
        exercise = student.removeprefix("bug-")
        lost, may_lose = set(tests_of[exercise]), set(dependents.get(exercise, []))
        got = {gid: scores[student][gid] for gid in points}
        assert {gid: got[gid] for gid in lost} == dict.fromkeys(lost, 0.0), student
        assert all(got[gid] in (0.0, points[gid]) for gid in may_lose), student
        kept = {gid: p for gid, p in points.items() if gid not in lost | may_lose}
        assert {gid: got[gid] for gid in kept} == kept, student


def test_written_answers_of_a_full_submission_wait_for_the_instructor(graded):
    assignment, source_nb, _, results, settings = graded
    written = {gid: points(cell) for gid, cell in cells_by_grade_id(source_nb, is_written_answer).items()}
    perfect = results[(assignment, "perfect")]
    pending = {gid: max_score for grades in perfect.grades.values()
               for gid, (_, max_score, needs_manual) in grades.items() if needs_manual}
    assert pending == written
    if written:  # the demo's table says why a perfect submission is short of full marks
        assert f"{sum(written.values()):g} pts" in score_table(settings, {(assignment, "perfect"): perfect})
