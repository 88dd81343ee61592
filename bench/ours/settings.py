"""async-rest's settings for bench.peer: bench.settings (config.settings) plus the step task.

config.settings rather than config.production so that one server answers both the token
and the anonymous status GET (ASYNC_REST_ALLOW_ANONYMOUS, set by the bench); the one other
production choice that costs per request, the connection health check, is kept, as the
peer's settings keep it.
"""

from __future__ import annotations

from bench.settings import *  # noqa: F403
from bench.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.ours"]
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
