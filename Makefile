# Batch Studio: `make run` starts everything; `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: run test lint lock install install-test bench bench-peers bench-smoke screenshots clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# Ranges in requirements*.txt, the exact versions tested in constraints.txt (`make lock` writes it anew).
$(VENV)/.installed: requirements.txt constraints.txt | $(VENV)/bin/activate
	$(PY) -m pip install -q -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.installed-test: requirements-test.txt constraints.txt $(VENV)/.installed
	$(PY) -m pip install -q -r requirements-test.txt -c constraints.txt
	touch $@

lock: $(VENV)/.installed-test
	$(PY) -m pip install -q --upgrade -r requirements-test.txt
	(echo "# Exact versions make run and make test install (make lock writes this file)."; \
	  $(PY) -m pip freeze --exclude-editable) > constraints.txt

# Style (ruff), the layers (import-linter contracts in pyproject.toml) and no import circle at all.
lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m tools.import_cycles

install: $(VENV)/.installed
	@tools/bin/install-az $(VENV) $(AZ)

install-test: $(VENV)/.installed-test node_modules/.bin/azurite-blob
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi; fi

node_modules/.bin/azurite-blob: package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $@

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py ensure_admin
	$(PY) manage.py seed_demo
	PORT=$(PORT) $(PY) manage.py run_studio

# Distributed mode first (PostgreSQL + Redis + two qcluster processes), when both answer: tests/distributed/ and
# the integration tests of the files marked `distributed` (the queue, the faults, the pool's healing, the basic
# flows: what the broker and the database change); then every test, embedded: what needs no process of its own,
# then the real-process and browser tests. Each phase runs on two pytest-xdist
# workers: the real-process tests mostly wait (on a qcluster, a model load, a browser), so two at once nearly halve
# the time on two cores. Q_PREFIX gives this run its own Redis keys (and each xdist worker its own, settings.py);
# the test database name carries the pid. --dist loadfile keeps a file's tests (and module fixtures) on one worker.
DIST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/studio
DIST_REDIS_URL ?= redis://127.0.0.1:6379/1
TEST_WORKERS ?= 2
# Each phase lists its slowest tests (where the time goes) above pytest's closing line.
PYTEST_ARGS ?= --durations=12
test: install-test
	@if $(PY) -m tests.fixtures.distributed "$(DIST_DATABASE_URL)" "$(DIST_REDIS_URL)"; then \
	  DATABASE_URL="$(DIST_DATABASE_URL)" REDIS_URL="$(DIST_REDIS_URL)" Q_PREFIX="test-$$$$" \
	    $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "distributed and integration and not browser and not bench" $(PYTEST_ARGS); \
	  rc=$$?; if [ $$rc -ne 0 ] && [ $$rc -ne 5 ]; then exit $$rc; fi; \
	fi
	$(PY) -m pytest -n $(TEST_WORKERS) -m "not integration and not browser and not bench" $(PYTEST_ARGS)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "(integration or browser) and not bench" $(PYTEST_ARGS)

# docs/screenshots/*.png anew (docs/SCREENSHOTS.md): only this target writes them, not `make test`.
SCREENSHOT_TESTS = $(shell grep -rl --include="test_*.py" "screenshot.page, " tests)
screenshots: install-test
	STUDIO_SCREENSHOTS=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "" $(SCREENSHOT_TESTS) $(PYTEST_ARGS)

# The benchmark at its smallest scale, as a test (make bench runs it at full scale).
bench-smoke: install-test
	$(PY) -m pytest -m bench $(PYTEST_ARGS)

bench: install
	$(PY) -m bench
	$(PY) -m tests.load.bench_pages

# Opt-in, in neither `make test` nor `make bench`: the bench's RandomForest and LogisticRegression work through Ray Data
# and Spark too, side by side with the job (docs/PERFORMANCE.md, "Peers"). Ray and PySpark live only in their own venv
# (PEERS_VENV, ignored by git); the product's venv never imports them: bench/peers/*_run.py run in that venv's python.
PEERS_VENV ?= var/bench-peers-venv
$(PEERS_VENV)/.installed: bench/peers/requirements.txt constraints.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install -q --upgrade pip
	$(PEERS_VENV)/bin/python -m pip install -q -r bench/peers/requirements.txt -c constraints.txt
	touch $@

bench-peers: install $(PEERS_VENV)/.installed
	$(PY) -m bench.peers --peers-python $(PEERS_VENV)/bin/python $(BENCH_ARGS)

clean:
	rm -rf $(VENV) node_modules
