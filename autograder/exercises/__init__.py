"""Exercise checks, one package per notebook, found by the id prefix ("nb02.affine" -> nb02_*).

Each package splits every exercise in two:

    cases.py     instructor side: `@cases("nb02.affine", answered_by=[...])` functions
                 `(rng, hidden) -> plain data`, computed with the reference course_lib
                 (see casebook.py). Never shipped to students.
    verdicts.py  student side: `@verdict("nb02.affine")` functions
                 `(case_data, *student_objects)` that call the student's code on the case
                 inputs and compare (autograder.check.compare). Shipped in the student
                 edition, with the visible cases as data (visible_cases.json).

A new notebook's package needs no registration beyond its folder name (nbNN_<topic>/).
"""
import importlib
import pkgutil
from pathlib import Path


def package_name(prefix):
    """The exercise package of an id prefix: "nb02" -> "nb02_jacobians", "selftest" -> "selftest"."""
    for info in pkgutil.iter_modules(__path__):
        if info.ispkg and (info.name == prefix or info.name.startswith(prefix + "_")):
            return info.name
    known = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.ispkg)
    raise KeyError(f"no exercise package for {prefix!r} in autograder.exercises "
                   f"(has: {', '.join(known)})")


def package_dir(prefix):
    """Folder of the exercise package of an id prefix."""
    return Path(__path__[0]) / package_name(prefix)


def load_part(prefix, part):
    """Import (once) and return `verdicts` or `cases` of the package of an id prefix."""
    return importlib.import_module(f"{__name__}.{package_name(prefix)}.{part}")
