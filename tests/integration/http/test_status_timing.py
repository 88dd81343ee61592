"""The status's timing over HTTP: last_event_at, eta, stalled, Retry-After and the ETag."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from rest_framework.test import APIClient

from orders.application import dispatch
from orders.application.tracker import OrderTracker
from tests.integration.http.conftest import HeldLauncher


@pytest.fixture
def touchy() -> Iterator[HeldLauncher]:
    """A resource whose orders stay queued until told otherwise, stalled after 0.3 s."""
    launcher = HeldLauncher()
    dispatch.register("touchy", print, launcher=launcher, stall_after=0.3)
    yield launcher
    dispatch.unregister("touchy")


def place(client: APIClient, resource: str) -> str:
    answer = client.post(f"/async/{resource}/order/", {"context": {}}, format="json")
    return str(answer["Location"]).removeprefix("http://testserver")


def test_a_queued_order_has_its_last_event_time_no_eta_and_is_not_stalled(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    body = alice.get(place(alice, "touchy")).json()
    assert (body["last_event_at"], body["eta"], body["stalled"]) == (
        body["updated"],
        None,
        False,
    )


def test_a_running_order_that_moved_has_an_eta_after_its_last_event(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    time.sleep(0.05)
    tracker.progress(touchy.launched[0], 50)
    body = alice.get(url).json()
    assert body["eta"] > body["last_event_at"]


def test_a_running_order_is_told_to_come_back_within_the_bounds(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    tracker.progress(touchy.launched[0], 1)
    assert 1 <= int(alice.get(url)["Retry-After"]) <= 30


def test_retry_after_is_never_above_the_setting(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker, settings
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "RETRY_AFTER": 60, "RETRY_AFTER_MAX": 7}
    assert alice.get(place(alice, "touchy"))["Retry-After"] == "7"


def test_a_running_order_silent_past_its_resources_limit_is_stalled(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    time.sleep(0.4)
    assert alice.get(url).json()["stalled"] is True


def test_a_304_never_hides_that_an_order_has_stalled(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    fresh = alice.get(url)
    time.sleep(0.4)
    again = alice.get(url, HTTP_IF_NONE_MATCH=fresh["ETag"])
    assert (again.status_code, again.json()["stalled"]) == (202, True)


def test_a_304_still_says_when_to_poll_again(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    first = alice.get(url)
    again = alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (again.status_code, again["Retry-After"]) == (304, "1")


def test_the_operators_setting_for_a_resource_overrides_its_registration(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker, settings
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "STALL_AFTER_BY_RESOURCE": {"touchy": 3600}}
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    time.sleep(0.4)
    assert alice.get(url).json()["stalled"] is False


def test_a_replayed_state_is_seen_at_its_own_moment_and_never_stalled(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    time.sleep(0.4)
    assert alice.get(url + "?version=3").json()["stalled"] is False


def test_the_schema_documents_the_timing_fields(alice: APIClient) -> None:
    schema = alice.get("/async/schema/?format=json").json()
    order = schema["components"]["schemas"]["Order"]
    assert {"last_event_at", "stalled", "eta"} <= set(order["required"])


def test_a_stalled_order_polled_with_its_stalled_etag_is_a_304(
    alice: APIClient, touchy: HeldLauncher, tracker: OrderTracker
) -> None:
    url = place(alice, "touchy")
    tracker.start(touchy.launched[0], "w")
    time.sleep(0.4)
    stalled = alice.get(url)
    again = alice.get(url, HTTP_IF_NONE_MATCH=stalled["ETag"])
    assert (stalled["ETag"].endswith('-stalled"'), again.status_code) == (True, 304)
