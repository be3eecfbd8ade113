# deflect — the two set-up commands are `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
PORT   ?= 8000
HOST   ?= 127.0.0.1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_VERBOSITY := error

.PHONY: install demo demo-data demo-tenants test test-quick lint bench bench-quality bench-speed bench-http bench-gaps bench-faults clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0   # the CPU build; unpinned, pip fetches a multi-GB CUDA build
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

## Build the demo help center (ingest, index, calibrate) and serve it with the widget on localhost.
demo: demo-data
	@echo "Demo help page: http://$(HOST):$(PORT)/   agent console: /agent   content-team report: /report"
	$(BIN)/deflect serve --host $(HOST) --port $(PORT)

# the demo newspaper's customer numbers ("4711-8136") are redacted wherever they stand
demo demo-data: export DEFLECT_PRIVACY_PATTERNS := 4711-\d{4}
demo-data: install
	$(BIN)/deflect ingest faq_articles/ --dates-to-now
	$(BIN)/deflect index
	$(BIN)/deflect calibrate
	$(BIN)/deflect suggest "Meine Zeitung ist heute nicht gekommen" --no-log
	$(BIN)/deflect suggest "How do I cancel my subscription?" --no-log
	$(BIN)/deflect suggest "Wo finde ich die Lösung vom Kreuzworträtsel im E-Paper?" --no-log

## Two help centers on one instance (faq_articles/ and faq_leserreisen/ under /t/<name>/), one model for both.
demo-tenants: install
	$(PY) -m scripts.demo_tenants --host $(HOST) --port $(PORT)

test: install lint
	$(BIN)/pytest -q

## The tests that need neither the real model nor a browser (seconds, not minutes).
test-quick: install
	$(BIN)/pytest -q -m "not slow and not browser"

lint: install
	$(BIN)/ruff check deflect web scripts tests
	$(PY) -m deflect.devtools.layers

bench: bench-quality bench-speed bench-http bench-gaps bench-faults

bench-quality: install
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	$(PY) -m scripts.bench_quality

bench-speed: install
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	$(PY) -m scripts.bench_speed

bench-http: install
	$(PY) -m scripts.bench_http

bench-gaps: install
	$(PY) -m scripts.bench_gaps

## The fault drill: suggest under load while the database and the index are broken on purpose (~5 min).
bench-faults: install
	$(PY) -m scripts.faults

clean:
	rm -rf index/*.faiss index/*.npz index/*.npy index/manifest.json deflect.db deflect.db-* index.lock spool/ demo-tenants/
