"""Helpers shared by the test suite, importable as `support.*` (pyproject puts tests/ on sys.path).

fixture_course      a small nbgrader course (tests/fixtures/course), released and graded for real
notebook_exercises  a source notebook's solution cells run as student code, and the shared exercise checks
strategies          hypothesis strategies for shapes and arrays
"""
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
FIXTURES = REPO / "tests" / "fixtures"
