"""RFC 9457 problem details: every error answers ``application/problem+json``."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

PROBLEM = "application/problem+json"


class Problem(exceptions.APIException):
    """An API error with a title, a detail and, when one is at fault, the field's name."""

    def __init__(
        self,
        status_code: int,
        title: str,
        detail: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.title = title
        self.field = field
        self.headers = headers or {}


def order_not_found(order_id: str) -> Problem:
    """The 404 for an order that does not exist, is malformed, or is someone else's."""
    return Problem(404, "Not Found", f"No order {order_id}.", field="uuid")


def context_rejected(exc: Exception) -> Problem:
    """A context the domain refused: 413 when too large, else 400; both name ``context``."""
    if getattr(exc, "too_large", False):
        return Problem(413, "Content Too Large", str(exc), "context")
    return Problem(400, "Bad Request", str(exc), "context")


def problem_body(
    status_code: int, title: str, detail: str, instance: str, field: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status_code,
        "detail": detail,
        "instance": instance,
    }
    if field:
        body["field"] = field
    return body


def is_unavailable(exc: BaseException) -> bool:
    """Whether the error says a database (event store or read models) cannot be reached."""
    from django.db import InterfaceError as DjangoInterfaceError
    from django.db import OperationalError as DjangoOperationalError
    from eventsourcing.persistence import InterfaceError, OperationalError

    unavailable = (DjangoOperationalError, DjangoInterfaceError, OperationalError, InterfaceError)
    while exc is not None:
        if isinstance(exc, unavailable):
            return True
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return False


def _field_of(detail: Any) -> str | None:
    if isinstance(detail, dict) and detail:
        return str(next(iter(detail)))
    return None


# The part of the request at fault in DRF's own errors.
BLAMED: tuple[tuple[type[exceptions.APIException], str], ...] = (
    (exceptions.NotAuthenticated, "Authorization"),
    (exceptions.AuthenticationFailed, "Authorization"),
    (exceptions.UnsupportedMediaType, "Content-Type"),
    (exceptions.NotAcceptable, "Accept"),
    (exceptions.MethodNotAllowed, "method"),
    (exceptions.ParseError, "body"),
)


def _blamed(exc: Exception) -> str | None:
    return next((field for kind, field in BLAMED if isinstance(exc, kind)), None)


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(v) for v in detail)
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, answering every error as problem+json."""
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    if isinstance(exc, Problem):
        body = problem_body(exc.status_code, exc.title, str(exc.detail), instance, exc.field)
        return Response(body, status=exc.status_code, headers=exc.headers, content_type=PROBLEM)
    if isinstance(exc, Http404):
        # Our views raise Problem; a bare Http404 is DRF's for an unknown ?format=.
        params = request.query_params if request is not None else {}
        blamed = "format" if "format" in params else "path"
        body = problem_body(404, "Not Found", "No such resource or format.", instance, blamed)
        return Response(body, status=404, content_type=PROBLEM)
    if is_unavailable(exc):
        # The database is away: say so, and when to retry, rather than a bare 500.
        from django.conf import settings

        retry = str(settings.ASYNC_REST["RETRY_AFTER"])
        body = problem_body(
            503, "Service Unavailable", "The order store is unreachable; retry later.", instance
        )
        return Response(body, status=503, headers={"Retry-After": retry}, content_type=PROBLEM)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    detail = exc.detail if isinstance(exc, exceptions.APIException) else response.data
    field = _field_of(detail) or _blamed(exc)
    title = _title(response.status_code)
    body = problem_body(response.status_code, title, _flatten(detail), instance, field)
    response.data = body
    response.content_type = PROBLEM
    return response


def _title(code: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "Error"


def django_problem(
    request: HttpRequest, code: int, detail: str, field: str | None = None
) -> JsonResponse:
    """A problem+json answer for errors raised outside DRF (Django's 404 and 500 handlers)."""
    body = problem_body(code, _title(code), detail, request.get_full_path(), field)
    return JsonResponse(body, status=code, content_type=PROBLEM)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return django_problem(request, 404, "No such resource.", "path")


@csrf_exempt  # a POST to no route is a 404, not a CSRF failure
def no_route(request: HttpRequest, path: str = "") -> JsonResponse:
    """The last route under /async/: a path that names nothing is a 404, whatever the method."""
    hint = "" if request.path.endswith("/") else " Every path of this API ends with a slash."
    return django_problem(request, 404, f"No endpoint at this path.{hint}", "path")


def server_error(request: HttpRequest) -> JsonResponse:
    return django_problem(request, 500, "The server failed to handle this request.")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return django_problem(request, 400, str(exception) if exception else "Bad request.")
