"""One BLAS thread per process: the course's single setting for numpy's thread pools.

The course's matrices are small. On a 2-core machine several OpenBLAS threads competing
with each other (and with parallel graders or test workers) make small products many times
slower, and one thread also gives the same sums on every run. Every place that starts
numpy work (notebooks, check judges and runners, grading kernels, scripts, the test suite) uses this
module, so the choice is made here once.
"""
import os

# For a process about to start: must be in its environment before it imports numpy.
SINGLE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def single_thread_environment(env=None):
    """A copy of `env` (default: os.environ) that starts child processes with one BLAS thread."""
    return {**(os.environ if env is None else env), **SINGLE_THREAD_ENV}


def use_one_blas_thread():
    """Limit this running process's BLAS pools to one thread (works after numpy is imported)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
