"""Under /async/ every answer is problem+json: bodies bounded, no HTML error page, even in DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
)
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.log import log_response
from rest_framework.renderers import JSONRenderer

from api.problems import PROBLEM, django_problem, is_unavailable

# Where config/urls.py mounts api.urls.
API_PREFIX = "/async/"
# Headers of an error answer that a problem+json rewrite must keep.
KEPT_HEADERS = ("Allow", "Retry-After", "WWW-Authenticate")
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "instance"}

log = logging.getLogger("django.request")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith(API_PREFIX)


def refusal(request: HttpRequest) -> HttpResponse | None:
    """A problem for a request that must not reach a view (nothing is read or recorded)."""
    try:
        request.get_host()
    except DisallowedHost as exc:
        return django_problem(request, 400, str(exc), "Host")
    try:
        request.GET  # noqa: B018  (parsed here once: DRF's DEBUG path fails on this error)
    except TooManyFieldsSent as exc:
        return django_problem(request, 400, str(exc), "query")
    meta = request.META
    declared = meta.get("CONTENT_LENGTH") or ""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if declared:
        if not (declared.isascii() and declared.isdigit()):
            return django_problem(request, 400, "Content-Length is not a number.", "Content-Length")
        if limit is not None and int(declared) > limit:
            detail = f"The body exceeds {limit} bytes."
            return django_problem(request, 413, detail, "body")
    elif meta.get("HTTP_TRANSFER_ENCODING"):
        # The server passed a chunked body on without its length (api.chunked reads it
        # under gunicorn): Django would read it as empty and act on a body never seen.
        detail = "Send the body with a Content-Length."
        return django_problem(request, 411, detail, "Content-Length")
    if declared not in ("", "0") and not meta.get("CONTENT_TYPE"):
        # DRF ignores a body without a media type: the request would act on an empty one.
        detail = "A body needs a Content-Type (application/json)."
        return django_problem(request, 415, detail, "Content-Type")
    return None


def problem_for(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The problem+json answer for an exception no view turned into one."""
    if isinstance(exc, Http404):
        return django_problem(request, 404, "No such resource.", "path")
    if isinstance(exc, PermissionDenied):
        return django_problem(request, 403, "Not allowed.")
    if isinstance(exc, RequestDataTooBig):
        return django_problem(request, 413, str(exc), "body")
    if isinstance(exc, TooManyFieldsSent):
        return django_problem(request, 400, str(exc), "query")
    if isinstance(exc, DisallowedHost):
        return django_problem(request, 400, str(exc), "Host")
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return django_problem(request, 400, str(exc) or "Bad request.")
    if is_unavailable(exc):
        response = django_problem(request, 503, "The order store is unreachable; retry later.")
        response["Retry-After"] = str(settings.ASYNC_REST["RETRY_AFTER"])
        return response
    response = django_problem(request, 500, "The server failed to handle this request.")
    # Logged here with its traceback: Django would log the answer alone.
    log_response(
        "Internal Server Error: %s", request.path, response=response, request=request, exception=exc
    )
    return response


def as_problem(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """An error answer of any other kind (an HTML page, a schema renderer's) as problem+json."""
    if response.status_code < 400:
        return response
    renderer = getattr(response, "accepted_renderer", None)
    if response.get("Content-Type", "").startswith(PROBLEM) and (
        renderer is None or isinstance(renderer, JSONRenderer)
    ):
        return response
    data = getattr(response, "data", None)
    if isinstance(data, dict) and data.keys() >= PROBLEM_MEMBERS:
        # DRF rendered our problem with the view's own renderer (the schema's YAML, the
        # docs' HTML): the same problem, as JSON.
        problem = JsonResponse(data, status=response.status_code, content_type=PROBLEM)
    else:
        detail = response.reason_phrase or "Error."
        if response.status_code >= 500:
            detail = "The server failed to handle this request."
        field = {404: "path", 405: "method", 413: "body"}.get(response.status_code)
        problem = django_problem(request, response.status_code, detail, field)
    for name in KEPT_HEADERS:
        if name in response:
            problem[name] = response[name]
    if getattr(response, "_has_been_logged", False):
        problem._has_been_logged = True  # Django's own flag: log the answer once
    return problem


class ApiGuardMiddleware:
    """First in MIDDLEWARE: sees every request under /async/ before, and every answer after.

    Sync and async: under ASGI a sync-only first middleware would run every request in
    Django's one sync thread, so a held long-poll or an opening stream would stall them all.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self.__acall__(request)
        if not is_api(request):
            return self.get_response(request)  # the admin and the demo keep Django's pages
        response = refusal(request) or self.get_response(request)
        return as_problem(request, response)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return await self.get_response(request)
        response = refusal(request) or await self.get_response(request)
        return as_problem(request, response)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # Called for what a view raised and DRF did not answer: before DEBUG's HTML page.
        return problem_for(request, exception) if is_api(request) else None
