"""Where an assignment's files live in a course directory (nbgrader's layout)."""
from pathlib import Path

import nbformat


def assignments(settings):
    """Names of the assignments under the source directory, sorted."""
    source = Path(settings.root) / settings.source_directory
    if not source.is_dir():
        return []
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(settings, assignment):
    """Paths of the assignment's source notebooks (with solutions), sorted."""
    return sorted((Path(settings.root) / settings.source_directory / assignment).glob("*.ipynb"))


def release_notebook(settings, assignment, notebook_name):
    return Path(settings.root) / "release" / assignment / f"{notebook_name}.ipynb"


def read_notebook(path):
    return nbformat.read(str(path), as_version=4)
