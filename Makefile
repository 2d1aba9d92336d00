# Entities — the two commands: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
STAMP := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: key run test test-fast bench bench-scale soak fuzz serve-prod install install-test-tools sandbox-env clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

# What serving needs (make run), and the test and benchmark stack on top (make test, make install).
$(RUN_STAMP): requirements.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(RUN_STAMP)

$(STAMP): requirements.txt requirements-dev.txt constraints.txt | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $(RUN_STAMP) $(STAMP)

install: $(STAMP)

## make run: bootstrap (venv, requirements, migrate, first admin) and serve on $(HOST):$(PORT) with daphne.
run: $(RUN_STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py ensure_admin
	@echo "Entities is starting: open http://$(HOST):$(PORT)/ and sign in (credentials above, or in .local/first-run-credentials.txt)."
	DEBUG=$${DEBUG:-1} $(BIN)/daphne -b $(HOST) -p $(PORT) entities_project.asgi:application

## make key NAME=alice: a new API key for that user (created if missing); the key is the last line.
key: $(RUN_STAMP)
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py create_api_key $(or $(NAME),admin)

## The production command: uvicorn (uvloop + httptools), one process per core.
# One worker per core needs REDIS_URL: without it each process has its own in-memory
# channel layer, and a watcher on one worker would not see a run streaming on another.
WORKERS ?= $(if $(REDIS_URL),$(shell nproc),1)

# Production: SECRET_KEY is required and the development key (.local/secret-key) never read.
serve-prod: export ENTITIES_PRODUCTION := 1
serve-prod: $(RUN_STAMP)
	@if [ "$(WORKERS)" -gt 1 ] && [ -z "$(REDIS_URL)" ]; then \
		echo "serve-prod: WORKERS=$(WORKERS) needs REDIS_URL (the processes share runs through Redis); set it or use WORKERS=1" >&2; exit 2; fi
	@[ -n "$(REDIS_URL)" ] || echo "serve-prod: REDIS_URL is not set, so one worker (set REDIS_URL for one per core)"
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/uvicorn entities_project.asgi:application --host $(HOST) --port $(PORT) --workers $(WORKERS) --no-access-log --ws-per-message-deflate false \
		--http entities_project.http_protocol:HeaderTimeoutHttpToolsProtocol

## make test: the same bootstrap, then the whole suite (browser tools installed where possible).
test: $(STAMP) install-test-tools sandbox-env
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

# bubblewrap (code interpreter sandbox) and chromium (browser tests) come from Debian's
# packages; installed when we are root with apt, otherwise the tests that need them say why they skip.
install-test-tools:
	@$(BIN)/python scripts/install_system_tools.py

## make sandbox-env: the code interpreter's packages (numpy, pandas, matplotlib, pillow, openpyxl;
## requirements-sandbox.txt) in a virtualenv on the system Python that the sandbox mounts read-only.
## Without it, sandboxed code has only the standard library. `make run` does not build it (it stays fast).
SANDBOX_VENV := .local/sandbox-venv
SANDBOX_STAMP := $(SANDBOX_VENV)/.installed
SYSTEM_PY := /usr/bin/python3

sandbox-env: $(SANDBOX_STAMP)

$(SANDBOX_STAMP): requirements-sandbox.txt constraints.txt | $(BIN)/python
	rm -rf $(SANDBOX_VENV)
	$(SYSTEM_PY) -m venv --without-pip $(SANDBOX_VENV)
	$(BIN)/pip --python $(SANDBOX_VENV)/bin/python install --quiet --disable-pip-version-check \
		-r requirements-sandbox.txt -c constraints.txt
	# matplotlib's font list, built once here; each sandbox starts with a copy of it.
	MPLCONFIGDIR=$(SANDBOX_VENV)/share/matplotlib $(SANDBOX_VENV)/bin/python -c "import matplotlib.font_manager"
	touch $(SANDBOX_STAMP)

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

bench-scale: $(STAMP)
	$(BIN)/python -m bench --scale $(BENCH_ARGS)

soak: $(STAMP)
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

fuzz: $(STAMP)
	ENTITIES_FUZZ_EXAMPLES=$${ENTITIES_FUZZ_EXAMPLES:-200} $(BIN)/python -m pytest tests/test_fuzz_api.py $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .local/test-db.sqlite3*
