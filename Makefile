# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# BLAS threads spinning between calls slow small numpy workloads on 2 cores.
export OMP_WAIT_POLICY ?= PASSIVE
export OPENBLAS_THREAD_TIMEOUT ?= 1
export MPLBACKEND ?= Agg

.PHONY: demo test lab validate release grade export data pretrain bench clean browser-deps screenshots

$(STAMP): requirements.txt requirements-student.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m course_lib.demo
	$(PY) -m autograder demo

test: $(STAMP) browser-deps
	$(PY) -m pytest -n 2 --dist loadgroup

# The browser tests (tests/browser) drive Debian's Chromium: Playwright cannot download its own
# browser here. As root it is installed when missing; otherwise those tests fail saying so.
# Debian's dataset-fashion-mnist (the original IDX files) lets the test that rebuilds the shipped
# subset from them run (tests/course_lib/test_datasets.py); as root it is installed too.
CHROMIUM := /usr/bin/chromium
FASHION_MNIST := /usr/share/datasets/fashion-mnist
browser-deps:
	@if [ "$$(id -u)" = 0 ] && { [ ! -x $(CHROMIUM) ] || [ ! -d $(FASHION_MNIST) ]; }; then \
		apt-get update && apt-get install -y chromium dataset-fashion-mnist; fi
	@if [ ! -x $(CHROMIUM) ]; then echo "note: $(CHROMIUM) is missing, the browser tests will fail: install the chromium package (apt-get install chromium)"; fi
	@if [ ! -d $(FASHION_MNIST) ]; then echo "note: $(FASHION_MNIST) is missing, one dataset test is skipped: apt-get install dataset-fashion-mnist"; fi

# The README's pictures (a failed and a passed check in JupyterLab, the formgrader's gradebook),
# taken by the browser tests into docs/screenshots/.
screenshots: $(STAMP) browser-deps
	README_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -p no:cacheprovider tests/browser

# MPLBACKEND emptied: ipykernel picks its inline backend only when the variable is unset or
# empty, and the Agg exported above (for scripts and tests) would hide every figure.
lab: $(STAMP)
	$(PY) -m autograder release
	MPLBACKEND= $(VENV)/bin/jupyter lab release/

release: $(STAMP)
	$(PY) -m autograder release

validate: $(STAMP)
	$(PY) -m autograder validate

grade: $(STAMP)
	$(PY) -m autograder grade

export: $(STAMP)
	$(PY) -m autograder export

data: $(STAMP)
	$(PY) data/build_data.py $(if $(FASHION_MNIST_DIR),--fashion-mnist-dir $(FASHION_MNIST_DIR))

pretrain: $(STAMP)
	$(PY) data/pretrain.py

# bench_vs_torch: some machines pin old OpenBLAS kernels (OPENBLAS_CORETYPE) for old OpenBLAS
# builds; not needed by this numpy, so unset for that script alone (it prints the kernels it runs).
bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(PY) benchmarks/bench_vs_torch.py
	$(PY) benchmarks/bench_grading.py
	$(PY) benchmarks/bench_notebooks.py

clean:
	rm -rf release submitted autograded feedback gradebook.db grades*.csv grades_*.png outputs .autograder
