"""Is this notebook being run by nbgrader? (lets notebooks shorten long training cells)

nbgrader 0.9 sets NBGRADER_EXECUTION='autograde' while autograding
(nbgrader/converters/autograde.py) and NBGRADER_EXECUTION='validate' (plus
NBGRADER_VALIDATING='1') during `nbgrader validate` (nbgrader/validator.py).
"""
import os

NBGRADER_EXECUTION = "NBGRADER_EXECUTION"


def is_autograding():
    """True while nbgrader autogrades or validates this notebook, False in a student's session."""
    return os.environ.get(NBGRADER_EXECUTION) in ("autograde", "validate")
