# Everything a newcomer needs: `make demo` and `make test`. Each target builds its
# own virtual environment (.venv) from nothing on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

demo: $(VENV)/.installed  ## JupyterLab on notebooks/quickstart.ipynb, against the local stand-in server (the real API with ANYFAST_API_KEY)
	$(PY) -m anyfast_widget.demo

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
