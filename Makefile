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

demo: $(VENV)/.installed  ## generate and edit on the local stand-in server (or the real API with ANYFAST_API_KEY)
	$(PY) -m anyfast_widget.demo

test: $(VENV)/.installed  ## every test, against the local stand-in server
	$(PY) -m pytest -q

bench: $(VENV)/.installed  ## the benchmarks; prints the tables recorded in README.md
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache anyfast-runs
