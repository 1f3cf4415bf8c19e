"""Run isolated grading jobs in a pool of worker processes (spawned: no state shared with the parent)."""
import logging
import os
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from autograder.grading.course import prepare_grading_process
from autograder.grading.isolated import grade_in_isolation


def _worker_init():
    prepare_grading_process()
    # nbgrader's per-cell warnings would interleave on the terminal; failures come back in results
    logging.getLogger("traitlets").setLevel(logging.CRITICAL)
    # nbgrader re-adds deleted test cells without a cell id; harmless, but noisy
    warnings.filterwarnings("ignore", message="Cell is missing an id field")
    warnings.filterwarnings("ignore", message=".*not in session.*")  # nbgrader's own SQLAlchemy autoflush


def default_jobs():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_jobs(jobs, processes=None):
    """Yield (job, GradingResult or the exception the worker raised) as each job finishes."""
    jobs = list(jobs)
    if not jobs:
        return
    processes = max(1, min(processes or default_jobs(), len(jobs)))
    with ProcessPoolExecutor(processes, mp_context=get_context("spawn"), initializer=_worker_init) as pool:
        futures = {pool.submit(grade_in_isolation, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as error:  # reported by the caller; never stops the other jobs
                yield futures[future], error
