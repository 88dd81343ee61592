"""The peer of bench.peer: DRF views, Celery and django-celery-results (bench-only, ``[bench]``).

The Celery app is loaded with the package, as Celery's Django guide has it, so that the
web process's ``delay()`` goes to the configured broker.
"""

from bench.peer_dcr.celery import app as celery_app

__all__ = ["celery_app"]
