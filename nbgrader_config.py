"""nbgrader reads this file from the course root (formgrader in `make lab`, the nbgrader
command line); the settings themselves are built by autograder/grading/config.py."""
from autograder.grading.config import apply_to

apply_to(get_config())  # noqa: F821 -- get_config is provided by nbgrader's config loader
