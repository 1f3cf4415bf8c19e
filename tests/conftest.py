from course_lib.threads import use_one_blas_thread

# pytest -n 2 already fills both cores; threaded BLAS on top only slows the small products.
use_one_blas_thread()


def pytest_generate_tests(metafunc):
    """Run a notebook's standard exercise checks once per exercise of its EXERCISES table."""
    if "exercise_id" in metafunc.fixturenames and hasattr(metafunc.cls, "EXERCISES"):
        metafunc.parametrize("exercise_id", sorted(metafunc.cls.EXERCISES))
