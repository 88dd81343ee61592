"""bench.soak's settings: bench.production (config.production + the bench URLs) plus its task."""

from __future__ import annotations

from bench.production import *  # noqa: F403
from bench.production import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "bench.soak_tasks"]
