"""The guard under /async/: errors of any kind become problem+json, other URLs keep Django's."""

from __future__ import annotations

import json

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import Http404, HttpResponse, HttpResponseServerError
from django.test import RequestFactory

from api.middleware import ApiGuardMiddleware, as_problem, problem_for
from api.params import int_between

factory = RequestFactory()
PROBLEM = "application/problem+json"


def problem_of(response: HttpResponse) -> dict:
    assert response["Content-Type"] == PROBLEM
    return json.loads(response.content)


def test_an_uncaught_error_under_async_is_a_problem_500() -> None:
    response = problem_for(factory.get("/async/orders/"), RuntimeError("boom"))
    assert (response.status_code, problem_of(response)["status"]) == (500, 500)
    assert b"boom" not in response.content  # the traceback goes to the log only


def test_django_errors_under_async_name_what_is_at_fault() -> None:
    request = factory.get("/async/orders/")
    fields = [
        problem_of(problem_for(request, exc)).get("field")
        for exc in (Http404(), RequestDataTooBig("big"), DisallowedHost("host"))
    ]
    assert fields == ["path", "body", "Host"]


def test_an_html_error_page_under_async_is_rewritten_as_a_problem() -> None:
    page = HttpResponseServerError("<html>debug</html>", content_type="text/html")
    response = as_problem(factory.get("/async/x/"), page)
    assert (response.status_code, problem_of(response)["status"]) == (500, 500)


def test_other_urls_keep_the_answer_django_gives() -> None:
    page = HttpResponse("<html>debug</html>", status=500, content_type="text/html")
    guard = ApiGuardMiddleware(lambda request: page)
    assert guard(factory.get("/admin/")) is page
    assert guard.process_exception(factory.get("/admin/"), RuntimeError()) is None


def test_a_declared_body_past_the_limit_is_refused_before_any_view(settings) -> None:
    guard = ApiGuardMiddleware(lambda request: HttpResponse("reached the view"))
    big = str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = guard(factory.post("/async/orders/x/cancel/", CONTENT_LENGTH=big))
    assert (response.status_code, problem_of(response)["field"]) == (413, "body")


def test_a_chunked_body_the_server_did_not_read_is_a_411() -> None:
    guard = ApiGuardMiddleware(lambda request: HttpResponse("reached the view"))
    request = factory.post("/async/regina/order/", HTTP_TRANSFER_ENCODING="chunked")
    request.META.pop("CONTENT_LENGTH", None)
    response = guard(request)
    assert (response.status_code, problem_of(response)["field"]) == (411, "Content-Length")


def test_only_plain_ascii_digits_in_range_are_integers() -> None:
    values = ["7", "007", "²", "\u0661", "9" * 5000, "0", "501", "-1", " 1"]
    assert [int_between(v, 1, 500) for v in values] == [7, 7, None, None, None, None, None,
                                                        None, None]  # fmt: skip
