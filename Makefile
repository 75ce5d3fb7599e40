# Everything a newcomer needs: `make demo` and `make test`. Each target builds its
# own virtual environment (.venv) from nothing on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 $(PY) -m pip --quiet
# The browser tests drive Debian's Chromium, never a downloaded one (tests/browser/jupyter.py names this path).
CHROMIUM := /usr/bin/chromium

.PHONY: demo test bench clean

# Without Chromium, `make test` says so at once, before building anything (as .ci/run would install it).
ifneq ($(filter test,$(MAKECMDGOALS)),)
ifeq ($(wildcard $(CHROMIUM)),)
$(error make test needs Chromium for the browser tests, and $(CHROMIUM) is missing: apt-get install chromium (as root; .ci/run does it))
endif
endif

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -e '.[dev]'
	touch $@

demo: $(VENV)/.installed  ## JupyterLab on notebooks/quickstart.ipynb, against the local stand-in server (the real API with ANYFAST_API_KEY)
	@$(PY) -m anyfast_widget.demo

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

test: $(VENV)/.installed node_modules/.package-lock.json  ## every test: frontend unit tests, then Python and browser tests
	npm run --silent build
	npm test --silent
	$(PY) -m pytest -q

bench: $(VENV)/.installed  ## the benchmarks; prints the tables recorded in README.md
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache anyfast-runs node_modules anyfast_widget/static
