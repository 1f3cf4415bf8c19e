"""Exercise specifications, one module per notebook, imported lazily by id prefix.

The id "nb02.affine_backward" loads the module of this package whose name is "nb02" or
starts with "nb02_" (here nb02_jacobians.py); "selftest.x" loads selftest.py. A new
notebook's module needs no registration beyond its file name.
"""
import importlib
import pkgutil


def load_module(prefix):
    """Import (once) and return the exercise module for an id prefix such as "nb02"."""
    for info in pkgutil.iter_modules(__path__):
        if info.name == prefix or info.name.startswith(prefix + "_"):
            return importlib.import_module(f"{__name__}.{info.name}")
    known = sorted(info.name for info in pkgutil.iter_modules(__path__))
    raise KeyError(f"no exercise module for {prefix!r} in autograder.exercises "
                   f"(has: {', '.join(known)})")
