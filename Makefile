# Two entry points for a fresh machine: `make run` and `make test`.
# Both create .venv when it is missing and install the pinned stack first.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.thioglass-installed
OUT    ?= runs/default
COMPOSITION ?= 75Li2S-25P2S5
PRESET ?= quick
# Small cells run fastest on one thread each, one MD run per core (bench md at 304 atoms: 33-44 katom-step/s in all against 21 for one 2-thread run).
WORKERS ?= 2
THREADS ?= 1

.PHONY: run test install bench browser gpaw clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e ".[test,bench]"
	@touch $(STAMP)

# The main job on the bundled default glass and model; rerunning resumes a killed run.
run: $(STAMP)
	$(VENV)/bin/thioglass run $(COMPOSITION) --preset $(PRESET) --out $(OUT) --workers $(WORKERS) --threads $(THREADS)

test: $(STAMP) browser gpaw
	$(VENV)/bin/ruff check src tests
	$(PY) -m pytest -q

# Debian's Chromium renders report.html in the report test; without root or network the test skips.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  echo "chromium not installed: the browser test of the report will be skipped"; }

# Debian's GPAW (22.8, system python3) for the gpaw-pbesol reference; without root the GPAW tests skip.
gpaw:
	@/usr/bin/python3 -c "import gpaw" >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gpaw gpaw-data >/dev/null) || \
	  echo "gpaw not installed (needs root: apt-get install gpaw gpaw-data): the gpaw-pbesol tests will be skipped"; }

bench: $(STAMP)
	$(VENV)/bin/thioglass bench --out bench-results/bench.json --workers $(WORKERS) --threads $(THREADS)

clean:
	rm -rf $(VENV) runs bench-results
