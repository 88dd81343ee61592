"""The REST protocol as a client sees it (Django's test client, tasks run inline)."""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from orders.tracker import OrderTracker
from tests.e2e.conftest import HeldLauncher

PROBLEM = "application/problem+json"


def place(client: APIClient, resource: str, context: object = None, **kwargs):
    body = {} if context is None else {"context": context}
    return client.post(f"/async/{resource}/order/", body, format="json", **kwargs)


def order_url(response) -> str:
    return response["Location"].removeprefix("http://testserver")


def test_placing_an_order_redirects_to_it(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    response = place(alice, "held", {"steps": 3})
    assert response.status_code == 302
    assert response["Location"] == f"http://testserver/async/orders/{held.launched[0]}/"


def test_a_queued_order_answers_202_with_retry_after(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    response = alice.get(order_url(place(alice, "held", {"steps": 3})))
    assert response.status_code == 202
    assert response["Retry-After"] == "1"
    body = response.json()
    assert (body["status"], body["progress"], body["context"], body["version"]) == (
        "queued",
        0,
        {"steps": 3},
        2,  # Queued, Dispatched
    )
    assert body["links"]["history"].endswith(f"/async/orders/{body['uuid']}/history/")


def test_a_running_order_shows_its_progress_and_message(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    tracker.start(held.launched[0], "w")
    tracker.progress(held.launched[0], 35, "kneading")
    body = alice.get(url).json()
    assert (body["status"], body["progress"], body["message"]) == ("running", 35, "kneading")


def test_a_completed_order_answers_201_with_the_absolute_resource_url(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    response = alice.get(order_url(place(alice, instant, {})))
    uuid = response.json()["uuid"]
    assert response.status_code == 201
    assert response.json()["resource_url"] == f"http://testserver/things/{uuid}/"
    assert response["Location"] == f"http://testserver/things/{uuid}/"
    assert "Retry-After" not in response


def test_a_failed_order_answers_200_with_its_message(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    response = alice.get(order_url(place(alice, instant, {"fail_with": "No more ingredients"})))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["message"], body["error"]["type"]) == (
        "failed",
        "No more ingredients",
        "RuntimeError",
    )
    assert "traceback" not in body["error"]


def test_staff_see_the_traceback_of_a_failure(
    alice: APIClient, staff: APIClient, instant: str, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, instant, {"fail_with": "boom"}))
    assert "RuntimeError: boom" in staff.get(url).json()["error"]["traceback"]


def test_the_history_lists_every_event_oldest_first(
    alice: APIClient, instant: str, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, instant, {}))
    body = alice.get(url + "history/").json()
    assert body["count"] == 3
    assert [(e["version"], e["type"]) for e in body["results"]] == [
        (1, "Queued"),
        (2, "Started"),
        (3, "Completed"),
    ]
    assert body["results"][2]["resource_url"].startswith("/things/")


def test_the_history_is_paginated(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    tracker.start(held.launched[0], "w")
    for percent in range(1, 6):
        tracker.progress(held.launched[0], percent)
    page = alice.get(url + "history/?page_size=3&page=2").json()
    # Queued, Dispatched, Started and five Progressed
    assert (page["count"], [e["version"] for e in page["results"]]) == (8, [4, 5, 6])


def test_the_task_is_launched_only_after_the_transaction_commits(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    with transaction.atomic():
        place(alice, "held", {})
        assert held.launched == []
    assert len(held.launched) == 1


# ------------------------------------------------------------------ bad input


def assert_problem(response, status: int, field: str | None) -> None:
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body.get("field")) == (status, field)
    assert body["title"] and body["detail"]


def test_an_unknown_resource_is_a_404_problem_and_writes_nothing(
    alice: APIClient, tracker: OrderTracker
) -> None:
    assert_problem(place(alice, "calzone", {}), 404, "resource_name")
    assert tracker.last_position() == 0


@pytest.mark.parametrize("context", [[1, 2], "a string", 3, None])
def test_a_context_that_is_not_an_object_is_refused_by_name(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, context: object
) -> None:
    response = alice.post("/async/held/order/", {"context": context}, format="json")
    assert_problem(response, 400, "context")
    assert tracker.last_position() == 0


def test_invalid_json_is_a_400_problem(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    response = alice.post("/async/held/order/", "{not json", content_type="application/json")
    assert_problem(response, 400, "body")
    assert tracker.last_position() == 0


def test_a_body_that_is_not_an_object_is_refused(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    assert_problem(alice.post("/async/held/order/", [1], format="json"), 400, "body")


def test_an_oversized_context_is_a_413_problem(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, settings
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "MAX_CONTEXT_BYTES": 100}
    assert_problem(place(alice, "held", {"blob": "x" * 200}), 413, "context")
    assert tracker.last_position() == 0


def test_an_oversized_body_is_a_413_problem(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker, settings
) -> None:
    big = {"blob": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)}
    assert_problem(place(alice, "held", big), 413, "body")
    assert tracker.last_position() == 0


def test_a_missing_context_places_an_empty_one(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    assert alice.get(order_url(place(alice, "held"))).json()["context"] == {}


@pytest.mark.parametrize("suffix", ["", "history/"])
@pytest.mark.parametrize("order_id", ["not-a-uuid", "0b6e3f4e-8a0e-4bd4-9a54-5f2a3cbb1f5e"])
def test_an_unknown_or_malformed_order_id_is_a_404_problem(
    alice: APIClient, tracker: OrderTracker, order_id: str, suffix: str
) -> None:
    assert_problem(alice.get(f"/async/orders/{order_id}/{suffix}"), 404, "uuid")


# ------------------------------------------------------------------ who sees what


@pytest.mark.parametrize("suffix", ["", "history/"])
def test_another_users_order_is_a_404(
    alice: APIClient, bob: APIClient, held: HeldLauncher, tracker: OrderTracker, suffix: str
) -> None:
    url = order_url(place(alice, "held", {}))
    assert_problem(bob.get(url + suffix), 404, "uuid")
    assert alice.get(url + suffix).status_code in (200, 202)


def test_staff_see_every_order(
    alice: APIClient, staff: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    assert staff.get(order_url(place(alice, "held", {}))).status_code == 202


def test_anonymous_use_is_refused_when_the_demo_setting_is_off(
    anonymous: APIClient, held: HeldLauncher, tracker: OrderTracker, settings
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "ALLOW_ANONYMOUS": False}
    response = place(anonymous, "held", {})
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == PROBLEM
    assert tracker.last_position() == 0


def test_anonymous_demo_orders_are_not_visible_to_a_signed_in_user(
    anonymous: APIClient, alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(anonymous, "held", {}))
    assert anonymous.get(url).status_code == 202
    assert alice.get(url).status_code == 404


def test_a_token_authenticates_the_owner(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=User.objects.get(username="alice"))
    url = order_url(place(alice, "held", {}))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get(url).status_code == 202
