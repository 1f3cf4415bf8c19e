"""Naive vs fast convolution and max pooling, and the fast conv's GFLOP/s next to numpy's GEMM.

Run with `make bench`. Prints a markdown table. Implementations are interleaved round by
round and medians reported, because the machine is shared and timings drift.

The measurement runs twice, in child processes: with OpenBLAS on one thread and on every
CPU. On an oversubscribed machine a multithreaded GEMM waits for its slowest thread and can
be tens of times slower, so the two rows show how much of a result is the machine's load.
"""
import json
import os

# Set before numpy loads OpenBLAS: idle BLAS threads must sleep, not spin, between calls.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "1")

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from course_lib.layers import (  # noqa: E402
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)

ROUNDS = 5          # naive runs once per round
FAST_PER_ROUND = 5  # fast runs this many times per round
NAIVE_BATCH = 2     # naive is timed on this many samples and scaled linearly to the full batch

N, C, H, W, F, HH, WW = 64, 16, 14, 14, 32, 3, 3
CONV_PARAM = {"stride": 1, "pad": 1}
FLOPS_PER_PASS = 2 * N * F * C * HH * WW * H * W  # stride 1, pad 1: H_out = H, W_out = W
POOL_N, POOL_C, POOL_H, POOL_W = 64, 32, 28, 28
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}


def seconds(job):
    start = time.perf_counter()
    job()
    return time.perf_counter() - start


def forward_backward(forward, backward, arrays, param, dout):
    def run():
        _, cache = forward(*arrays, param)
        backward(dout, cache)
    return run


def measure():
    """Median seconds of each job, for the full batch (naive scaled up from NAIVE_BATCH)."""
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(N, C, H, W)), rng.normal(size=(F, C, HH, WW)), rng.normal(size=F)
    dout = rng.normal(size=(N, F, H, W))
    pool_x = rng.normal(size=(POOL_N, POOL_C, POOL_H, POOL_W))
    pool_dout = rng.normal(size=(POOL_N, POOL_C, POOL_H // 2, POOL_W // 2))

    # The three products of a conv forward+backward, on their own: the GEMM ceiling.
    K, M = C * HH * WW, N * H * W
    w_rows, cols, dout_rows = rng.normal(size=(F, K)), rng.normal(size=(K, M)), rng.normal(size=(F, M))

    def gemms():
        w_rows @ cols          # forward
        dout_rows @ cols.T     # dw
        w_rows.T @ dout_rows   # columns of dx

    fast_jobs = {
        "conv fast": forward_backward(conv_forward_fast, conv_backward_fast, (x, w, b), CONV_PARAM, dout),
        "gemm": gemms,
        "pool fast": forward_backward(max_pool_forward_fast, max_pool_backward_fast, (pool_x,), POOL_PARAM, pool_dout),
    }
    naive_jobs = {
        "conv naive": forward_backward(conv_forward_naive, conv_backward_naive,
                                       (x[:NAIVE_BATCH], w, b), CONV_PARAM, dout[:NAIVE_BATCH]),
        "pool naive": forward_backward(max_pool_forward_naive, max_pool_backward_naive,
                                       (pool_x[:NAIVE_BATCH],), POOL_PARAM, pool_dout[:NAIVE_BATCH]),
    }
    for job in (*fast_jobs.values(), *naive_jobs.values()):
        job()  # warm-up: first-touch allocations, BLAS threads
    times = {name: [] for name in (*fast_jobs, *naive_jobs)}
    for _ in range(ROUNDS):
        for name, job in naive_jobs.items():
            times[name].append(seconds(job) * N / NAIVE_BATCH)
        for _ in range(FAST_PER_ROUND):
            for name, job in fast_jobs.items():
                times[name].append(seconds(job))
    return {name: float(np.median(t)) for name, t in times.items()}


def verdict(ok):
    return "met" if ok else "MISSED"


def report_rows(threads, median):
    conv_gflops = 3 * FLOPS_PER_PASS / median["conv fast"] / 1e9  # forward + 2 backward passes
    gemm_gflops = 3 * FLOPS_PER_PASS / median["gemm"] / 1e9
    conv_speedup = median["conv naive"] / median["conv fast"]
    pool_speedup = median["pool naive"] / median["pool fast"]
    return [
        f"| {threads} | conv forward+backward | {median['conv naive'] * 1e3:.0f} | {median['conv fast'] * 1e3:.1f} "
        f"| {conv_speedup:.0f}x | {conv_gflops:.1f} | >= 100x: {verdict(conv_speedup >= 100)} |",
        f"| {threads} | numpy GEMM, the conv's 3 products | | {median['gemm'] * 1e3:.1f} | | {gemm_gflops:.1f} "
        f"| conv >= 25% of GEMM: {conv_gflops / gemm_gflops:.0%}, {verdict(conv_gflops >= 0.25 * gemm_gflops)} |",
        f"| {threads} | max pool forward+backward | {median['pool naive'] * 1e3:.0f} | {median['pool fast'] * 1e3:.1f} "
        f"| {pool_speedup:.0f}x | | >= 50x: {verdict(pool_speedup >= 50)} |",
    ]


def load_average():
    return ", ".join(f"{value:.1f}" for value in os.getloadavg())


def main():
    if sys.argv[1:] == ["--child"]:
        print(json.dumps(measure()))
        return
    load_before = load_average()
    rows = []
    for threads in ("1", str(os.cpu_count())):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=threads)
        child = subprocess.run([sys.executable, __file__, "--child"], env=env, check=True,
                               capture_output=True, text=True)
        rows += report_rows(threads, json.loads(child.stdout))
    print(f"Conv: N={N}, C={C}, {H}x{W}, F={F} filters {HH}x{WW}, stride 1, pad 1. "
          f"Max pool: N={POOL_N}, C={POOL_C}, {POOL_H}x{POOL_W}, 2x2 stride 2. float64, forward+backward.")
    print(f"Medians over {ROUNDS * FAST_PER_ROUND} fast and {ROUNDS} naive runs, interleaved. "
          f"Naive timed on {NAIVE_BATCH} of the {N} samples and scaled linearly (x{N // NAIVE_BATCH}). "
          f"GFLOP/s count 2*N*F*C*HH*WW*H_out*W_out per pass, 3 passes (forward, dx, dw).")
    print(f"Load average (1, 5, 15 min) on {os.cpu_count()} CPUs: {load_before} before, {load_average()} after.\n")
    print("| BLAS threads | measurement | naive (ms) | fast (ms) | speed-up | GFLOP/s | target |")
    print("|---:|---|---:|---:|---:|---:|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
