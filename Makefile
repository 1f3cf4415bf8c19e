# Every target installs what it needs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# BLAS threads spinning between calls slow small numpy workloads on 2 cores.
export OMP_WAIT_POLICY ?= PASSIVE
export OPENBLAS_THREAD_TIMEOUT ?= 1
export MPLBACKEND ?= Agg

.PHONY: demo test lab validate release grade export data pretrain bench clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m course_lib.demo
	$(PY) -m autograder demo

test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadgroup

lab: $(STAMP)
	$(PY) -m autograder release
	$(VENV)/bin/jupyter lab release/

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

bench: $(STAMP)
	$(PY) benchmarks/bench_layers.py
	$(PY) benchmarks/bench_grading.py
	$(PY) benchmarks/bench_notebooks.py

clean:
	rm -rf release submitted autograded feedback gradebook.db grades*.csv grades_*.png outputs .autograder
