"""The student edition of an assignment: the support code and data a released notebook imports.

`build(settings, assignment, destination)` writes into `destination` (release/<assignment>/):

    course_lib/   the reference package with every answer of this and every later assignment
                  replaced by a stub that raises NotImplementedError (same signature and
                  docstring; a listed class loses every method body, a listed method only its
                  own). Answers of earlier assignments stay: those are past due, and later
                  notebooks build on them (notebook 04's ConvNet runs on notebook 03's layers).
    autograder/   the student side only: check/ (check(), judge, runner, compare, registry) and this
                  assignment's exercise package without its cases: verdicts.py plus the
                  visible cases as data (visible_cases.json). No hidden-case code, no seed.
    data/         the shipped data files the assignment's notebooks and verdicts read
                  (Fashion-MNIST subset, digits, pretrained weights: see data_files).

Which names are answers comes from the exercises themselves: `answered_by` of the `@cases` of
every exercise the assignment's notebooks call check() on (autograder.exercises.casebook).

    python -m autograder.grading.student_edition 03_conv_pool /tmp/ed03
builds one edition without nbgrader (for trying a notebook on it).
"""
import ast
import importlib
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

import autograder
import course_lib
from autograder.check.casedata import VISIBLE_CASES_FILE
from autograder.exercises import casebook, package_dir, package_name
from autograder.grading import course
from autograder.grading.cells import is_test
from course_lib import datasets, transfer
from course_lib.datasets import DATA_DIR

HIDDEN_CASES_FILE = "hidden_cases.json"
_CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*)["']""")
_STUDENT_SIDE_OF_AUTOGRADER = ("__init__.py", "check")


# ---------------------------------------------------------------------------- which answers

def exercise_ids(notebook_path):
    """Exercise ids the test cells of a source notebook check, in order of first use."""
    nb = nbformat.read(str(notebook_path), as_version=4)
    found = [m.group(1) for cell in nb.cells if is_test(cell)
             for m in _CHECK_CALL.finditer(cell.source)]
    return list(dict.fromkeys(found))


def assignment_exercises(settings, assignment):
    """Exercise ids checked by the notebooks of one assignment."""
    folder = settings.source_root / assignment
    return [eid for path in sorted(folder.glob("*.ipynb")) for eid in exercise_ids(path)]


def answers_left_out(settings, assignment):
    """{dotted course_lib name: exercise id} for every exercise of `assignment` and later ones."""
    names = course.assignments(settings)
    if assignment not in names:
        raise ValueError(f"unknown assignment {assignment!r}; the course has {', '.join(names)}")
    left_out = {}
    for later in names[names.index(assignment):]:
        for exercise_id in assignment_exercises(settings, later):
            for name in casebook.lookup(exercise_id).answered_by:
                left_out.setdefault(name, exercise_id)
    return left_out


# ---------------------------------------------------------------------------- stubs

def _stub_message(dotted, exercise_id):
    return (f"{dotted} is left out of your copy of course_lib: it is the answer to exercise "
            f"{exercise_id}, which you write in the notebook.")


def _body_start(function):
    """Line (1-based) of the first statement after the docstring, or None if only a docstring."""
    body = function.body
    has_docstring = (isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                     and isinstance(body[0].value.value, str))
    rest = body[1:] if has_docstring else body
    return rest[0].lineno if rest else None


def _stub_edits(function, message):
    """(first line, last line, replacement lines) that turn `function`'s body into a raise."""
    indent = " " * function.body[0].col_offset
    raise_line = f"{indent}raise NotImplementedError({message!r})"
    start = _body_start(function)
    if start is None:  # a docstring alone: add the raise after it
        return function.end_lineno + 1, function.end_lineno, [raise_line]
    return start, function.end_lineno, [raise_line]


def _functions_to_stub(tree, qualified_names):
    """(ast function node, qualified name) for every listed function, method, or method of a listed class."""
    found = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in qualified_names:
            found.append((node, node.name))
        elif isinstance(node, ast.ClassDef):
            whole_class = node.name in qualified_names
            for item in node.body:
                qualname = f"{node.name}.{item.name}" if hasattr(item, "name") else None
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and (
                        whole_class or qualname in qualified_names):
                    found.append((item, node.name if whole_class else qualname))
    return found


def _defining_place(dotted):
    """(module, qualified name) where the object named `dotted` is defined: course_lib's
    packages re-export (course_lib.layers.relu_forward lives in course_lib.layers.activations)."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
        break
    qualname = getattr(obj, "__qualname__", None)
    if obj is None or qualname is None or qualname.count(".") > 1 or "<" in qualname:
        raise ValueError(f"answered_by name {dotted!r} is not a function, class or method of course_lib")
    if not dotted.endswith("." + qualname):  # TwoLayerNet.loss is Sequential.loss: stubbing it hits every model
        raise ValueError(f"answered_by name {dotted!r} is inherited from {obj.__module__}.{qualname}: "
                         "name the class itself, or the class that defines the method")
    return obj.__module__, qualname


def _by_module(left_out):
    """{defining module: {qualified name in it: exercise id}} for the left-out answers."""
    grouped = {}
    for dotted, exercise_id in left_out.items():
        module_name, qualname = _defining_place(dotted)
        grouped.setdefault(module_name, {})[qualname] = exercise_id
    return grouped


def stub_module_source(source, module_name, wanted):
    """`source` of course_lib module `module_name` with the answers in `wanted` stubbed.

    wanted: {qualified name ("affine_backward", "TwoLayerNet.loss", "MultiplyGate"): exercise id}.
    Raises ValueError when a name is not defined at the top level of this module (or as a
    method of one of its classes).
    """
    prefix = module_name + "."
    if not wanted:
        return source
    tree = ast.parse(source)
    targets = _functions_to_stub(tree, wanted)
    found = {qualname for _, qualname in targets}
    missing = sorted(set(wanted) - found)
    if missing:
        raise ValueError(f"answered_by names {', '.join(prefix + m for m in missing)} are not "
                         f"defined in {module_name}")
    lines = source.splitlines()
    edits = [_stub_edits(node, _stub_message(prefix + qualname, wanted[qualname]))
             for node, qualname in targets]
    for first, last, replacement in sorted(edits, reverse=True):
        lines[first - 1:last] = replacement
    stubbed = "\n".join(lines) + "\n"
    ast.parse(stubbed)  # a stub that breaks the module would otherwise surface in a student's kernel
    return stubbed


# ---------------------------------------------------------------------------- writing

def _python_files(package_dir):
    return sorted(p for p in package_dir.rglob("*.py") if "__pycache__" not in p.parts)


def _write_course_lib(destination, left_out):
    source_dir = Path(course_lib.__file__).parent
    modules = {".".join(path.relative_to(source_dir.parent).with_suffix("").parts)
               .removesuffix(".__init__"): path for path in _python_files(source_dir)}
    wanted = _by_module(left_out)
    unknown = sorted(set(wanted) - set(modules))
    if unknown:
        raise ValueError(f"answered_by names defined outside course_lib: {', '.join(unknown)}")
    for module_name, path in modules.items():
        target = destination / path.relative_to(source_dir.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(stub_module_source(path.read_text(), module_name, wanted.get(module_name, {})))


def _write_autograder(destination, exercise_ids_of_assignment):
    source_dir = Path(autograder.__file__).parent
    target_dir = destination / "autograder"
    for part in _STUDENT_SIDE_OF_AUTOGRADER:
        for path in ([source_dir / part] if part.endswith(".py") else _python_files(source_dir / part)):
            target = target_dir / path.relative_to(source_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    exercises_dir = target_dir / "exercises"
    exercises_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_dir / "exercises" / "__init__.py", exercises_dir / "__init__.py")
    prefixes = dict.fromkeys(eid.split(".", 1)[0] for eid in exercise_ids_of_assignment)
    for prefix in prefixes:
        package = package_name(prefix)
        for name in ("__init__.py", "verdicts.py"):
            (exercises_dir / package).mkdir(exist_ok=True)
            shutil.copyfile(source_dir / "exercises" / package / name, exercises_dir / package / name)
        ids = [eid for eid in exercise_ids_of_assignment if eid.startswith(prefix + ".")]
        (exercises_dir / package / VISIBLE_CASES_FILE).write_text(
            casebook.case_file_text(ids, hidden=False))


def data_files(settings, assignment):
    """The data/ files the assignment's notebooks and verdicts read: those of every course_lib
    loader (datasets.FILES_READ_BY, transfer.FILES_READ_BY) their code names."""
    prefixes = dict.fromkeys(eid.split(".", 1)[0] for eid in assignment_exercises(settings, assignment))
    code = "\n".join([*(p.read_text() for p in course.source_notebooks(settings, assignment)),
                      *((package_dir(prefix) / "verdicts.py").read_text() for prefix in prefixes)])
    loaders = {**datasets.FILES_READ_BY, **transfer.FILES_READ_BY}
    return sorted({name for loader, names in loaders.items() if re.search(rf"\b{loader}\b", code)
                   for name in names})


def _write_data(settings, assignment, destination):
    target = destination / "data"
    target.mkdir(parents=True, exist_ok=True)
    for name in data_files(settings, assignment):
        shutil.copyfile(DATA_DIR / name, target / name)


def build(settings, assignment, destination):
    """Write the student edition of `assignment` into `destination` (created; support folders replaced)."""
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    for folder in ("course_lib", "autograder", "data"):
        shutil.rmtree(destination / folder, ignore_errors=True)
    _write_course_lib(destination, answers_left_out(settings, assignment))
    _write_autograder(destination, assignment_exercises(settings, assignment))
    _write_data(settings, assignment, destination)
    return destination


@dataclass(frozen=True)
class GradingEdition:
    """What grading an assignment needs besides the submission.

    edition: the student edition, which the kernel and the judge's runners import;
    hidden_cases: the hidden cases computed with the secret seed, beside the edition: only the
        judge (in the grader's process) reads it; no sandbox binds it."""

    edition: Path
    hidden_cases: Path


def grading_edition(settings, assignment, destination):
    """Build the assignment's GradingEdition under `destination`, in the grader's scratch folder
    (never in release/: students do not get hidden cases)."""
    destination = Path(destination)
    edition = build(settings, assignment, destination / "edition")
    hidden = casebook.case_file_text(assignment_exercises(settings, assignment), hidden=True)
    (destination / HIDDEN_CASES_FILE).write_text(hidden)
    return GradingEdition(Path(edition), destination / HIDDEN_CASES_FILE)


def main(argv=None):
    assignment, destination = (argv or sys.argv[1:])[:2]
    built = build(course.load_course(Path.cwd()), assignment, destination)
    print(f"student edition of {assignment} -> {built}")


if __name__ == "__main__":
    main()
