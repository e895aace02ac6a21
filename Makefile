# make demo: train the tutorial's multi-layer perceptron and write its plots and diagrams (symslow demo).
# make test: the test suite, which also builds the docs. Both set up .venv and the Graphviz binaries on a fresh machine.
# make docs: the documentation site, into docs/_build/html (warnings are errors).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
RUNTIME_STAMP := $(VENV)/.installed-runtime
DEMO_OUT ?= demo-output
comma := ,

.PHONY: demo test docs graphviz chromium clean

# symslow and its runtime dependencies: all that make demo needs
$(RUNTIME_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "symslow needs Python 3.10 or newer"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME_STAMP)

# and the test and docs tooling
$(STAMP): $(RUNTIME_STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,docs]'
	touch $(STAMP)

# $(call apt_need,PROGRAM,PACKAGE,HOW): when PROGRAM is missing, install Debian's PACKAGE with apt-get if we run as
# root where apt-get exists; otherwise stop with HOW to install it.
apt_need = command -v $(1) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing $(2) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; \
	  else \
	    echo "$(3)"; \
	    exit 1; \
	  fi; }

# The Graphviz binaries (dot) render the diagrams.
graphviz:
	@$(call apt_need,dot,graphviz,Graphviz (the 'dot' program) is missing. Install it: 'sudo apt-get install graphviz' on Debian/Ubuntu$(comma) 'brew install graphviz' on macOS$(comma) or see https://graphviz.org/download/)

# symslow demo: train the tutorial's MLP; write its plots, graph, gradient graph and every step of backpropagation.
demo: $(RUNTIME_STAMP) graphviz
	MPLBACKEND=Agg $(BIN)/symslow demo --out $(DEMO_OUT)
	@echo "The demo's files are in $(DEMO_OUT)/; open $(DEMO_OUT)/backprop/index.html to step through backpropagation."

# The docs tests screenshot the built site, and the backpropagation page is tested, in headless Chromium;
# without it those tests fail saying how to install it.
chromium:
	@command -v chromium-browser >/dev/null 2>&1 || $(call apt_need,chromium,chromium,Chromium is missing (the docs and backpropagation-page tests run it headless). Install it: 'sudo apt-get install chromium' on Debian$(comma) 'chromium-browser' on Ubuntu.)

# MathJax is served from the site itself (docs/_static/mathjax, downloaded once from the npm registry and checked
# against its published SHA-512), so formulas render without network.
docs: $(STAMP) graphviz
	$(BIN)/python docs/_ext/fetch_mathjax.py
	MPLBACKEND=Agg $(BIN)/sphinx-build -W --keep-going -E -b html -d docs/_build/doctrees docs docs/_build/html

test: $(STAMP) graphviz chromium
	MPLBACKEND=Agg $(BIN)/python -m pytest

# make fuzz: the random-graph checks with many more examples (FUZZ_EXAMPLES of them; make test runs a few).
FUZZ_EXAMPLES ?= 1500
.PHONY: fuzz
fuzz: $(STAMP)
	SYMSLOW_FUZZ=1 SYMSLOW_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_random_graphs.py tests/test_exact_values.py \
	  --hypothesis-show-statistics

# make bench: the benchmark (not part of make test) in its own environment, bench/.venv, with JAX, the CPU builds
# of PyTorch and TensorFlow (its TensorFlow 1 API); every library held to one thread. It writes bench/RESULTS.md.
# bench/distributed.py: the MNIST-sized MLP data-parallel on 1, 2 and 4 simulated CPU devices.
.PHONY: bench
BENCH_VENV := bench/.venv
$(BENCH_VENV)/.installed: bench/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r bench/requirements.txt -e .
	touch $@

bench: $(BENCH_VENV)/.installed
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
	  XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
	  $(BENCH_VENV)/bin/python bench/run.py
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMEXPR_NUM_THREADS=1 \
	  XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
	  $(BENCH_VENV)/bin/python bench/distributed.py

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache docs/_build docs/api/generated docs/auto_examples
