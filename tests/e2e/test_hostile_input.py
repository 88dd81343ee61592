"""Hostile input against the live server on both settings: no 5xx, problems naming the fault.

Beside schemathesis (which only sends what the schema describes): hypothesis strategies
(tests/e2e/hostile.py) for classes of input, sent by a plain HTTP client to gunicorn with a
real worker, on the embedded default (SQLite, DEBUG on) and config.production (PostgreSQL,
DEBUG off). Every answer is a documented status; every 4xx a full problem+json with the
``field`` at fault; a refused request records nothing (counted in the stores).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from urllib.parse import parse_qsl

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e import hostile as h
from tests.e2e.hostile_client import (
    BODY_LIMIT,
    CANCEL,
    DEPTH_LIMIT,
    HEADERS,
    HISTORY,
    LIST,
    ORDER,
    PARAMETERS,
    PLACE,
    SEGMENTS,
    TIMES,
    HostileClient,
    check,
    order_id_of,
    path_of,
    query,
    refused,
    segment,
)
from tests.e2e.stack import embedded_stack, production_stack

pytestmark = pytest.mark.services

# Bounded so that both settings together stay well under a minute in CI.
EXAMPLES = int(os.environ.get("ASYNC_REST_HOSTILE_EXAMPLES", "20"))
hostile = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # The e2e conftest's autouse database fixture is function-scoped; these tests use none.
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
RESERVED_KEYS = {"steps", "step_seconds", "fail_with", "_type_", "_data_"}
ENV = {"ASYNC_REST_ORDER_RATE": "1000000/min"}  # the throttle is not under test


@pytest.fixture(scope="module", params=["embedded", "production"])
def client(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    kind, var = request.param, tmp_path_factory.mktemp(f"hostile-{request.param}")
    stack = embedded_stack if kind == "embedded" else production_stack
    with stack(var, ENV) as live:
        live.start()
        if kind == "embedded":
            live.create_token()  # one user's orders, as in production
        with HostileClient(live, kind) as client:
            yield client


# ------------------------------------------------------------------ bodies


@hostile
@given(
    depth=st.one_of(
        st.integers(DEPTH_LIMIT - 2, DEPTH_LIMIT + 2), st.integers(3, 40_000), st.just(100_000)
    ),
    kinds=st.sampled_from(["a", "o", "ao", "oa", "aao"]),
    cancel=st.booleans(),
)
def test_bodies_nest_up_to_the_limit_and_deeper_is_a_400_naming_body(
    client: HostileClient, depth: int, kinds: str, cancel: bool
) -> None:
    if cancel:  # a member of the body (depth 1)
        body = ('{"reason": "r", "deep": ' + h.nested(depth - 1, kinds) + "}").encode()
        answer = client.cancel_counted(body)
    else:
        deep = h.nested(depth - 2, kinds)  # in the context (2)
        body = ('{"context": {"steps": 1, "step_seconds": 0, "deep": ' + deep + "}}").encode()
        answer = client.place_counted(body)
    if len(body) > BODY_LIMIT:
        refused(answer, 413, "body")
    elif depth > DEPTH_LIMIT:
        refused(answer, 400, "body")
    else:
        assert answer.status in ((200, 202, 409) if cancel else (302,)), answer.body[:300]


@hostile
@given(text=h.texts, key=h.texts.filter(lambda k: k not in RESERVED_KEYS))
def test_strings_of_any_code_points_read_back_as_sent_or_are_refused(
    client: HostileClient, text: str, key: str
) -> None:
    context = {"steps": 1, "step_seconds": 0, "s": text, "l": [text], key: "v"}
    answer = client.place_counted(h.place_body(context))
    if h.surrogate_in(context):
        refused(answer, 400, "body")  # not a Unicode character: no store can hold it
    elif h.nul_in(context):
        refused(answer, 400, "context")  # PostgreSQL text cannot hold NUL
    else:
        assert answer.status == 302, answer.body[:300]
        order = check(client.send("GET", answer.headers["location"]), client.documented(ORDER))
        assert order.json()["context"] == h.as_read(context)


@hostile
@given(reason=h.texts)
def test_cancel_reasons_of_any_code_points_are_taken_or_refused(
    client: HostileClient, reason: str
) -> None:
    body = h.write({"reason": reason}).encode()
    answer = client.cancel_counted(body)
    if h.has_surrogate(reason):
        refused(answer, 400, "body")
    elif h.NUL in reason:
        refused(answer, 400, "reason")
    else:
        assert answer.status in (200, 202, 409), answer.body[:300]


@hostile
@given(numbers=st.lists(h.number_tokens, min_size=1, max_size=4))
def test_numbers_of_any_size_read_back_by_value_or_are_refused(
    client: HostileClient, numbers: list
) -> None:
    context = {"steps": 1, "step_seconds": 0, "n": numbers}
    answer = client.place_counted(h.place_body(context))
    if h.out_of_range(numbers):
        refused(answer, 400, "body")
    else:
        assert answer.status == 302, answer.body[:300]
        order = check(client.send("GET", answer.headers["location"]), client.documented(ORDER))
        assert order.json()["context"]["n"] == h.read_back(numbers)


@hostile
@given(value=h.json_values, wrapped=st.booleans())
def test_any_json_body_is_placed_or_refused_as_a_problem(
    client: HostileClient, value: object, wrapped: bool
) -> None:
    sent = {"context": value} if wrapped else value
    answer = client.place_counted(h.write(sent).encode("utf-8", "surrogatepass"))
    if h.surrogate_in(sent) or h.out_of_range(sent) or not isinstance(sent, dict):
        refused(answer, 400, "body")
    elif not isinstance(sent.get("context", {}), dict):
        refused(answer, 400, "context")


@hostile
@given(pairs=h.with_duplicate_keys, where=st.sampled_from(["body", "context", "nested"]))
def test_a_key_twice_in_any_object_is_a_400_naming_body(
    client: HostileClient, pairs: h.Pairs, where: str
) -> None:
    value = {"body": pairs, "context": {"context": pairs}, "nested": {"context": {"x": [pairs]}}}
    text = h.write(value[where])
    if where == "body":
        text = text[:-1] + (',"context":{}}' if pairs.items else '"context":{}}')
    body = text.encode("utf-8", "surrogatepass")
    answer = client.place_counted(body)
    refused(answer, 400, "body")


@hostile
@given(data=st.one_of(st.binary(max_size=200), h.texts.map(h.utf16)))
def test_bytes_that_are_not_a_json_object_are_a_400_naming_body(
    client: HostileClient, data: bytes
) -> None:
    try:
        valid = not data or isinstance(json.loads(data.decode("utf-8")), dict)  # b"": no body
    except ValueError:
        valid = False
    answer = client.place_counted(data)
    if not valid:
        refused(answer, 400, "body")


@hostile
@given(
    size=st.one_of(st.integers(BODY_LIMIT - 2, BODY_LIMIT + 2), st.integers(1, 3 * BODY_LIMIT)),
    operation=st.sampled_from([PLACE, CANCEL, ORDER, HISTORY, LIST]),
    chunked=st.booleans(),
)
def test_a_body_past_the_limit_is_a_413_naming_body_on_every_endpoint(
    client: HostileClient, size: int, operation: str, chunked: bool
) -> None:
    method, _ = operation.split()
    name = "reason" if operation == CANCEL else "context"
    body = (f'{{"{name}": "' + "a" * max(size - len(name) - 8, 0) + '"}').encode()
    target = client.place()
    path = path_of(operation, target)
    before = client.ledger.count()
    if chunked and method == "POST":
        answer = client.raw_post(path, [body[i : i + 8000] for i in range(0, len(body), 8000)])
    else:
        answer = client.send(method, path, body=body)
    check(answer, client.documented(operation))
    if len(body) > BODY_LIMIT:
        refused(answer, 413, "body")
    if answer.status >= 400:
        assert client.ledger.count() == before
        assert client.ledger.cancels(order_id_of(target)) == 0


@hostile
@given(
    content_type=st.one_of(
        st.sampled_from(
            [
                "text/plain",
                "application/x-www-form-urlencoded",
                "application/xml",
                "multipart/form-data; boundary=x",
                "application/problem+json",
                "*/*",
                "application/json-patch+json",
                "json",
                "application",
            ]
        ),
        st.text(h.header_chars, min_size=1, max_size=40).map(str.strip).filter(bool),
    ),
    cancel=st.booleans(),
)
def test_a_body_that_is_not_said_to_be_json_is_a_415_naming_content_type(
    client: HostileClient, content_type: str, cancel: bool
) -> None:
    body, headers = b'{"context": {"steps": 1, "step_seconds": 0}}', {"Content-Type": content_type}
    if cancel:
        answer = client.cancel_counted(body, headers=headers)
    else:
        answer = client.place_counted(body, headers=headers)
    main, _, sub = content_type.split(";")[0].strip().lower().partition("/")
    if main in ("application", "*") and sub in ("json", "*"):  # DRF takes */* for JSON
        assert answer.status in ((200, 202, 409) if cancel else (302,)), answer.body[:200]
    else:
        refused(answer, 415, "Content-Type")


def test_a_body_without_content_type_is_a_415_naming_it(client: HostileClient) -> None:
    before = client.ledger.count()
    answer = client.raw(
        b"POST /async/regina/order/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in client.live.headers.items()).encode()
        + b'Content-Length: 15\r\nConnection: close\r\n\r\n{"context": {}}'
    )
    refused(check(answer, client.documented(PLACE)), 415, "Content-Type")
    assert client.ledger.count() == before


# ------------------------------------------------------------------ query strings


@pytest.fixture(scope="module")
def order(client: HostileClient) -> str:
    """An order of the caller's, and a second one so that the list has a next page."""
    client.place()
    return client.place()


def answered_naming(client: HostileClient, operation: str, order: str, name: str, value: str):
    answer = client.send_counted("GET", path_of(operation, order), params=query(**{name: value}))
    answer = check(answer, client.documented(operation))
    if answer.status >= 400:
        assert answer.problem.get("field") == name, answer.problem
    return answer


@hostile
@given(parameter=st.sampled_from(PARAMETERS), value=st.one_of(h.query_junk, h.moments))
def test_every_query_parameter_given_junk_is_answered_naming_it(
    client: HostileClient, order: str, parameter: tuple[str, str], value: str
) -> None:
    answered_naming(client, *parameter[:1], order, parameter[1], value)


@hostile
@given(parameter=st.sampled_from(TIMES), value=h.moments)
def test_a_moment_out_of_range_on_any_time_parameter_is_a_400_naming_it(
    client: HostileClient, order: str, parameter: tuple[str, str], value: str
) -> None:
    answer = answered_naming(client, parameter[0], order, parameter[1], value)
    assert answer.status in (200, 400), answer.body[:200]


@hostile
@given(cursor=h.forged_cursors, data=st.data())
def test_a_forged_or_edited_cursor_is_a_404_naming_cursor(
    client: HostileClient, order: str, cursor: str, data: st.DataObject
) -> None:
    page = client.send("GET", "/async/orders/", params="page_size=1").json()
    real = httpx.URL(page["next"]).params["cursor"]
    tokens = dict(parse_qsl(base64.b64decode(real).decode()))
    position = data.draw(st.one_of(h.moments, h.query_junk), label="position")
    cut = data.draw(st.integers(0, len(real)), label="cut")
    edited = data.draw(
        st.sampled_from(
            [
                cursor,  # forged whole
                h.cursor_of(query(**{**tokens, "p": position}).encode()),  # another position
                real[:cut] + data.draw(st.text("AZaz09+/=%", max_size=4)),  # edited by hand
            ]
        )
    )
    answer = answered_naming(client, LIST, order, "cursor", edited)
    assert answer.status in (200, 404), answer.body[:200]


@hostile
@given(etag=h.header_values, data=st.data())
def test_a_tampered_etag_is_only_ever_a_miss_or_a_match(
    client: HostileClient, order: str, etag: str, data: st.DataObject
) -> None:
    real = client.send("GET", order).headers["etag"]
    sent = data.draw(
        st.sampled_from(
            [
                etag,
                real.strip('"'),
                "W/" + real,
                f"{etag}, {real}",
                real[:-2] + '"',
                real + etag,
                ",".join([real] * 50),
            ]
        )
    )
    for operation in (ORDER, HISTORY):
        answer = client.send("GET", path_of(operation, order), headers={"If-None-Match": sent})
        assert check(answer, client.documented(operation)).status in (200, 201, 202, 304)


# ------------------------------------------------------------------ headers and paths


@hostile
@given(
    name=st.sampled_from(HEADERS),
    value=st.one_of(h.header_values, h.header_values.map("Token {}".format)),
    operation=st.sampled_from([PLACE, CANCEL, ORDER, HISTORY, LIST]),
)
def test_every_header_given_junk_is_answered_as_documented(
    client: HostileClient, order: str, name: str, value: str, operation: str
) -> None:
    method, _ = operation.split()
    path = path_of(operation, order)
    body = b'{"context": {"steps": 1, "step_seconds": 0}}' if method == "POST" else None
    answer = client.send_counted(method, path, body=body, headers={name: value})
    check(answer, client.documented(operation))


@hostile
@given(
    parts=st.lists(st.one_of(st.sampled_from(SEGMENTS), h.texts), min_size=1, max_size=4),
    slash=st.booleans(),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]),
)
def test_a_path_under_async_is_a_route_or_a_404_naming_the_path(
    client: HostileClient, parts: list[str], slash: bool, method: str
) -> None:
    path = "/async/" + "/".join(map(segment, parts)) + ("/" if slash else "")
    body = b'{"context": {"steps": 1, "step_seconds": 0}}' if method != "GET" else None
    answer = client.send_counted(method, path[:4000], body=body)
    check(answer, set().union(*client.schema.values()) | {405, 406})
    if answer.status == 404 and method != "HEAD":
        assert answer.problem["field"] in ("path", "uuid", "resource_name"), answer.problem
    if answer.status == 405 and method != "HEAD":
        assert answer.problem["field"] == "method"


@hostile
@given(name=st.sampled_from(HEADERS[1:4]), junk=h.control_characters)
def test_what_is_not_http_is_refused_by_the_server_before_the_api(
    client: HostileClient, name: str, junk: str
) -> None:
    # Control characters in a header: gunicorn answers 400 itself (its own small page),
    # so no Django code runs and nothing can be recorded.
    before = client.ledger.count()
    answer = client.raw(
        f"POST /async/regina/order/ HTTP/1.1\r\nHost: 127.0.0.1\r\n{name}: a{junk}b\r\n"
        "Content-Type: application/json\r\nContent-Length: 15\r\nConnection: close\r\n\r\n"
        '{"context": {}}'.encode("latin-1")
    )
    assert answer.status == 400
    assert client.ledger.count() == before
