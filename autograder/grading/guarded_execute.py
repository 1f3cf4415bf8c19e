"""nbgrader's Execute preprocessor with the guards nbgrader 0.9 lacks.

1. Output cap while the cell runs: a cell printing megabytes would otherwise be held
   in the grader's memory and written into the graded notebook and the feedback.
2. Crash report: when execution cannot go on (the kernel died, or it ignored the
   interrupt after a timeout) nbgrader drops the whole submission. We first write
   which cell was running to `crash_report_path`; the pipeline regrades with that
   cell listed in `disabled_cells` (it then raises the reason instead of running),
   so the student loses only the tests that depend on it.
3. Sandbox: with `sandboxed`, the kernel is started by SandboxedKernelManager (sandbox.py).
4. Judge: before each cell runs, the submission's JudgeService (judge_socket) is told which
   cell it is, so the verdicts it records are attributed to that cell (scores.py).
"""
import json
import os

from nbclient.util import run_sync
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Bool, Dict, Integer, Unicode

from autograder.exercises.casebook import HIDDEN_SEED_ENV
from autograder.grading.judge_service import service_for
from autograder.grading.sandbox import SandboxedKernelManager
from autograder.grading.staging import disabled_source

CRASH_REPORT_ENV = "AUTOGRADER_CRASH_REPORT"


class GuardedExecute(Execute):
    max_output_bytes = Integer(
        100_000, help="Text output kept per cell; the rest is dropped while the cell runs."
    ).tag(config=True)

    crash_report_path = Unicode(
        "", help="Where to write {cell_index, reason} when execution aborts (default: $AUTOGRADER_CRASH_REPORT)."
    ).tag(config=True)

    disabled_cells = Dict(
        {}, help="Cell index (as str) -> reason: these cells raise the reason instead of running."
    ).tag(config=True)

    kernel_env = Dict(
        value_trait=Unicode(), help="Variables set in the kernel's environment, over the grader's."
    ).tag(config=True)

    judge_socket = Unicode(
        "", help="Socket of the JudgeService (in this process) that records this submission's verdicts."
    ).tag(config=True)

    sandboxed = Bool(
        False, help="Run the kernel in the grading sandbox (configure c.SandboxedKernelManager)."
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # nbgrader's Execute.__init__ fixes kernel_manager_class, so config cannot choose it
        if self.sandboxed:
            self.kernel_manager_class = SandboxedKernelManager

    async def async_start_new_kernel(self, **kwargs):
        # the sandboxed kernel's environment is the sandbox's own (SandboxedKernelManager.sandbox_env)
        if self.kernel_env and not self.sandboxed:
            # the hidden seed stays with the grader: only its judge holds the hidden cases
            inherited = {k: v for k, v in os.environ.items() if k != HIDDEN_SEED_ENV}
            kwargs.setdefault("env", {**inherited, **self.kernel_env})
        return await super().async_start_new_kernel(**kwargs)

    # nbclient binds its own coroutine here at class creation: without this line, the
    # synchronous path nbgrader takes would never reach the override above
    start_new_kernel = run_sync(async_start_new_kernel)

    def preprocess(self, nb, resources, km=None):
        self._output_budget = {}
        self._notebook = resources.get("unique_key")
        return super().preprocess(nb, resources, km=km)

    def preprocess_cell(self, cell, resources, index):
        judge = service_for(self.judge_socket) if self.judge_socket else None
        if judge is not None:
            judge.enter_cell(self._notebook, index)
        reason = self.disabled_cells.get(str(index))
        if reason:
            cell.source = disabled_source(reason, cell.source)
        try:
            return super().preprocess_cell(cell, resources, index)
        except Exception as error:
            self._write_crash_report(index, error)
            raise

    def _write_crash_report(self, index, error):
        path = self.crash_report_path or os.environ.get(CRASH_REPORT_ENV, "")
        if not path:
            return
        report = {"cell_index": index, "error": type(error).__name__, "detail": str(error)[:500]}
        with open(path, "w") as fh:
            json.dump(report, fh)

    def output(self, outs, msg, display_id, cell_index):
        budget = self._output_budget.setdefault(cell_index, self.max_output_bytes)
        if budget <= 0:
            return None
        size = _message_size(msg)
        if size > budget:
            self._output_budget[cell_index] = 0
            note = new_output(
                "stream",
                name="stdout",
                text=f"\n... output truncated by the autograder (more than {self.max_output_bytes} bytes) ...\n",
            )
            outs.append(note)
            return note
        self._output_budget[cell_index] = budget - size
        return super().output(outs, msg, display_id, cell_index)


def _message_size(msg):
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    return sum(len(str(v)) for v in content.get("data", {}).values())
