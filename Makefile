# The tutorial in two commands: `make lab` and `make test`.
# Every target creates .venv on its own when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
JUPYTER_PORT ?= 8888
# Test processes for `make test`: the suite mostly waits (timeouts, workers starting, a slow model
# double's tokens), so more processes than cores still pays: on 2 cores 6 took 10:38 where 5 took
# 11:13. TEST_WORKERS=0 runs it in this one process. Work stealing: a process that runs out of
# tests takes some from a busy one's queue.
TEST_WORKERS ?= 6
# JupyterLab's login token: yours if JUPYTER_TOKEN is set, else a fresh one per `make lab`
# (made only for `make lab`, so a PYTHON that does not run is reported once, by `make install`).
ifndef JUPYTER_TOKEN
ifneq ($(filter lab,$(MAKECMDGOALS)),)
JUPYTER_TOKEN := $(shell $(PYTHON) -c 'import secrets; print(secrets.token_hex(16))')
endif
endif

.PHONY: install browser lab lab-check server web test soak unit notebooks site bench bench-quick clear-outputs stop status clean distclean

# With PYTHON=... on the command line, a .venv made by another Python is rebuilt
# (say so, rather than silently keep the old one); a PYTHON that does not run leaves .venv alone.
install:
ifeq ($(origin PYTHON),command line)
	@want=$$($(PYTHON) -c 'import sys; print(sys.version_info[:2])') || { \
		echo "make install: PYTHON=$(PYTHON) does not run. Name a Python 3.10+, e.g. make install PYTHON=python3.11" >&2; exit 1; }; \
	if [ -x $(PY) ] && [ "$$($(PY) -c 'import sys; print(sys.version_info[:2])')" != "$$want" ]; then \
		echo "$(VENV) was made with $$($(PY) --version); rebuilding it with $$($(PYTHON) --version)."; \
		rm -rf $(VENV); \
	fi
endif
	@$(MAKE) --no-print-directory $(INSTALLED)

# One shell (POSIX sh) for the whole install, so it can time itself and name the step that failed;
# pip stays --quiet: its own error, if any, comes just before the step's (the project's own step is
# quieter still: pip would show setuptools' warning about editable installs, meant for package authors).
$(INSTALLED): requirements.txt pyproject.toml
	@start=$$(date +%s); \
	failed() { echo "make install: $$1 failed. $$2" >&2; exit 1; }; \
	network="Check your network or proxy (pip reads HTTPS_PROXY and PIP_INDEX_URL), then re-run make install."; \
	echo "Installing the tutorial into $(VENV):"; \
	if [ -x $(PY) ]; then \
		echo "  1/4 reusing the virtual environment $(VENV) ($$($(PY) --version 2>&1))"; \
	else \
		echo "  1/4 creating the virtual environment $(VENV) with $(PYTHON) ..."; \
		$(PYTHON) -m venv $(VENV) || failed "creating $(VENV) with $(PYTHON)" \
			"It needs Python 3.10+ with venv (Debian/Ubuntu: apt-get install python3-venv), or: make install PYTHON=python3.11"; \
	fi; \
	echo "  2/4 upgrading pip ..."; \
	$(PY) -m pip install --quiet --upgrade pip || failed "upgrading pip" "$$network"; \
	echo "  3/4 installing the packages in requirements.txt (about 100 s the first time, a few seconds after) ..."; \
	$(PY) -m pip install --quiet -r requirements.txt || failed "installing requirements.txt" "$$network"; \
	echo "  4/4 installing the project itself (recipes/ and tutorial/, editable) ..."; \
	$(PY) -m pip install --quiet --quiet --no-deps -e . || failed "installing the project (pip install -e .)" \
		"Run it from the repository's top folder; make distclean, then make install, starts over."; \
	touch $@ || failed "marking the install done ($@)" "Is the folder writable?"; \
	echo "Installed in $$(( $$(date +%s) - start )) s: $$($(PY) --version), packages from requirements.txt."

# Start (or reuse) the local Temporal dev server: gRPC on TEMPORAL_ADDRESS
# (default localhost:7233), Web UI on http://localhost:8233, history in .temporal/.
server: install
	$(PY) -m tutorial.temporal_server start

status: install
	$(PY) -m tutorial.temporal_server status

# JupyterLab on notebooks/ (Ctrl-C stops it); the server keeps running until `make stop`.
# `server` has printed the Web UI's URL; the JupyterLab URL, with its token, follows.
# Jupyter refuses to run as root (containers, CI) unless told it is on purpose.
lab: server
	@echo "JupyterLab: http://localhost:$(JUPYTER_PORT)/lab?token=$(JUPYTER_TOKEN)"
	JUPYTER_TOKEN=$(JUPYTER_TOKEN) $(VENV)/bin/jupyter lab --notebook-dir=notebooks \
		--port=$(JUPYTER_PORT) --ServerApp.port_retries=0 $(if $(filter 0,$(shell id -u)),--allow-root)

# The streaming recipe's web page on http://127.0.0.1:8000/ (STREAMING_WEB_PORT to move it;
# Ctrl-C stops it). Runs need a worker: `.venv/bin/python -m recipes.streaming.worker` beside it.
web: server
	$(PY) -m recipes.streaming.web

# Unit and integration tests plus every notebook executed by papermill -- with the
# offline model and against the model wire-format double on one real-model path. The
# test session starts a dev server if none answers and stops the one it started.
# Bytecode may be written (a shell with PYTHONDONTWRITEBYTECODE set would make every test process
# rewrite the test modules' asserts and compile recipes/ and tutorial/ again).
SUITE_PY := env -u PYTHONDONTWRITEBYTECODE $(PY)

# pytest's last lines say how long it took. Then the site from the notebooks it executed (every one must
# have passed), and one more short pytest run reading that site in Chromium (tests/test_site.py, `-m site`).
test: install browser
	$(SUITE_PY) -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=15
	$(PY) ci/site.py --require-all
	$(SUITE_PY) -m pytest --noconftest -m site tests/test_site.py

# The Chromium the browser tests drive: CHROMIUM_PATH, one on the PATH or Playwright's, else installed
# (Debian's package as root, else Playwright's download); one line, timed, or one line saying what to do.
browser: install
	@$(PY) ci/browser.py

# Flakes before users find them: the suite SOAK_RUNS times beside a busy loop per core, then every test
# that failed at least once (reports in build/soak/).
SOAK_RUNS ?= 2
soak: install browser
	$(SUITE_PY) ci/soak.py --runs $(SOAK_RUNS) --workers $(TEST_WORKERS)

# The notebooks with buttons as a person runs them: JupyterLab in Chromium, Run All Cells from the menu,
# buttons pressed at random moments; names every cell that failed and any process left running.
# LAB_CHECK_NOTEBOOKS to choose others (paths), e.g. notebooks/*.ipynb.
lab-check: install browser
	$(PY) ci/lab_check.py $(LAB_CHECK_NOTEBOOKS)

# The fast loop while you work: no notebooks, no chaos, no worker subprocesses.
unit: install
	$(PY) -m pytest -m "not notebook and not integration" --durations=5

# Only the notebooks, executed copies in build/notebooks/.
notebooks: server
	$(PY) ci/run_notebooks.py

# What durability costs, side by side (table, build/bench/durability.json and .png; about 5
# minutes), then one offline model call (target: well under 5 ms), then streaming: time to first
# token and the gap between updates, durable (100 ms and 20 ms batches) against plain, then what
# the payload codec and offloading add per model step at 10 KB, 300 KB and 3 MB (under a minute).
bench: install
	$(PY) ci/bench_durability.py
	$(PY) ci/bench_offline_model.py
	$(PY) ci/bench_streaming.py
	$(PY) ci/bench_payloads.py

# The durability benchmark with fewer runs and configurations: under a minute.
bench-quick: install
	$(PY) ci/bench_durability.py --quick

# The notebooks `make test` executed (build/notebooks/, its offline run) as a static site in build/site/:
# the README's learning path as its index, each page saying which model ran it and whether it passed.
# Sphinx with myst-nb (site/conf.py) renders what is there, without the network; missing runs are named.
site: install
	$(PY) ci/site.py

# Notebooks are stored without outputs; run this after working in JupyterLab, before committing.
clear-outputs: install
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/*.ipynb

# Stop the dev server that `make server` / `make lab` started.
stop:
	test ! -x $(PY) || $(PY) -m tutorial.temporal_server stop

clean: stop
	rm -rf build .pytest_cache

# Everything `make` made, the virtual environment included (the server's history in .temporal/ stays).
distclean: clean
	rm -rf $(VENV)
