# The tutorial in two commands: `make lab` and `make test`.
# Every target creates .venv on its own when it is missing.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: install lab server test notebooks bench clear-outputs stop status clean

install: $(INSTALLED)

$(INSTALLED): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Start (or reuse) the local Temporal dev server: gRPC on TEMPORAL_ADDRESS
# (default localhost:7233), Web UI on http://localhost:8233, history in .temporal/.
server: install
	$(PY) -m recipes.tutorial.temporal_server start

status: install
	$(PY) -m recipes.tutorial.temporal_server status

# JupyterLab on notebooks/ (Ctrl-C stops it); the server keeps running until `make stop`.
# Jupyter refuses to run as root (containers, CI) unless told it is on purpose.
lab: server
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# Unit tests plus every notebook executed by papermill. The test session starts
# a dev server if none answers and stops the one it started.
test: install
	$(PY) -m pytest --durations=12

# Only the notebooks, executed copies in build/notebooks/.
notebooks: server
	$(PY) ci/run_notebooks.py

# Timing of one offline model call (target: well under 5 ms).
bench: install
	$(PY) ci/bench_offline_model.py

# Notebooks are stored without outputs; run this after working in JupyterLab, before committing.
clear-outputs: install
	$(VENV)/bin/jupyter nbconvert --clear-output --inplace --log-level=WARN notebooks/*.ipynb

# Stop the dev server that `make server` / `make lab` started.
stop:
	test ! -x $(PY) || $(PY) -m recipes.tutorial.temporal_server stop

clean: stop
	rm -rf build .pytest_cache
