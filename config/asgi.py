"""ASGI entry point: every endpoint, and the live event streams (async views, streams/).

Production: ``gunicorn config.asgi:application -k uvicorn.workers.UvicornWorker``. The
embedded ``make run`` serves it with uvicorn; there (DEBUG) static files (the admin's, the
API docs') are served as ``runserver`` serves them.
"""

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
