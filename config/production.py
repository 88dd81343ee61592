"""Production settings: PostgreSQL for Django and the event store, Redis broker, no anonymous use.

Every value comes from the environment (see the README's "Production" section);
start-up fails loudly when one that matters is missing.
"""

from __future__ import annotations

import os

from config.settings import *  # noqa: F403
from config.settings import ASYNC_REST, DATABASES, env_bool


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} must be set for config.production")
    return value


SECRET_KEY = _required("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
_required("DATABASE_URL")
ASYNC_REST["EVENTSTORE_URL"] = _required("EVENTSTORE_URL")
CELERY_BROKER_URL = _required("CELERY_BROKER_URL")
ASYNC_REST["ALLOW_ANONYMOUS"] = False
# The key that signs receipts is a secret like the others: given, never generated.
ASYNC_REST["RECEIPT_KEY_FILE"] = _required("ASYNC_REST_RECEIPT_KEY_FILE")
ASYNC_REST["RECEIPT_KEY_GENERATE"] = False
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
