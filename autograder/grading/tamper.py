"""Static scan of the cells a student can edit, for code that could fool the grader.

Test cells run in the student's kernel, so a student cell that rebinds
`autograder.check`, patches numpy (`np.allclose = lambda *a, **k: True`), rewrites
builtins, hooks IPython or imports `course_lib`'s reference as the answer could turn
failing tests green. `scan_cell` parses one cell (IPython syntax included) and
returns the reasons it must not run; the pipeline replaces such a cell by a `raise`
carrying the reason. Rules are deliberately broad: nothing they forbid is needed to
write a layer's forward or backward pass.
"""
import ast
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

FORBIDDEN_MODULES = {
    "autograder": "imports the autograder",
    "builtins": "imports builtins",
    "ctypes": "uses ctypes",
    "gc": "uses gc",
    "importlib": "uses importlib",
    "resource": "changes resource limits",
    "signal": "changes signal handlers",
    "subprocess": "starts processes",
    "pty": "starts processes",
    "multiprocessing": "starts processes",
}
FORBIDDEN_NAMES = {
    "__builtins__", "__import__", "exec", "eval", "compile", "globals", "vars",
    "setattr", "delattr", "get_ipython", "breakpoint",
}
FORBIDDEN_ATTRIBUTES = {
    "__dict__", "__code__", "__globals__", "__builtins__", "__subclasses__", "__closure__",
    "__defaults__", "__kwdefaults__", "__setattr__", "__delattr__", "__class__", "__bases__",
    "__mro__", "__loader__", "__spec__",
}
FORBIDDEN_CALLS = {
    ("os", "_exit"), ("os", "kill"), ("os", "killpg"), ("os", "abort"), ("os", "system"),
    ("os", "popen"), ("os", "fork"), ("os", "putenv"), ("os", "unsetenv"), ("os", "execv"),
    ("os", "execvp"), ("os", "execl"), ("os", "setsid"), ("sys", "settrace"), ("sys", "setprofile"),
    ("sys", "exit"), ("sys", "setrecursionlimit"),
}
FORBIDDEN_SYS_ATTRIBUTES = {"modules", "meta_path", "path_hooks", "settrace", "setprofile", "stdout", "stderr"}
# read-only helpers notebooks may import in student-editable cells (is_autograding)
ALLOWED_AUTOGRADER_MODULES = {"autograder.check.environment"}
ALLOWED_MAGICS = {"matplotlib", "time", "timeit", "precision"}
REFERENCE_PACKAGE = "course_lib"


@dataclass(frozen=True)
class Finding:
    line: int
    reason: str


def to_python(source):
    """IPython cell source -> plain Python (magics become get_ipython() calls)."""
    return TransformerManager().transform_cell(source)


def scan_cell(source, required_names=frozenset(), module_aliases=frozenset(), protected_names=None):
    """Reasons this cell must not run, as a list of Finding (empty when clean).

    required_names: names the student must define themselves (defined in the source
        notebook's solution cells); binding them to course_lib is copying the answer.
    module_aliases: names bound to imported modules anywhere in the notebook; assigning
        to their attributes is monkeypatching.
    protected_names: name -> what the locked (instructor) cells import under it, e.g.
        {"check": "autograder.check", "np": "numpy"}; test cells rely on these, so a
        student cell may bind them only by importing the very same thing.
    A cell that does not parse yields no finding: it cannot run, so it cannot cheat.
    """
    try:
        tree = ast.parse(to_python(source))
    except (SyntaxError, ValueError):
        return []
    visitor = _TamperVisitor(set(required_names), set(module_aliases) | imported_aliases(tree), protected_names or {})
    visitor.visit(tree)
    return visitor.findings


def imported_aliases(tree):
    """Names an `import` statement in `tree` binds (module aliases and imported objects)."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add((alias.asname or alias.name).split(".")[0])
    return names


def import_bindings(source):
    """name -> dotted origin for each name an import in `source` binds ("np" -> "numpy")."""
    try:
        tree = ast.parse(to_python(source))
    except (SyntaxError, ValueError):
        return {}
    bindings = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                bindings[bound] = alias.name if alias.asname else bound
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                bindings[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bindings


def notebook_aliases(sources):
    """Union of `imported_aliases` over cell sources that parse."""
    names = set()
    for source in sources:
        try:
            names |= imported_aliases(ast.parse(to_python(source)))
        except (SyntaxError, ValueError):
            continue
    return names


def defined_names(source):
    """Top-level functions, classes and variables a (solution) cell defines."""
    try:
        tree = ast.parse(to_python(source))
    except (SyntaxError, ValueError):
        return set()
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def _root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _dotted(node):
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


class _TamperVisitor(ast.NodeVisitor):
    def __init__(self, required_names, module_aliases, protected_names):
        self.required = required_names
        self.modules = module_aliases
        self.protected = protected_names
        self.reference_aliases = set()
        self.findings = []

    def flag(self, node, reason):
        self.findings.append(Finding(getattr(node, "lineno", 0), reason))

    def _check_binding(self, node, name, origin=None):
        if name in self.protected and origin != self.protected[name]:
            self.flag(node, f"rebinds `{name}`, which the test cells use")

    def visit_FunctionDef(self, node):
        self._check_binding(node, node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Import(self, node):
        for alias in node.names:
            bound = alias.asname or alias.name.split(".")[0]
            self._check_binding(node, bound, alias.name if alias.asname else bound)
            self._check_module(node, alias.name)
            if alias.name.split(".")[0] == REFERENCE_PACKAGE:
                self.reference_aliases.add((alias.asname or alias.name).split(".")[0])
        self.generic_visit(node)

    def visit_ImportFrom(self, node):
        module = node.module or ""
        self._check_module(node, module)
        for alias in node.names:
            self._check_binding(node, alias.asname or alias.name, f"{module}.{alias.name}")
        if module.split(".")[0] == REFERENCE_PACKAGE:
            for alias in node.names:
                bound = alias.asname or alias.name
                self.reference_aliases.add(bound)
                if alias.name in self.required or bound in self.required:
                    self.flag(node, f"imports the reference `{module}.{alias.name}` instead of writing `{bound}`")
        self.generic_visit(node)

    def _check_module(self, node, module):
        root = module.split(".")[0]
        if module in ALLOWED_AUTOGRADER_MODULES:
            return
        if root in FORBIDDEN_MODULES:
            self.flag(node, f"{FORBIDDEN_MODULES[root]} (`{module}`)")

    def visit_Name(self, node):
        if node.id in FORBIDDEN_NAMES:
            self.flag(node, f"uses `{node.id}`")
        if isinstance(node.ctx, ast.Store):
            self._check_binding(node, node.id)

    def visit_Attribute(self, node):
        if node.attr in FORBIDDEN_ATTRIBUTES:
            self.flag(node, f"uses `{node.attr}`")
        if _root_name(node) == "sys" and node.attr in FORBIDDEN_SYS_ATTRIBUTES:
            self.flag(node, f"uses `sys.{node.attr}`")
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and "AUTOGRADER_" in node.value:
            self.flag(node, "reads or sets the autograder's environment")

    def visit_Call(self, node):
        dotted = _dotted(node.func) or ""
        if tuple(dotted.split(".")[-2:]) in FORBIDDEN_CALLS:
            self.flag(node, f"calls `{dotted}`")
        if self._is_magic_call(node):
            return self._check_magic(node)
        self.generic_visit(node)

    def _is_magic_call(self, node):
        func = node.func
        return (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Call)
            and _dotted(func.value.func) == "get_ipython"
        )

    def _check_magic(self, node):
        kind = node.func.attr
        name = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
        if kind in ("run_line_magic", "run_cell_magic") and name in ALLOWED_MAGICS:
            # %time / %%timeit carry code as their last string argument
            body = node.args[-1]
            if isinstance(body, ast.Constant) and isinstance(body.value, str):
                inner = scan_cell(body.value, self.required, self.modules)
                self.findings.extend(Finding(node.lineno + f.line - 1, f.reason) for f in inner)
            return None
        label = f"the magic %{name}" if kind.endswith("magic") else "a shell command"
        self.flag(node, f"runs {label}")
        return None

    def _check_targets(self, node, targets):
        for target in targets:
            if isinstance(target, (ast.Tuple, ast.List, ast.Starred)):
                inner = target.elts if not isinstance(target, ast.Starred) else [target.value]
                self._check_targets(node, inner)
                continue
            # only the target's own chain counts: `dx[np.arange(N), y] -= 1` changes dx, not np
            if isinstance(target, (ast.Attribute, ast.Subscript)) and _root_name(target) in self.modules:
                self.flag(node, f"changes `{_dotted(target) or _root_name(target)}` of an imported module")
            if isinstance(target, ast.Name) and target.id in self.required and self._mentions_reference(node):
                self.flag(node, f"binds `{target.id}` to course_lib's reference")

    def _mentions_reference(self, node):
        value = getattr(node, "value", None)
        if value is None:
            return False
        return any(
            isinstance(sub, ast.Name) and (sub.id in self.reference_aliases or sub.id == REFERENCE_PACKAGE)
            for sub in ast.walk(value)
        )

    def visit_Assign(self, node):
        self._check_targets(node, node.targets)
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        self._check_targets(node, [node.target])
        self.generic_visit(node)

    def visit_AnnAssign(self, node):
        self._check_targets(node, [node.target])
        self.generic_visit(node)

    def visit_Delete(self, node):
        self._check_targets(node, node.targets)
        self.generic_visit(node)
