"""Which submissions are fully graded, so a killed batch resumes where it stopped.

An entry is written (atomically) only after a student's grades are committed to
the gradebook and their autograded notebook and feedback are in place. Its key
is the submission's content hash (notebooks + timestamp.txt), so a resubmission
is regraded and an unchanged one is skipped; it also records what the submission was
graded against (pipeline.grading_fingerprint) and which hidden seed graded it.
"""
import hashlib
import json
import os


def submission_key(submission_dir):
    """sha256 over the names and bytes of the notebooks and timestamp.txt in `submission_dir`."""
    digest = hashlib.sha256()
    files = sorted(submission_dir.glob("*.ipynb")) + [submission_dir / "timestamp.txt"]
    for path in files:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _entry_path(settings, assignment, student):
    return settings.ledger_dir / assignment / f"{student}.json"


def read_entry(settings, assignment, student):
    path = _entry_path(settings, assignment, student)
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def record(settings, assignment, student, key, **details):
    """Atomically write the ledger entry (write to a temp file, fsync, rename)."""
    path = _entry_path(settings, assignment, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as fh:
        json.dump({"key": key, **details}, fh, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
