# One entry point for people, cron and CI. Every target builds the virtual
# environment from the pinned constraints first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUNS   ?= runs

AGROMAP := $(VENV)/bin/agromap

.PHONY: all venv demo rice disaster airquality bench soak test validate clean

all: test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(AGROMAP) run pipelines/demo.yaml --out $(RUNS)/demo

# Rice: rules + accuracy + district table, then train the classifier and map with it.
rice: $(STAMP)
	$(AGROMAP) run pipelines/rice.yaml --out $(RUNS)/rice
	$(AGROMAP) rice-train pipelines/rice.yaml --area delta_optical \
		--labels sample_data/synthetic_rice_delta/training_labels.geojson \
		--out $(RUNS)/models/rice_rf.skops --block-size 400
	$(AGROMAP) run pipelines/rice_model.yaml --out $(RUNS)/rice_model

# Disaster: flood classes and flooded rice per district, burn severity, burned paddy.
disaster: $(STAMP)
	$(AGROMAP) run pipelines/disaster.yaml --out $(RUNS)/disaster

# Air quality: S5P columns, NO2 per ward, PM2.5 estimate and its CPCB sub-index, burned paddy.
airquality: $(STAMP)
	$(AGROMAP) run pipelines/airquality.yaml --out $(RUNS)/airquality

# Speed and memory ratios measured in one run (sizes: BENCH_SIZE=4096 etc., see bench/README.md).
bench: $(STAMP)
	$(PY) -m bench

# Fault campaign: SIGKILL/SIGTERM at random moments, 20 racing runs, 200 incremental re-runs.
soak: $(STAMP)
	$(PY) -m bench.faults --kills 20 --terms 20 --concurrent 20 --runs 200

validate: $(STAMP)
	$(AGROMAP) validate pipelines/demo.yaml
	$(AGROMAP) validate pipelines/rice.yaml
	$(AGROMAP) validate pipelines/disaster.yaml
	$(AGROMAP) validate pipelines/airquality.yaml

test: $(STAMP)
	$(PY) -m pytest

clean:
	rm -rf $(VENV) $(RUNS) build .pytest_cache .hypothesis bench/cache
