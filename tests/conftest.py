def pytest_generate_tests(metafunc):
    """Run a notebook's standard exercise checks once per exercise of its EXERCISES table."""
    if "exercise_id" in metafunc.fixturenames and hasattr(metafunc.cls, "EXERCISES"):
        metafunc.parametrize("exercise_id", sorted(metafunc.cls.EXERCISES))
