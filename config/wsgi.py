"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
_django = get_wsgi_application()

from api.chunked import sized_chunked_bodies  # noqa: E402  (needs the settings above)

application = sized_chunked_bodies(_django)
