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


def env_seconds_by_name(name: str) -> dict[str, float]:
    """``"regina=30,margherita=120"`` from the environment as ``{"regina": 30.0, ...}``."""
    pairs = (item.split("=", 1) for item in os.environ.get(name, "").split(",") if "=" in item)
    return {key.strip(): float(value) for key, value in pairs if key.strip()}


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
    "metrics",
    "callbacks",
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
    # A parent awaiting its children with more ended children than it recorded for this
    # many seconds (a crash between a child's end and its parent's record) is settled.
    "SETTLE_AFTER": float(os.environ.get("ASYNC_REST_SETTLE_AFTER", "10")),
    # Seconds an Idempotency-Key is remembered (Stripe keeps them a day).
    "IDEMPOTENCY_TTL": float(os.environ.get("ASYNC_REST_IDEMPOTENCY_TTL", str(24 * 3600))),
    # Recent orders each process keeps in memory: a command on one of them writes
    # without reading the event store first.
    "AGGREGATE_CACHE": int(os.environ.get("ASYNC_REST_AGGREGATE_CACHE", "1000")),
    # Fewest seconds between two progress events written by ProgressItems.
    "PROGRESS_INTERVAL": float(os.environ.get("ASYNC_REST_PROGRESS_INTERVAL", "0.2")),
    # A task's progress reports that come less than this many seconds after the order's
    # last save are kept and saved together when the window ends, or sooner
    # (orders/progress_batch.py); 0: each report is saved when made.
    "PROGRESS_BATCH_WINDOW": float(os.environ.get("ASYNC_REST_PROGRESS_BATCH_WINDOW", "0.01")),
    # Write the read models in the same transaction as the events when both are in one
    # PostgreSQL database (config/bootstrap.py); off: project after each save instead.
    "INLINE_PROJECTION": env_bool("ASYNC_REST_INLINE_PROJECTION", True),
    # Automatic retention (config/retention.py), off unless RETENTION_DAYS is set: orders
    # ended more than that many days ago are archived to RETENTION_DIR and removed, by
    # one worker at a time, at most once every RETENTION_INTERVAL seconds.
    "RETENTION_DAYS": float(os.environ.get("ASYNC_REST_RETENTION_DAYS", "0") or 0),
    "RETENTION_DIR": os.environ.get("ASYNC_REST_RETENTION_DIR", str(VAR_DIR / "archive")),
    "RETENTION_INTERVAL": float(os.environ.get("ASYNC_REST_RETENTION_INTERVAL", "3600")),
    "RETENTION_STATUSES": os.environ.get(
        "ASYNC_REST_RETENTION_STATUSES", "completed,failed,cancelled"
    ),
    # Status timing and metrics (orders/application/timing.py, metrics/):
    # a running order silent for this many seconds shows "stalled": true (0: never), ...
    "STALL_AFTER": float(os.environ.get("ASYNC_REST_STALL_AFTER", "600")),
    # ... or for this many for a given resource ("regina=30,margherita=120"), which
    # overrides both the default and register(..., stall_after=...).
    "STALL_AFTER_BY_RESOURCE": env_seconds_by_name("ASYNC_REST_STALL_AFTER_BY_RESOURCE"),
    # The longest Retry-After derived from an order's pace (the shortest is 1 s).
    "RETRY_AFTER_MAX": int(os.environ.get("ASYNC_REST_RETRY_AFTER_MAX", "30")),
    # A bearer token that may read /metrics (staff may too); empty: staff only.
    "METRICS_TOKEN": os.environ.get("ASYNC_REST_METRICS_TOKEN", ""),
    # Completion callbacks (callbacks/). Standard Webhooks secrets ("whsec_..."), space or
    # comma separated: the first signs and every one is sent (rotation). None: a POST with
    # a callback is refused.
    "CALLBACK_SECRETS": os.environ.get("ASYNC_REST_CALLBACK_SECRETS", ""),
    # Networks a callback may reach besides public addresses (e.g. "127.0.0.1/32").
    "CALLBACK_ALLOWED_NETWORKS": os.environ.get("ASYNC_REST_CALLBACK_ALLOWED_NETWORKS", ""),
    # Seconds one attempt may take; bytes of a receiver's answer read at most.
    "CALLBACK_TIMEOUT": float(os.environ.get("ASYNC_REST_CALLBACK_TIMEOUT", "10")),
    "CALLBACK_MAX_RESPONSE_BYTES": int(
        os.environ.get("ASYNC_REST_CALLBACK_MAX_RESPONSE_BYTES", "4096")
    ),
    # Attempts per event; seconds before the second one, doubling up to the cap (with jitter).
    "CALLBACK_MAX_ATTEMPTS": int(os.environ.get("ASYNC_REST_CALLBACK_MAX_ATTEMPTS", "8")),
    "CALLBACK_BACKOFF": float(os.environ.get("ASYNC_REST_CALLBACK_BACKOFF", "2")),
    "CALLBACK_BACKOFF_MAX": float(os.environ.get("ASYNC_REST_CALLBACK_BACKOFF_MAX", "3600")),
    # An owed attempt this many seconds late is sent again by the supervision loop, for
    # orders changed within the sweep window (seconds).
    "CALLBACK_RELAY_AFTER": float(os.environ.get("ASYNC_REST_CALLBACK_RELAY_AFTER", "60")),
    "CALLBACK_SWEEP_WINDOW": float(
        os.environ.get("ASYNC_REST_CALLBACK_SWEEP_WINDOW", str(2 * 86400))
    ),
    # The base of the links in a delivery's body for orders placed without a request.
    "CALLBACK_BASE_URL": os.environ.get("ASYNC_REST_CALLBACK_BASE_URL", "http://127.0.0.1:8000/"),
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
# Erasure (issue 10): seal each new order's context with a key of its own, kept in the
# event store's database, so that `orders forget` can destroy it. Off: new contexts are
# recorded in clear, as before (forget then hides them but cannot remove them).
ASYNC_REST["SEAL_CONTEXTS"] = env_bool("ASYNC_REST_SEAL_CONTEXTS", True)
# Receipts of ended orders (receipts/): the Ed25519 key that signs them (a PEM private key;
# the embedded default generates one into var/, 0600, the first time), and the retired
# keys (PEM, comma-separated) whose receipts must still verify after a rotation.
ASYNC_REST.update(
    RECEIPT_KEY_FILE=os.environ.get(
        "ASYNC_REST_RECEIPT_KEY_FILE", str(VAR_DIR / "receipt-key.pem")
    ),
    RECEIPT_RETIRED_KEYS=[
        p for p in os.environ.get("ASYNC_REST_RECEIPT_RETIRED_KEYS", "").split(",") if p.strip()
    ],
    RECEIPT_KEY_GENERATE="ASYNC_REST_RECEIPT_KEY_FILE" not in os.environ,
)
# The whole request body is refused above this size, on every endpoint (a 413 problem+json).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_CONTEXT_BYTES + 4096

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a bad or missing credential a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.TokenAuthentication",
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
