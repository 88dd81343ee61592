"""Idempotent ordering, cheap polling, cancel, listing, replay, throttling, 503 and the schema."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from api.models import IdempotencyKey
from orders.application.tracker import OrderTracker
from orders.infrastructure.runtime import set_tracker
from tests.integration.http.conftest import HeldLauncher
from tests.integration.http.test_order_api import assert_problem, order_url, place


def keyed(client: APIClient, key: str, context: dict[str, Any], resource: str = "held"):
    return place(client, resource, context, HTTP_IDEMPOTENCY_KEY=key)


# ------------------------------------------------------------------ Idempotency-Key


def test_the_same_key_and_body_give_the_same_order_launched_once(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    first = keyed(alice, "k-1", {"n": 1})
    again = keyed(alice, "k-1", {"n": 1})
    assert (first.status_code, again.status_code) == (302, 302)
    assert again["Location"] == first["Location"]
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert len(held.launched) == 1


def test_the_same_key_with_another_body_is_a_422(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    keyed(alice, "k-1", {"n": 1})
    assert_problem(keyed(alice, "k-1", {"n": 2}), 422, "Idempotency-Key")
    assert len(held.launched) == 1


def test_a_retry_while_the_first_is_in_flight_is_a_409(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    from api.idempotency import fingerprint

    user_id = str(alice.handler._force_user.pk)
    IdempotencyKey.objects.create(owner=user_id, key="k-1", fingerprint=fingerprint("held", {}))
    response = keyed(alice, "k-1", {})
    assert_problem(response, 409, "Idempotency-Key")
    assert response["Retry-After"] == "1"
    assert held.launched == []


def test_keys_are_scoped_to_their_owner(
    alice: APIClient, bob: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    assert keyed(alice, "k-1", {})["Location"] != keyed(bob, "k-1", {})["Location"]
    assert len(held.launched) == 2


def test_an_expired_key_places_a_new_order(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, settings: Any
) -> None:
    first = keyed(alice, "k-1", {})
    IdempotencyKey.objects.update(created=IdempotencyKey.objects.get().created - timedelta(days=2))
    assert keyed(alice, "k-1", {})["Location"] != first["Location"]


def test_a_refused_request_stores_nothing_under_its_key(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    response = alice.post(
        "/async/held/order/", {"context": [1]}, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    assert response.status_code == 400
    assert not IdempotencyKey.objects.exists()


# ------------------------------------------------------------------ ETag


def test_polling_with_the_etag_answers_304_until_the_order_changes(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    etag = alice.get(url)["ETag"]
    unchanged = alice.get(url, HTTP_IF_NONE_MATCH=etag)
    assert (unchanged.status_code, unchanged.content) == (304, b"")
    tracker.start(held.launched[0], "w")
    changed = alice.get(url, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 202
    assert changed["ETag"] != etag


def test_another_users_current_etag_gets_a_404_not_a_304(
    alice: APIClient, bob: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    etag = alice.get(url)["ETag"]
    assert bob.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_a_current_etag_of_a_malformed_or_unknown_id_gets_a_404(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    for path in ("/async/orders/not-a-uuid/", f"/async/orders/{'0' * 32}/"):
        assert alice.get(path, HTTP_IF_NONE_MATCH="*").status_code == 404


def test_an_etag_with_a_replay_parameter_answers_the_replayed_version(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    etag = alice.get(url)["ETag"]
    replayed = alice.get(url + "?version=1", HTTP_IF_NONE_MATCH=etag)
    assert (replayed.status_code, replayed.json()["replayed_version"]) == (200, 1)


# ------------------------------------------------------------------ cancel


def test_cancelling_a_queued_order_ends_it_at_once(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    response = alice.post(url + "cancel/", {"reason": "changed my mind"}, format="json")
    assert (response.status_code, response.json()["status"]) == (200, "cancelled")
    polled = alice.get(url)
    assert (polled.status_code, polled.json()["message"]) == (200, "changed my mind")


def test_cancelling_a_running_order_asks_it_to_stop(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    tracker.start(held.launched[0], "w")
    response = alice.post(url + "cancel/")
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["cancel_requested"]) == ("running", True)


def test_cancelling_a_finished_order_is_a_409(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, instant, {}))
    assert_problem(alice.post(url + "cancel/"), 409, "status")


def test_another_users_order_cannot_be_cancelled(
    alice: APIClient, bob: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    assert_problem(bob.post(url + "cancel/"), 404, "uuid")
    assert alice.get(url).json()["status"] == "queued"


# ------------------------------------------------------------------ listing


def test_the_list_shows_the_callers_orders_newest_first(
    alice: APIClient, bob: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    mine = [place(alice, "held", {"n": n}).json()["uuid"] for n in range(3)]
    place(bob, "held", {})
    listed = alice.get("/async/orders/").json()["results"]
    assert [o["uuid"] for o in listed] == mine[::-1]


def test_the_list_filters_by_status_and_resource(
    alice: APIClient, held: HeldLauncher, instant: str, tracker: OrderTracker
) -> None:
    done = place(alice, instant, {}).json()["uuid"]
    place(alice, "held", {})
    assert [o["uuid"] for o in alice.get("/async/orders/?status=completed").json()["results"]] == [
        done
    ]
    assert len(alice.get(f"/async/orders/?resource={instant}").json()["results"]) == 1


def test_the_list_pages_with_a_cursor(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    placed = [place(alice, "held", {"n": n}).json()["uuid"] for n in range(5)]
    first = alice.get("/async/orders/?page_size=2").json()
    second = alice.get(first["next"].removeprefix("http://testserver")).json()
    assert [o["uuid"] for o in first["results"] + second["results"]] == placed[::-1][:4]


def test_a_bad_filter_is_named(alice: APIClient, tracker: OrderTracker) -> None:
    assert_problem(alice.get("/async/orders/?status=sleeping"), 400, "status")
    assert_problem(alice.get("/async/orders/?created_after=yesterday"), 400, "created_after")


# ------------------------------------------------------------------ replay


def test_the_state_at_a_version_is_replayed_from_the_event_store(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    tracker.start(held.launched[0], "w")
    tracker.progress(held.launched[0], 40, "rising")
    tracker.progress(held.launched[0], 80, "baking")
    body = alice.get(url + "?version=4").json()
    assert (body["status"], body["progress"], body["message"], body["replayed_version"]) == (
        "running",
        40,
        "rising",
        4,
    )


def test_the_state_at_a_moment_is_replayed(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    started = tracker.start(held.launched[0], "w")
    tracker.progress(held.launched[0], 40)
    at = started.modified_on.isoformat()
    body = alice.get(url, {"at": at}).json()
    assert (body["status"], body["progress"], body["replayed_version"]) == ("running", 0, 3)


@pytest.mark.parametrize(
    ("query", "field"),
    [("version=0", "version"), ("version=99", "version"), ("version=x", "version"),
     ("at=2000-01-01T00:00:00Z", "at"), ("at=never", "at")],
)  # fmt: skip
def test_a_replay_out_of_range_is_a_400_naming_the_parameter(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, query: str, field: str
) -> None:
    url = order_url(place(alice, "held", {}))
    assert_problem(alice.get(f"{url}?{query}"), 400, field)


# ------------------------------------------------------------------ limits and failures


def test_placing_orders_is_throttled_per_user(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, settings: Any
) -> None:
    from django.core.cache import cache
    from rest_framework.throttling import ScopedRateThrottle

    cache.clear()
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "orders": "2/min"}
    ScopedRateThrottle.THROTTLE_RATES = rates
    try:
        codes = [place(alice, "held", {}).status_code for _ in range(3)]
        refused = place(alice, "held", {})
    finally:
        ScopedRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        cache.clear()
    assert codes == [302, 302, 429]
    assert refused["Content-Type"] == "application/problem+json"
    assert "Retry-After" in refused


def test_an_unreachable_event_store_is_a_503_with_retry_after(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, settings: Any
) -> None:
    url = order_url(place(alice, "held", {}))
    settings.ASYNC_REST = {
        **settings.ASYNC_REST,
        "EVENTSTORE_URL": "postgres://postgres@127.0.0.1:1/nowhere?connect_timeout=1",
    }
    set_tracker(None)  # this process (re)connects to the store at its next request
    try:
        response = place(alice, "held", {})
        replay = alice.get(url + "?version=1")
    finally:
        set_tracker(tracker)
    for answer in (response, replay):
        assert answer.status_code == 503
        assert answer["Content-Type"] == "application/problem+json"
        assert answer["Retry-After"]
    assert tracker.last_position() == 2  # the first order's Queued and Dispatched only


def test_the_openapi_schema_describes_every_endpoint(anonymous: APIClient) -> None:
    response = anonymous.get("/async/schema/", HTTP_ACCEPT="application/json")
    paths = response.json()["paths"]
    assert set(paths) == {  # and nothing else: the pizzeria demo is not part of the API
        "/async/{resource_name}/order/",
        "/async/orders/",
        "/async/orders/{order_id}/",
        "/async/orders/{order_id}/history/",
        "/async/orders/{order_id}/children/",
        "/async/orders/{order_id}/cancel/",
        "/async/orders/{order_id}/receipt/",
        "/.well-known/async-rest-keys",
        "/async/orders/{order_id}/events/",
        "/async/events/",
    }
    assert set(paths["/async/orders/{order_id}/"]["get"]["responses"]) >= {
        "200", "201", "202", "304", "404", "503",
    }  # fmt: skip


def test_the_docs_page_loads_its_assets_from_this_server(anonymous: APIClient) -> None:
    page = anonymous.get("/async/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn." not in page and "unpkg" not in page


# ------------------------------------------------------------------ found by fuzzing


def test_a_nul_character_in_the_context_is_refused_by_name(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    assert_problem(place(alice, "held", {"name": "a\x00b"}), 400, "context")
    assert tracker.last_position() == 0


def test_a_moment_with_a_large_utc_offset_is_accepted(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    place(alice, "held", {})
    response = alice.get("/async/orders/", {"created_after": "0221-08-27T21:07:17-16:42"})
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("size", ["0", "-1", "1.5", "100000"])
def test_a_page_size_out_of_range_is_named(
    alice: APIClient, tracker: OrderTracker, size: str
) -> None:
    assert_problem(alice.get("/async/orders/", {"page_size": size}), 400, "page_size")


def test_a_bad_token_is_a_401_that_says_how_to_authenticate(tracker: OrderTracker) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get("/async/orders/")
    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Token")


# ------------------------------------------------------------------ found by review


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('{"context": {"x": 1e400}}', "body"),  # out of range: api.parsers refuses it
        ('{"context": {"x": NaN}}', "body"),  # not JSON
        ('{"context": {"_type_": "uuid_hex", "_data_": "0b6e3f4e8a0e4bd49a545f2a3cbb1f5e"}}',
         "context"),
        ('{"context": {"rows": [{"_type_": "x", "_data_": 1}]}}', "context"),
    ],
    ids=["infinite", "nan", "transcoder-tag", "nested-transcoder-tag"],
)  # fmt: skip
def test_a_context_the_event_store_could_not_read_back_is_refused(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, raw: str, field: str
) -> None:
    response = alice.post("/async/held/order/", raw, content_type="application/json")
    assert_problem(response, 400, field)
    assert tracker.last_position() == 0


def test_a_malformed_content_length_is_a_400(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    response = alice.post("/async/held/order/", {}, format="json", CONTENT_LENGTH="abc")
    assert_problem(response, 400, "Content-Length")


def test_a_pizza_is_shown_only_to_who_may_see_its_order(
    alice: APIClient, bob: APIClient, tracker: OrderTracker
) -> None:
    from examples.pizzeria.models import Pizza

    order_id = tracker.place("regina", {}, owner=str(alice.handler._force_user.pk))
    pizza = Pizza.objects.create(name="regina", order_id=order_id, steps=1)
    assert alice.get(f"/pizzeria/pizzas/{pizza.pk}/").status_code == 200
    assert_problem(bob.get(f"/pizzeria/pizzas/{pizza.pk}/"), 404, None)
