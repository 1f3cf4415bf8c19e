"""course_lib's fast conv and pool against PyTorch's CPU kernels, forward + backward, float64.

    .venv/bin/python benchmarks/bench_vs_torch.py

Prints a markdown table of medians and the ratio course_lib / torch (below 1: course_lib is
faster). Both libraries run in this one process on 2 threads (threadpoolctl for numpy's
BLAS, torch.set_num_threads for torch), and their runs alternate round by round, so that
drift on a shared machine hits both alike. torch is not a dependency of the course: when it
is missing the script says how to install it and exits 0.

Switching libraries costs the next run: after each call OpenBLAS's idle threads spin
~100 ms by default and torch's OpenMP threads ~10 ms, stealing one of the 2 cores, and the
two libraries' allocations shape one heap. So OpenBLAS threads sleep at once (as in the
Makefile), torch keeps its default wait policy (OMP_WAIT_POLICY=PASSIVE, which the
Makefile exports, makes torch's small convolutions 2-2.5x slower), and each timed run
follows an untimed run of the same job. Pausing instead lets the idle cores sleep, and
waking them then costs the next few BLAS calls (3x on a 3x3 convolution here).
"""
import os

# Both read when the libraries load, so before the imports below.
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "1")
os.environ.pop("OMP_WAIT_POLICY", None)

import time  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from course_lib.layers import (  # noqa: E402
    avg_pool_backward_fast,
    avg_pool_forward_fast,
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
)

try:
    import torch
    import torch.nn.functional as torch_functional
except ImportError:
    torch = None

THREADS = 2
ROUNDS = 30  # each round times each case once per library, each run after an untimed one

POOL_2X2 = {"pool_height": 2, "pool_width": 2, "stride": 2}
# (label, x shape (N, C, H, W), filters shape (F, C, HH, WW), conv_param)
CONVS = [
    ("(a) conv N64 C1 28×28, 16 filters 3×3 s1 p1", (64, 1, 28, 28), (16, 1, 3, 3), {"stride": 1, "pad": 1}),
    ("(b) conv N64 C16 14×14, 32 filters 3×3 s1 p1", (64, 16, 14, 14), (32, 16, 3, 3), {"stride": 1, "pad": 1}),
    ("(c) conv N50 C3 32×32, 32 filters 7×7 s1 p3", (50, 3, 32, 32), (32, 3, 7, 7), {"stride": 1, "pad": 3}),
]
# (label, x shape (N, C, H, W), pool_param, course_lib (forward, backward), torch.nn.functional name)
POOLS = [
    ("(d) max pool 2×2 s2, N64 C32 28×28", (64, 32, 28, 28), POOL_2X2,
     (max_pool_forward_fast, max_pool_backward_fast), "max_pool2d"),
    ("(e) avg pool 2×2 s2, N64 C32 28×28", (64, 32, 28, 28), POOL_2X2,
     (avg_pool_forward_fast, avg_pool_backward_fast), "avg_pool2d"),
]


def conv_jobs(rng, x_shape, w_shape, conv_param):
    """(course_lib job, torch job, check): each job runs forward + backward once; check
    asserts once that both libraries compute the same gradients."""
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    out, _ = conv_forward_fast(x, w, b, conv_param)
    dout = rng.normal(size=out.shape)
    tensors = [torch.from_numpy(a).requires_grad_() for a in (x, w, b)]
    dout_t = torch.from_numpy(dout)

    def ours():
        _, cache = conv_forward_fast(x, w, b, conv_param)
        return conv_backward_fast(dout, cache)

    def theirs():
        out_t = torch_functional.conv2d(*tensors, stride=conv_param["stride"], padding=conv_param["pad"])
        return torch.autograd.grad(out_t, tensors, dout_t)

    return ours, theirs, lambda: _assert_same(ours(), theirs())


def pool_jobs(rng, x_shape, pool_param, ours_pair, torch_name):
    """As conv_jobs, for a pooling layer: ours_pair is course_lib's (forward, backward)."""
    forward, backward = ours_pair
    x = rng.normal(size=x_shape)
    out, _ = forward(x, pool_param)
    dout = rng.normal(size=out.shape)
    x_t, dout_t = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dout)
    torch_pool = getattr(torch_functional, torch_name)
    kernel = (pool_param["pool_height"], pool_param["pool_width"])

    def ours():
        _, cache = forward(x, pool_param)
        return (backward(dout, cache),)

    def theirs():
        out_t = torch_pool(x_t, kernel, stride=pool_param["stride"])
        return torch.autograd.grad(out_t, (x_t,), dout_t)

    return ours, theirs, lambda: _assert_same(ours(), theirs())


def _assert_same(ours, theirs):
    for mine, reference in zip(ours, theirs):
        np.testing.assert_allclose(mine, reference.numpy(), rtol=1e-9, atol=1e-9)


def seconds(job):
    job()  # untimed: absorbs what the other library left behind (see the module docstring)
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def measure(cases):
    """Median seconds of each case's two jobs, over interleaved rounds."""
    for _, _, check in cases.values():
        check()
    times = {label: ([], []) for label in cases}
    for round_ in range(ROUNDS):
        for label, (ours, theirs, _) in cases.items():
            # Alternate who goes first: the first run of a pair can inherit a colder cache.
            order = ((0, ours), (1, theirs)) if round_ % 2 == 0 else ((1, theirs), (0, ours))
            for slot, job in order:
                times[label][slot].append(seconds(job))
    return {label: (float(np.median(a)), float(np.median(b))) for label, (a, b) in times.items()}


def blas_description():
    blas = [f"{i['internal_api']} {i['version']} ({i.get('architecture', '?')} kernels)"
            for i in threadpool_info() if i["user_api"] == "blas"]
    return ", ".join(blas) or "unknown BLAS"


def main():
    if torch is None:
        print("torch is not installed; to compare against it: .venv/bin/pip install torch==2.13.0")
        return
    torch.set_num_threads(THREADS)
    rng = np.random.default_rng(0)
    cases = {label: conv_jobs(rng, *args) for label, *args in CONVS}
    cases |= {label: pool_jobs(rng, *args) for label, *args in POOLS}
    load_before = os.getloadavg()[0]
    with threadpool_limits(limits=THREADS, user_api="blas"):
        median = measure(cases)
    env = {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    print(f"float64, forward + backward, {THREADS} threads each. numpy {np.__version__} with "
          f"{blas_description()}{f', environment {env}' if env else ''}; torch {torch.__version__}.")
    print(f"Medians of {ROUNDS} interleaved runs. Load average (1 min) {load_before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs.\n")
    print("| case | course_lib (ms) | torch (ms) | ratio course_lib / torch |")
    print("|---|---:|---:|---:|")
    for label, (ours, theirs) in median.items():
        print(f"| {label} | {ours * 1e3:.1f} | {theirs * 1e3:.1f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
