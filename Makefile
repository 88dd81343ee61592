# The two commands of the README: `make run` (embedded demo) and `make test`.
# Each sets itself up on a fresh clone: a virtual environment in .venv, the
# project installed into it, the databases migrated.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint migrate worker clean

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput

# Embedded default: SQLite for Django and the event store, a file-system Celery
# broker, a real Celery worker in the background and the web server in front
# (uvicorn on config.asgi: the event streams need ASGI).
run: migrate
	@echo "async-rest on http://127.0.0.1:$(PORT)/async/  (Ctrl-C stops web and worker)"
	@trap 'kill $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(VENV)/bin/celery -A config worker --loglevel=INFO --concurrency=2 & worker=$$!; \
	$(VENV)/bin/uvicorn config.asgi:application --host 127.0.0.1 --port $(PORT)

worker: migrate
	$(VENV)/bin/celery -A config worker --loglevel=INFO

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(VENV)/bin/pytest $(PYTEST_ARGS)

clean:
	rm -rf var
