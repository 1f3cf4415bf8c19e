"""Run in a student's environment (a venv with requirements-student.txt only), with `python -I`.

    student_driver.py run RELEASE_DIR NOTEBOOK OUT   execute NOTEBOOK (in RELEASE_DIR) top to bottom,
                                                    errors allowed, and write it with outputs to OUT
    student_driver.py diagnose RELEASE_DIR REQUEST   for each {"exercise_id", "slots", "code"} of
                                                    REQUEST (JSON), run the code and check() its
                                                    objects; print a JSON list of messages

Nothing of the repository is importable here: the release folder is the only course code,
as it is for a student whose notebook runs in that folder.
"""
import json
import sys
from pathlib import Path


def run(release_dir, notebook, out):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                   resources={"metadata": {"path": release_dir}}).execute()
    nbformat.write(nb, out)


def diagnose(release_dir, request):
    sys.path.insert(0, release_dir)  # what the notebook's folder is to its kernel
    from autograder.check.checker import run as run_check

    messages = []
    for item in json.loads(Path(request).read_text()):
        namespace = {"__name__": "__main__"}
        exec(compile(item["code"], "<student>", "exec"), namespace)
        result = run_check(item["exercise_id"], *(namespace[name] for name in item["slots"]))
        messages.append([result.passed, result.message])
    print(json.dumps(messages))


if __name__ == "__main__":
    command, *arguments = sys.argv[1:]
    {"run": run, "diagnose": diagnose}[command](*arguments)
