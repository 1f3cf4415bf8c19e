"""nbgrader reads this file from the course root (formgrader in `make lab`, the nbgrader
command line); the settings themselves live in autograder/nbgrader_config.py."""
from autograder.nbgrader_config import apply_to

apply_to(get_config())  # noqa: F821 -- get_config is provided by nbgrader's config loader
