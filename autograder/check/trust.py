"""Which code is the grader's (trusted, importable by the runner) and which is the student's.

Installed code: the standard library, site-packages, course_lib and autograder. Anything
else (notebook cells, cloudpickle's "<dynamic-code>", files next to the notebook, test
modules) counts as the student's: the runner treats it as untrusted, and check() pickles
such modules by value because `python -I` could not import them.
"""
import functools
import os
import sys
import sysconfig


def _package_dir(module_name):
    module = sys.modules.get(module_name) or __import__(module_name)
    return os.path.dirname(os.path.realpath(module.__file__))


@functools.lru_cache(maxsize=None)
def installed_roots():
    """Directories whose code is trusted and importable by the runner: the standard
    library, site-packages, course_lib and autograder."""
    paths = sysconfig.get_paths()
    roots = {paths[key] for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= {_package_dir("course_lib"), _package_dir("autograder")}
    return tuple(os.path.realpath(root) + os.sep for root in roots)


_trust_cache = {}


def is_installed_file(filename):
    """True for code from the trusted roots (and frozen stdlib modules), False for the
    student's code (notebook cells, files next to the notebook, test modules)."""
    if filename not in _trust_cache:
        trusted = filename.startswith("<frozen ") or (
            os.path.isabs(filename) and os.path.realpath(filename).startswith(installed_roots()))
        _trust_cache[filename] = trusted
    return _trust_cache[filename]
