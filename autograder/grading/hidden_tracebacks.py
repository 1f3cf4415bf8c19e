"""Feedback preprocessor: take the hidden-test lines out of tracebacks as well.

nbgrader's ClearHiddenTests removes the hidden region from a test cell's source, but a
failing check's traceback quotes the lines around the failing call, hidden ones included.
"""
import re

from nbgrader.preprocessors import NbGraderPreprocessor

from autograder.grading.cells import BEGIN_HIDDEN_TESTS, END_HIDDEN_TESTS

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def without_hidden_lines(text):
    """text with every line from one naming BEGIN HIDDEN TESTS to one naming END removed."""
    kept, hidden = [], False
    for line in text.split("\n"):
        plain = ANSI_ESCAPE.sub("", line)
        if BEGIN_HIDDEN_TESTS in plain:
            hidden = True
        if not hidden:
            kept.append(line)
        if END_HIDDEN_TESTS in plain:
            hidden = False
    return "\n".join(kept)


class ClearHiddenTracebackLines(NbGraderPreprocessor):  # nbgrader's base: enabled by default
    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [without_hidden_lines(frame) for frame in output["traceback"]]
        return cell, resources
