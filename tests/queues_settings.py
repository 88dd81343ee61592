"""Settings for the stacks of tests/e2e that run RQ and tasks-framework orders: the test app added.

On top of ``ASYNC_REST_BASE_SETTINGS`` (``config.settings`` unless told otherwise).
"""

from __future__ import annotations

import importlib
import os

_base = importlib.import_module(os.environ.get("ASYNC_REST_BASE_SETTINGS", "config.settings"))
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

INSTALLED_APPS = [*_base.INSTALLED_APPS, "tests.queues_app"]
