"""Settings for the embedded default; every choice can be overridden by the environment.

Without any variable set: SQLite for Django and for the event store (files in ``var/``),
a file-system Celery broker (no server), anonymous demo orders allowed. Production
(``config.production``) requires PostgreSQL and Redis and refuses anonymous use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "y", "yes", "true", "on"}


VAR_DIR = Path(os.environ.get("ASYNC_REST_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "embedded-demo-key-not-for-production")
DEBUG = env_bool("DJANGO_DEBUG", True)
ALLOWED_HOSTS = [h for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks",
    "orders",
    "projections",
    "api",
    # The composition root (config/bootstrap.py), run by this app's ready().
    "config.apps.AsyncRestConfig",
    "examples.pizzeria",
]

MIDDLEWARE = [
    # First: under /async/ it answers every error as problem+json, before the others run.
    "api.middleware.ApiGuardMiddleware",
    # Prefer: wait on an order's status GET holds its 304 until the order changes.
    "streams.longpoll.LongPollMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'django.sqlite3'}"),
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Web and worker processes write the read models at once: wait for the lock,
    # and take it at BEGIN so a read-then-write transaction never deadlocks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

MAX_CONTEXT_BYTES = int(os.environ.get("ASYNC_REST_MAX_CONTEXT_BYTES", str(64 * 1024)))
ASYNC_REST: dict[str, Any] = {
    # Where the order event streams are kept: sqlite:///path, postgres://... or memory://
    "EVENTSTORE_URL": os.environ.get("EVENTSTORE_URL", f"sqlite:///{VAR_DIR / 'events.sqlite3'}"),
    # Demo only: let anonymous clients place and read (anonymous) orders.
    "ALLOW_ANONYMOUS": env_bool("ASYNC_REST_ALLOW_ANONYMOUS", True),
    # Largest accepted JSON context, in bytes, once serialised.
    "MAX_CONTEXT_BYTES": MAX_CONTEXT_BYTES,
    # Deepest nesting of arrays and objects in a request body (the body itself is 1):
    # deeper is a 400, before anything recursive (json, the stores) can overflow the stack.
    "MAX_JSON_DEPTH": int(os.environ.get("ASYNC_REST_MAX_JSON_DEPTH", "64")),
    # Seconds a client is told to wait before polling again.
    "RETRY_AFTER": int(os.environ.get("ASYNC_REST_RETRY_AFTER", "1")),
    # Seconds between two supervision passes in each worker (projection catch-up,
    # relay of unsent orders, reaper of orders whose worker was lost).
    "CATCHUP_INTERVAL": float(os.environ.get("ASYNC_REST_CATCHUP_INTERVAL", "5")),
    # A queued order not sent after this many seconds (the broker was down) is sent.
    "RELAY_AFTER": float(os.environ.get("ASYNC_REST_RELAY_AFTER", "5")),
    # A queued order sent but not started after this many seconds is sent again.
    "REDISPATCH_AFTER": float(os.environ.get("ASYNC_REST_REDISPATCH_AFTER", "3600")),
    # A running order with no event for this many seconds has lost its worker: failed.
    "WORKER_LOST_AFTER": float(os.environ.get("ASYNC_REST_WORKER_LOST_AFTER", "3600")),
    # Seconds an Idempotency-Key is remembered (Stripe keeps them a day).
    "IDEMPOTENCY_TTL": float(os.environ.get("ASYNC_REST_IDEMPOTENCY_TTL", str(24 * 3600))),
    # Recent orders each process keeps in memory: a command on one of them writes
    # without reading the event store first.
    "AGGREGATE_CACHE": int(os.environ.get("ASYNC_REST_AGGREGATE_CACHE", "1000")),
    # Fewest seconds between two progress events written by ProgressItems.
    "PROGRESS_INTERVAL": float(os.environ.get("ASYNC_REST_PROGRESS_INTERVAL", "0.2")),
    # Live updates (streams/). Seconds between keep-alive comments on an idle event stream.
    "STREAM_KEEPALIVE": float(os.environ.get("ASYNC_REST_STREAM_KEEPALIVE", "15")),
    # What wakes the streams: auto (LISTEN/NOTIFY when the event store is PostgreSQL, else
    # one watcher per process reading the log), listen, or poll; and that watcher's period.
    "STREAM_NOTIFY": os.environ.get("ASYNC_REST_STREAM_NOTIFY", "auto"),
    "STREAM_POLL_INTERVAL": float(os.environ.get("ASYNC_REST_STREAM_POLL_INTERVAL", "0.05")),
    # Longest hold of a Prefer: wait long-poll under ASGI, and under the sync WSGI server
    # (where a held poll holds a whole worker: keep it well below gunicorn's timeout).
    "LONGPOLL_MAX_WAIT": int(os.environ.get("ASYNC_REST_LONGPOLL_MAX_WAIT", "30")),
    "LONGPOLL_SYNC_MAX_WAIT": int(os.environ.get("ASYNC_REST_LONGPOLL_SYNC_MAX_WAIT", "5")),
}
# The whole request body is refused above this size, on every endpoint (a 413 problem+json).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_CONTEXT_BYTES + 4096

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a bad or missing credential a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.CanUseOrders"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_RATES": {
        # Orders placed per user (or per address when anonymous).
        "orders": os.environ.get("ASYNC_REST_ORDER_RATE", "120/min"),
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "async-rest",
    "DESCRIPTION": "Order long-running work, poll it, read its history.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The browsable UI is served from the installed package: nothing from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # The event streams and long-poll (streams/): before the hooks that add to every path.
        "streams.openapi.document_streams",
        "api.openapi.document_server_limits",
        "api.openapi.document_guard_answers",
    ],
}

# The throttle's counters: per process by default; share them between web processes
# with DJANGO_CACHE_URL=redis://host:6379/1.
_cache_url = os.environ.get("DJANGO_CACHE_URL", "")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": _cache_url}
        if _cache_url.startswith("redis")
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Celery: the embedded default needs no broker server (messages are files in var/).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    (_queue_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(_queue_dir / "processed"),
        "control_folder": str(_queue_dir / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
elif CELERY_BROKER_URL.startswith(("redis", "rediss")):
    # Redis hands an unacknowledged message to another worker after this many seconds,
    # even while its task still runs: it must exceed the longest task (default 6 h).
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", str(6 * 3600)))
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# Acknowledge after the task ran, one message at a time: a worker that dies mid-task
# leaves its message to be redelivered instead of losing the order.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A POST must answer quickly when the broker is down (the relay sends the order later).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

# Django's tasks framework (the django-tasks backport): an enqueued @task is an order, run
# by a Celery worker through the task that CELERY_IMPORTS registers (orders/queues/).
TASKS = {"default": {"BACKEND": "orders.queues.django_tasks.AsyncRestBackend"}}
CELERY_IMPORTS = ["orders.queues.django_tasks"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
