# One entry point for people, cron and CI. Every target builds the virtual
# environment from the pinned constraints first, so a fresh clone needs nothing else.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
RUNS   ?= runs

AGROMAP := $(VENV)/bin/agromap

.PHONY: all venv demo rice disaster flood-eval airquality bench soak accuracy rice-stress check docs test test-setup test-services validate clean stac-server

all: test

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,check,docs]'
	# Compile the numba kernels (optical rule, SAR rule's series walks, DN conversion) into their disk cache once, so
	# runs, tests and the bench load machine code instead of compiling it (~10 s) in every process.
	$(PY) -c "import agromap.rice.optical_kernel"
	$(PY) -c "import agromap.rice.sar_series_kernel"
	$(PY) -c "from agromap.io import dn_kernel; dn_kernel.load()"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(AGROMAP) run pipelines/demo.yaml --out $(RUNS)/demo

# Rice: rules + accuracy + district table; train a classifier (runs/models, with its cross-validation),
# then map with the pinned sample model (pipelines/rice_model.yaml; skops files differ byte-wise on
# every save, so a model trained here has its own sha256 to pin).
rice: $(STAMP)
	$(AGROMAP) run pipelines/rice.yaml --out $(RUNS)/rice
	$(AGROMAP) rice-train pipelines/rice.yaml --area delta_optical \
		--labels sample_data/synthetic_rice_delta/training_labels.geojson \
		--out $(RUNS)/models/rice_rf.skops --block-size 400
	$(AGROMAP) run pipelines/rice_model.yaml --out $(RUNS)/rice_model

# Disaster: flood classes and flooded rice per district, burn severity, burned paddy.
disaster: $(STAMP)
	$(AGROMAP) run pipelines/disaster.yaml --out $(RUNS)/disaster

# Flood-map accuracy on the hand-labelled Sen1Floods11 chips in sample_data: IoU per chip against
# plain Otsu and fixed VV/VH thresholds, false alarms on the chips without water (docs/flood.md).
flood-eval: $(STAMP)
	$(PY) -m agromap.disaster.evaluate

# Air quality: S5P columns, NO2 per ward, PM2.5 estimate and its CPCB sub-index, burned paddy.
airquality: $(STAMP)
	$(AGROMAP) run pipelines/airquality.yaml --out $(RUNS)/airquality

# Speed and memory ratios measured in one run (sizes: BENCH_SIZE=4096 etc., see bench/README.md).
bench: $(STAMP)
	$(PY) -m bench

# Fault campaign: SIGKILL/SIGTERM at random moments, 20 racing runs, 200 incremental re-runs.
soak: $(STAMP)
	$(PY) -m bench.faults --kills 20 --terms 20 --concurrent 20 --runs 200

# Accuracy of every rice method on the hard synthetic scenes against the one-line baselines, one
# table, JSON in bench/results/ (docs/scenes.md; ACCURACY_SEEDS=0,1,2 for mean and worst seed,
# ACCURACY_SIZE=96, ACCURACY_SCENES=..., ACCURACY_ONLY=..., ACCURACY_S2_DROP=41-139,171-299 for a
# sparser optical series, ACCURACY_CALENDAR_SHIFT=120 for crops 120 days later in the series,
# ACCURACY_SERIES_DAYS=300 (or START-END, e.g. 60-360) for only the first 10 months of both sensors' dates,
# ACCURACY_SAR_PARAMS="vh_min_db=-19,rise_db=4.5" / ACCURACY_OPTICAL_PARAMS=... to try a rule's thresholds).
accuracy: $(STAMP)
	$(PY) -m agromap.scenes.evaluate

# The label-free rice rules against the one-line baselines with one knob of the point tables varied
# at a time (dates, gaps, haze, shadow, seasons, calendar, canopy, confounders; ENL, track offsets,
# pass loss, fallow level), and the supervised ceiling of the flagged settings: docs/rice_stress.md.
# STRESS_ARGS="--sensor optical --seeds 0,1,2", "--ceiling none" (faster), "--ceiling all --raw",
# "--sensor sar --sar-param rise_db=4.5" (a rule parameter changed for the whole sweep; --optical-param too).
rice-stress: $(STAMP)
	$(PY) -m bench.rice_stress $(STRESS_ARGS)

validate: $(STAMP)
	$(AGROMAP) validate pipelines/demo.yaml
	$(AGROMAP) validate pipelines/rice.yaml
	$(AGROMAP) validate pipelines/disaster.yaml
	$(AGROMAP) validate pipelines/airquality.yaml

# The suite, with everything it needs: the Python environment, the STAC API server's environment,
# and the Debian packages for the browser and server tests (installed when running as root). The tests
# run in one process per core (pytest-xdist); every test is independent of the others. Each process
# takes one contiguous half of the tests and, once done, half of what the other has left
# (worksteal): a module's shared fixtures (a pipeline run, a cluster) are built in one process,
# where `--dist load` hands out ~50 ever smaller slices and built some in both.
test: test-setup
	$(MAKE) --no-print-directory check
	$(PY) -m pytest -n auto --dist worksteal

# The three set-ups are independent (two pip installs and apt-get), so they run side by side.
test-setup:
	$(MAKE) --no-print-directory -j3 --output-sync=target $(STAMP) stac-server test-services

test-services:
	bash tools/test-services.sh

# Lint (ruff: pyflakes, import order, numpy docstrings, complexity) and types (mypy on src/ and bench/);
# the settings are in pyproject.toml. `make test` runs it first.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The documentation site (mkdocs.yml, docs/) into build/site; --strict fails on a broken link.
docs: $(STAMP)
	$(PY) tools/docs_pages.py --check
	$(VENV)/bin/mkdocs build --strict --site-dir build/site

# The STAC API server the remote-input tests query (stac-fastapi-pgstac), in its own environment:
# a separate deployment with its own pins. PostgreSQL/PostGIS and nginx come from Debian
# (tools/test-services.sh).
STAC_VENV := .venv-stac
$(STAC_VENV)/.installed: tests/stac_server/requirements.txt
	$(PYTHON) -m venv $(STAC_VENV)
	$(STAC_VENV)/bin/python -m pip install --quiet -r tests/stac_server/requirements.txt
	touch $@

stac-server: $(STAC_VENV)/.installed

# The web map's browser code (Leaflet) ships in the package; this refreshes it from the npm registry.
LEAFLET ?= 1.9.4
WEBVENDOR := src/agromap/serve/static/vendor/leaflet
webmap-vendor:
	rm -rf build/npm && mkdir -p build/npm
	cd build/npm && npm pack leaflet@$(LEAFLET) && tar xzf leaflet-$(LEAFLET).tgz
	mkdir -p $(WEBVENDOR)/images
	cp build/npm/package/dist/leaflet.js build/npm/package/dist/leaflet.css build/npm/package/LICENSE $(WEBVENDOR)/
	cp build/npm/package/dist/images/*.png $(WEBVENDOR)/images/

clean:
	rm -rf $(VENV) $(STAC_VENV) $(RUNS) build .pytest_cache .hypothesis bench/cache .mypy_cache .ruff_cache
