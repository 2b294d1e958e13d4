# CoSwap: `make run` serves the app, `make test` runs the suite. Both set up .venv first.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
GPU ?= 0
STAMP := $(VENV)/.installed-gpu$(GPU)
PYTEST_ARGS ?=

.PHONY: run test venv clean-venv

run: $(STAMP)
	$(PY) app.py

test: $(STAMP)
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pytest $(PYTEST_ARGS)

venv: $(STAMP)

$(STAMP): requirements.txt requirements-gpu.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(PY) -m pip install --quiet -r requirements.txt
	$(PY) pipeline/classic/install_mesh_model.py
ifeq ($(GPU),1)
	$(PY) -m pip uninstall --yes onnxruntime
	$(PY) -m pip install --quiet --no-deps -r requirements-gpu.txt
endif
	rm -f $(VENV)/.installed-gpu*
	touch $@

clean-venv:
	rm -rf $(VENV)
