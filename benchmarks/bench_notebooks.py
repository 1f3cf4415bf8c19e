"""Wall time of each source notebook run top to bottom with its solutions, as a student runs it.

    python benchmarks/bench_notebooks.py [NOTEBOOK ...]

Runs every notebook under notebooks/ (or the ones given) with nbclient in a fresh kernel,
in its own folder, not in grading mode, so the training cells take their full length.
"""
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent


def run_seconds(path):
    nb = nbformat.read(str(path), as_version=4)
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            extra_arguments=["--IPKernelApp.log_level=ERROR"],
                            resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    return time.perf_counter() - start


def main():
    paths = [Path(p).resolve() for p in sys.argv[1:]] or sorted((REPO / "notebooks").glob("*/*.ipynb"))
    print(f"Load average before: {', '.join(f'{v:.1f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs")
    print("| notebook | seconds, top to bottom with solutions |\n|---|---:|")
    for path in paths:
        print(f"| {path.stem} | {run_seconds(path):.1f} |", flush=True)


if __name__ == "__main__":
    main()
