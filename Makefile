# One entry point for people, cron and CI. Every target builds the virtual
# environment from the pinned constraints first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUNS   ?= runs

.PHONY: all venv demo test validate clean

all: test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/agromap run pipelines/demo.yaml --out $(RUNS)/demo

validate: $(STAMP)
	$(VENV)/bin/agromap validate pipelines/demo.yaml

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) $(RUNS) build .pytest_cache .hypothesis
