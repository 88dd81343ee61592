"""Orders on RQ, run by RQ's own SimpleWorker in this process on a real Redis and real stores."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from rq import Queue, Retry, SimpleWorker
from rq.exceptions import AbandonedJobError
from rq.job import Job

from orders.application import dispatch
from orders.application.services import cancel_order, place_order
from orders.application.supervision import WORKER_LOST
from orders.application.tracker import OrderTracker
from orders.domain.order import Status
from orders.queues.rq import RQLauncher, job_failed
from tests.queues_app import jobs

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def queue(rq_redis: Any) -> Queue:
    return Queue("it-orders", connection=rq_redis)


@pytest.fixture
def resources(queue: Queue) -> Iterator[None]:
    dispatch.register("it-bake", jobs.bake, launcher=RQLauncher(queue))
    dispatch.register("it-flaky", jobs.flaky, launcher=RQLauncher(queue, retry=Retry(max=2)))
    dispatch.register("it-patient", jobs.patient, launcher=RQLauncher(queue, retry=Retry(max=1)))
    yield
    for name in ("it-bake", "it-flaky", "it-patient"):
        dispatch.unregister(name)


def work(queue: Queue) -> None:
    """Run every job on the queue, as `rq worker --burst` does, in this process."""
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def types(tracker: OrderTracker, order_id: UUID) -> list[str]:
    return [type(e).__name__ for e in tracker.order_events(order_id)]


def test_an_rq_job_runs_the_order_with_its_progress_to_completion(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-bake", {"steps": 4, "step_seconds": 0}, owner=None)
    work(queue)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.resource_url) == (Status.COMPLETED, f"/bakery/loaves/{order_id}/")
    assert types(store_tracker, order_id) == [
        "Queued", "Dispatched", "Started", *["Progressed"] * 4, "Completed",
    ]  # fmt: skip


def test_an_error_in_an_rq_job_fails_the_order_with_its_message_and_type(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-bake", {"fail_with": "No flour"}, owner=None)
    work(queue)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.message, order.error_type) == (
        Status.FAILED, "No flour", "OvenError",
    )  # fmt: skip


def test_an_error_rq_will_retry_is_recorded_as_retried_and_the_next_attempt_completes(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-flaky", {"fail_times": 1}, owner=None)
    work(queue)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.attempt) == (Status.COMPLETED, 2)
    assert types(store_tracker, order_id).count("Retried") == 1
    assert "Failed" not in types(store_tracker, order_id)


def test_the_error_of_the_last_attempt_rq_allows_fails_the_order(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-flaky", {"fail_times": 9}, owner=None)
    work(queue)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.attempt, order.message) == (
        Status.FAILED, 3, "attempt 3 burnt",
    )  # fmt: skip
    assert types(store_tracker, order_id).count("Retried") == 2


def test_order_retry_records_the_reason_and_rq_runs_the_job_again(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-patient", {}, owner=None)
    work(queue)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.attempt) == (Status.COMPLETED, 2)
    retried = [e for e in store_tracker.order_events(order_id) if type(e).__name__ == "Retried"]
    assert [e.reason for e in retried] == ["the oven is still cold"]


def test_order_retry_with_a_countdown_schedules_the_next_attempt_that_much_later(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-patient", {"countdown": 30}, owner=None)
    before = time.time()
    work(queue)  # the next attempt is not due yet: the burst ends with the order queued
    (job_id,) = queue.scheduled_job_registry.get_job_ids()
    due = queue.scheduled_job_registry.get_scheduled_time(job_id).timestamp()
    assert before + 29 <= due <= time.time() + 31
    assert store_tracker.get_order(order_id).status is Status.QUEUED


def test_a_queued_order_cancelled_before_rq_runs_it_never_starts(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id = place_order("it-bake", {}, owner=None)
    cancel_order(order_id, "changed my mind")
    work(queue)
    assert types(store_tracker, order_id) == ["Queued", "Dispatched", "Cancelled"]


def started_job(store_tracker: OrderTracker, queue: Queue, name: str) -> tuple[UUID, Job]:
    """An order whose job a worker started and then died running (nothing ended it)."""
    order_id = place_order(name, {}, owner=None)
    (job,) = queue.get_jobs()
    store_tracker.start(order_id, "gone:1", job.args[1])
    return order_id, job


def test_rqs_callback_for_an_abandoned_job_fails_its_order_as_worker_lost(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id, job = started_job(store_tracker, queue, "it-bake")
    job_failed(job, queue.connection, AbandonedJobError, AbandonedJobError(), None)
    order = store_tracker.get_order(order_id)
    assert (order.status, order.error_type) == (Status.FAILED, WORKER_LOST)
    assert "abandoned" in (order.message or "")


def test_rqs_callback_for_an_abandoned_job_with_retries_left_records_retried(
    store_tracker: OrderTracker, queue: Queue, resources: None
) -> None:
    order_id, job = started_job(store_tracker, queue, "it-flaky")
    job_failed(job, queue.connection, AbandonedJobError, AbandonedJobError(), None)
    assert store_tracker.get_order(order_id).status is Status.QUEUED
    assert types(store_tracker, order_id)[-1] == "Retried"


def test_the_order_worker_stops_listening_for_commands_at_once(rq_redis: Any) -> None:
    from config.rq_worker import OrderWorker

    worker = OrderWorker(["it-orders"], connection=rq_redis, name=f"it-stop-{time.time_ns()}")
    worker.subscribe()
    assert worker.pubsub is not None
    worker.pubsub.unsubscribe()  # RQ's own unsubscribe does this first
    time.sleep(0.5)  # the listening thread sees it and waits for a new subscription
    started = time.monotonic()
    worker.unsubscribe()
    assert time.monotonic() - started < 5
