"""WSGI: a chunked request body under /async/ is read (bounded) and handed on with its length.

Django reads ``CONTENT_LENGTH`` bytes and nothing else, so a chunked body (no length) would
be read as empty: a POST would act on a body it never saw. A server that has decoded the
chunks says so with ``wsgi.input_terminated`` (gunicorn does); then the body is read here, at
most one byte past the limit, so that ApiGuardMiddleware answers 413 for an oversized one.
Without that flag the body cannot be read safely and the middleware answers 411.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

from api.middleware import API_PREFIX

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def sized_chunked_bodies(application: WSGIApp) -> WSGIApp:
    """``application`` behind a reader of chunked bodies for the API's paths."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if (
            not environ.get("CONTENT_LENGTH")
            and environ.get("HTTP_TRANSFER_ENCODING")
            and environ.get("wsgi.input_terminated")
            and environ.get("PATH_INFO", "").startswith(API_PREFIX)
        ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            body = environ["wsgi.input"].read(-1 if limit is None else limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return application(environ, start_response)

    return app
