"""The metrics projection and /metrics: counted from the event log, the same after a rebuild."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config.supervision import supervise_once
from metrics.collector import TallyCollector
from metrics.projection import catch_up, rebuild
from orders.application import dispatch
from orders.application.services import place_order
from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderTracker
from orders.domain.order import event_type
from tests.services import ROOT

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def scrape(tracker: OrderTracker) -> str:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(TallyCollector(tracker, now=NOW))
    return generate_latest(registry).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


def run(tracker: OrderTracker, resource: str = "regina") -> UUID:
    order_id = tracker.place(resource, {}, owner=None)
    tracker.dispatch(order_id, "d1")
    tracker.start(order_id, "w", "d1")
    tracker.progress(order_id, 50)
    return order_id


@pytest.fixture
def history(store_tracker: OrderTracker) -> OrderTracker:
    """On each store: 2 completed, 1 retried then failed by the reaper, 1 cancelled queued,
    1 cancelled while running, 1 running, 1 queued and sent twice, 1 margherita queued."""
    t = store_tracker
    for _ in range(2):
        t.complete(run(t), "/done/")
    flaky = run(t)
    t.retry(flaky, "flaky")
    t.start(flaky, "w2")
    t.fail(flaky, "Worker lost", WORKER_LOST)
    t.cancel(t.place("regina", {}, owner=None))
    asked = run(t)
    t.cancel(asked)
    t.confirm_cancelled(asked)
    run(t)
    resent = t.place("regina", {}, owner=None)
    t.dispatch(resent, "d1")
    t.dispatch(resent, "d2")
    t.place("margherita", {}, owner=None)
    return t


def test_the_orders_are_counted_by_resource_and_status(history: OrderTracker) -> None:
    catch_up(history)
    text = scrape(history)
    assert {
        status: value(text, "async_rest_orders", resource="regina", status=status)
        for status in ("queued", "running", "completed", "failed", "cancelled")
    } == {"queued": 1, "running": 1, "completed": 2, "failed": 1, "cancelled": 2}


def test_placed_retried_cancelled_reaped_and_relayed_orders_are_counted(
    history: OrderTracker,
) -> None:
    catch_up(history)
    text = scrape(history)
    assert [
        value(text, f"async_rest_orders_{name}_total", resource="regina")
        for name in ("placed", "retries", "cancels", "reaped", "relayed")
    ] == [7, 1, 2, 1, 1]


def test_callback_attempts_after_the_end_are_counted_by_outcome_under_their_resource(
    store_tracker: OrderTracker,
) -> None:
    callback = {"url": "https://hooks.example.org/o", "events": ["completed"], "base_url": "/"}
    order_id = store_tracker.place("regina", {}, owner=None, callback=callback)
    store_tracker.start(order_id, "w")
    completed = store_tracker.complete(order_id, "/pizzas/1/").version
    store_tracker.record_callback_failed(order_id, completed, "HTTP 500", 500, 3, retry_in=1.0)
    store_tracker.record_callback_delivered(order_id, completed, 200, 4)
    catch_up(store_tracker)
    text = scrape(store_tracker)
    assert [
        value(text, "async_rest_callbacks_total", resource="regina", outcome=outcome)
        for outcome in ("delivered", "failed")
    ] == [1, 1]


def test_every_event_in_the_log_is_counted_once_by_type(history: OrderTracker) -> None:
    catch_up(history)
    catch_up(history)  # a second pass finds nothing new: nothing is counted twice
    text = scrape(history)
    in_log = Counter(event_type(e) for e in history.all_events())
    counted: Counter[str] = Counter()
    for (name, labels), v in samples(text).items():
        if name == "async_rest_events_total":
            counted[dict(labels)["type"]] += int(v)
    assert counted == in_log


def test_each_start_from_the_queue_is_observed_once_in_the_queue_histogram(
    history: OrderTracker,
) -> None:
    catch_up(history)
    text = scrape(history)
    assert value(text, "async_rest_order_queue_seconds_count", resource="regina") == 6


def test_each_ended_attempt_is_observed_once_in_the_run_histogram(history: OrderTracker) -> None:
    catch_up(history)
    text = scrape(history)
    # 2 completed, the flaky one's 2 attempts, 1 cancelled while running.
    assert value(text, "async_rest_order_run_seconds_count", resource="regina") == 5


def test_a_rebuild_gives_the_same_scrape(history: OrderTracker) -> None:
    catch_up(history, batch=3)
    before = scrape(history)
    rebuild(history)
    assert scrape(history) == before


def test_the_projection_lag_is_the_events_not_yet_counted(history: OrderTracker) -> None:
    catch_up(history)
    run(history)  # four more events
    assert value(scrape(history), "async_rest_projection_lag_events", projection="metrics") == 4


def test_the_scrape_names_no_user_and_no_context(store_tracker: OrderTracker) -> None:
    order_id = store_tracker.place("regina", {"secret": "s3cr3t"}, owner="alice-id")
    store_tracker.start(order_id, "w")
    catch_up(store_tracker)
    text = scrape(store_tracker)
    assert ("s3cr3t" in text, "alice-id" in text) == (False, False)


@pytest.fixture
def scraper(db: None) -> APIClient:
    return APIClient()


def test_metrics_are_refused_without_a_token_or_staff(scraper: APIClient, tracker) -> None:
    assert scraper.get("/metrics").status_code == 401


def test_metrics_are_refused_to_a_user_who_is_not_staff(scraper: APIClient, tracker) -> None:
    scraper.force_authenticate(User.objects.create_user("alice"))
    assert scraper.get("/metrics").status_code == 403


def test_metrics_are_refused_with_the_wrong_token(scraper: APIClient, tracker, settings) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "METRICS_TOKEN": "right"}
    assert scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401


def test_metrics_are_served_to_staff(scraper: APIClient, tracker) -> None:
    scraper.force_authenticate(User.objects.create_user("sam", is_staff=True))
    answer = scraper.get("/metrics")
    assert (answer.status_code, answer["Content-Type"].split(";")[0]) == (200, "text/plain")


def test_metrics_are_served_to_the_scrape_token(
    scraper: APIClient, tracker: OrderTracker, settings
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "METRICS_TOKEN": "right"}
    tracker.place("regina", {}, owner=None)
    catch_up(tracker)
    answer = scraper.get("/metrics", HTTP_AUTHORIZATION="Bearer right")
    text = answer.content.decode()
    assert value(text, "async_rest_orders_placed_total", resource="regina") == 1


class DownThenUp:
    """A broker that is down until ``up`` is set."""

    def __init__(self) -> None:
        self.up = False

    def launch(self, task: object, order_id: UUID, dispatch_id: str) -> None:
        if not self.up:
            raise ConnectionError("broker down")


@pytest.fixture
def broker() -> Iterator[DownThenUp]:
    launcher = DownThenUp()
    dispatch.register("flaky", print, launcher=launcher)
    yield launcher
    dispatch.unregister("flaky")


@pytest.mark.django_db(transaction=True)
def test_the_supervision_loop_counts_the_orders_it_relayed_and_reaped(
    tracker: OrderTracker, broker: DownThenUp, settings
) -> None:
    settings.ASYNC_REST = {
        **settings.ASYNC_REST,
        "RELAY_AFTER": 0.1,
        "WORKER_LOST_AFTER": 0.1,
    }
    relayed = place_order("flaky", {}, owner=None)
    lost = place_order("flaky", {}, owner=None)
    broker.up = True
    time.sleep(0.2)
    supervise_once()  # relays both
    tracker.start(lost, "w")
    time.sleep(0.2)
    supervise_once()  # reaps the started one
    text = scrape(tracker)
    assert (tracker.get_order(relayed).dispatched, tracker.get_order(lost).status) == (
        True,
        "failed",
    )
    assert [
        value(text, f"async_rest_orders_{name}_total", resource="flaky")
        for name in ("relayed", "reaped")
    ] == [2, 1]


def test_every_metric_the_dashboard_plots_is_in_the_scrape(history: OrderTracker) -> None:
    catch_up(history)
    dashboard = json.loads((ROOT / "docs" / "grafana-async-rest.json").read_text())
    plotted = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"async_rest_[a-z_]+", target["expr"])
    }
    scraped = {s.name for f in text_string_to_metric_families(scrape(history)) for s in f.samples}
    assert plotted - scraped == set()


def test_a_bounded_pass_counts_part_of_the_log_and_the_next_goes_on(
    history: OrderTracker,
) -> None:
    first = catch_up(history, batch=5, max_events=10)
    rest = catch_up(history)
    assert (first, first + rest) == (10, history.last_position())
