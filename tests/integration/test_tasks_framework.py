"""Django's tasks framework on AsyncRestBackend: enqueued tasks are orders, read back as results."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django_tasks import TaskResultStatus, task, task_backends
from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued, task_finished, task_started
from rest_framework.test import APIClient
from rq import Queue, SimpleWorker

from orders.application.services import cancel_order
from orders.application.tracker import OrderTracker
from orders.domain.errors import CancelRequestedError
from orders.domain.order import Status
from orders.queues.django_tasks import current_order, on_behalf_of, order_url
from orders.queues.rq import RQLauncher
from tests.queues_app import tasks

pytestmark = pytest.mark.django_db(transaction=True)

BACKEND = "orders.queues.django_tasks.AsyncRestBackend"


class HeldLauncher:
    """A queue that keeps what it is sent: the orders stay queued."""

    def __init__(self) -> None:
        self.sent: list[UUID] = []

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        self.sent.append(order_id)


@contextmanager
def backend_options(**options: Any) -> Iterator[None]:
    """The backend with these options, built at once: it takes over the tasks defined so far
    (their resources launched with its launcher, never the Celery one of the settings)."""
    with override_settings(TASKS={"default": {"BACKEND": BACKEND, "OPTIONS": options}}):
        task_backends["default"]
        yield


@pytest.fixture
def inline() -> Iterator[None]:
    with backend_options(LAUNCHER="inline"):
        yield


@pytest.fixture
def held() -> Iterator[HeldLauncher]:
    launcher = HeldLauncher()
    with backend_options(LAUNCHER=launcher):
        yield launcher


def test_an_enqueued_task_is_an_order_named_after_it_with_its_progress(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.bake_bread.enqueue(4, step_seconds=0)
    order = store_tracker.get_order(UUID(result.id))
    assert (order.resource_name, order.status) == ("bake_bread", Status.COMPLETED)
    assert {k: order.context[k] for k in ("args", "kwargs")} == {
        "args": [4], "kwargs": {"step_seconds": 0},
    }  # fmt: skip
    progress = [e.percent for e in store_tracker.order_events(order.id) if hasattr(e, "percent")]
    assert progress == [25, 50, 75, 100]


def test_the_enqueued_tasks_order_answers_at_its_rest_url_with_what_it_made(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.bake_bread.enqueue(2, step_seconds=0)
    answer = APIClient().get(order_url(result))
    assert (answer.status_code, answer["Location"]) == (
        201, f"http://testserver/bakery/batches/{result.id}/",
    )  # fmt: skip


def test_a_completed_order_is_a_successful_result_returning_its_url(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.bake_bread.get_result(tasks.bake_bread.enqueue(1, step_seconds=0).id)
    assert (result.status, result.return_value) == (
        TaskResultStatus.SUCCESSFUL, f"/bakery/batches/{result.id}/",
    )  # fmt: skip
    assert result.enqueued_at and result.started_at and result.finished_at
    assert (result.attempts, result.args, result.errors) == (1, [1], [])


def test_a_failed_order_is_a_failed_result_whose_error_names_the_exception_class(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.burn_bread.get_result(tasks.burn_bread.enqueue("too hot").id)
    assert result.status == TaskResultStatus.FAILED
    (error,) = result.errors
    assert error.exception_class is tasks.OvenError
    assert "too hot" in error.traceback


def test_a_task_may_be_given_its_own_resource_name(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.burn_bread.enqueue("too hot")
    assert store_tracker.get_order(UUID(result.id)).resource_name == "burnt-bread"


def test_a_queued_order_is_a_ready_result(store_tracker: OrderTracker, held: HeldLauncher) -> None:
    result = tasks.bake_bread.enqueue(1)
    assert result.status == TaskResultStatus.READY
    assert held.sent == [UUID(result.id)]


def test_a_started_order_is_a_running_result(
    store_tracker: OrderTracker, held: HeldLauncher
) -> None:
    result = tasks.bake_bread.enqueue(1)
    store_tracker.start(UUID(result.id), "here:1")
    refreshed = tasks.bake_bread.get_result(result.id)
    assert (refreshed.status, refreshed.worker_ids) == (TaskResultStatus.RUNNING, ["here:1"])


def test_a_cancelled_order_is_a_failed_result_saying_it_was_cancelled(
    store_tracker: OrderTracker, held: HeldLauncher
) -> None:
    result = tasks.bake_bread.enqueue(1)
    cancel_order(UUID(result.id), "no more bread")
    refreshed = tasks.bake_bread.get_result(result.id)
    assert refreshed.status == TaskResultStatus.FAILED
    assert [(e.exception_class, e.traceback) for e in refreshed.errors] == [
        (CancelRequestedError, "no more bread"),
    ]


def test_a_task_returning_none_completes_its_order_without_a_url(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.sweep_floor.get_result(tasks.sweep_floor.enqueue().id)
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, None)
    assert "Location" not in APIClient().get(order_url(result))


def test_a_task_returning_something_else_than_a_url_fails_saying_so(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.weigh_flour.enqueue()
    order = store_tracker.get_order(UUID(result.id))
    assert (order.status, order.error_type) == (Status.FAILED, "TypeError")
    assert "returned a int" in (order.message or "")


def test_a_task_taking_the_context_sees_its_attempt(
    store_tracker: OrderTracker, inline: None
) -> None:
    result = tasks.count_attempts.get_result(tasks.count_attempts.enqueue().id)
    assert result.return_value == "/attempts/1/"


def test_an_id_that_is_no_order_of_a_task_has_no_result(
    store_tracker: OrderTracker, inline: None
) -> None:
    other = store_tracker.place("regina", {}, owner=None)
    for result_id in ("not-a-uuid", "6d1b3a1c-0f59-4b7e-9a34-6a3b1d1f8c2e", str(other)):
        with pytest.raises(TaskResultDoesNotExist):
            tasks.bake_bread.get_backend().get_result(result_id)


def test_ordering_a_task_over_http_does_not_run_it_unless_it_is_exposed(
    store_tracker: OrderTracker, inline: None
) -> None:
    placed = APIClient().post("/async/bake_bread/order/", {"context": {"args": [1]}}, format="json")
    order = store_tracker.get_order(UUID(placed.json()["uuid"]))
    assert (order.status, order.error_type) == (Status.FAILED, "UnsignedOrderError")


def test_an_exposed_task_can_be_ordered_over_http(store_tracker: OrderTracker) -> None:
    with backend_options(LAUNCHER="inline", EXPOSE=True):
        placed = APIClient().post(
            "/async/bake_bread/order/", {"context": {"args": [1, 0]}}, format="json"
        )
    order = store_tracker.get_order(UUID(placed.json()["uuid"]))
    assert (order.status, order.resource_url) == (
        Status.COMPLETED, f"/bakery/batches/{order.id}/",
    )  # fmt: skip


def test_arguments_the_event_store_could_not_read_back_are_refused_before_anything_is_written(
    store_tracker: OrderTracker, inline: None
) -> None:
    with pytest.raises(ValueError):
        tasks.bake_bread.enqueue(1, step_seconds=math.nan)
    assert list(store_tracker.recorder.select_notifications(1, 10)) == []


def sweep_floor() -> None:
    """Another module's function with the name of a task: they cannot share a resource."""


def test_two_tasks_cannot_share_a_resource_name(inline: None) -> None:
    with pytest.raises(InvalidTaskError, match="sweep_floor"):
        task(sweep_floor)


def regina() -> None:
    """Named like the pizzeria's Celery resource."""


def test_a_task_cannot_take_the_name_of_a_resource_registered_for_another_task(
    inline: None,
) -> None:
    with pytest.raises(InvalidTaskError, match="regina"):
        task(regina)


def test_orders_enqueued_on_behalf_of_a_user_are_theirs(
    store_tracker: OrderTracker, inline: None
) -> None:
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    with on_behalf_of(alice):
        result = tasks.sweep_floor.enqueue()
    seen = {}
    for user in (alice, bob):
        client = APIClient()
        client.force_authenticate(user)
        seen[user.username] = client.get(order_url(result)).status_code
    assert seen == {"alice": 201, "bob": 404}


def test_the_frameworks_signals_are_sent_as_the_order_moves(
    store_tracker: OrderTracker, inline: None
) -> None:
    seen: list[tuple[str, str]] = []

    def record(name: str) -> Any:
        return lambda sender, task_result, **_: seen.append((name, task_result.status))

    receivers = {"enqueued": record("enqueued"), "started": record("started")}
    receivers["finished"] = record("finished")
    task_enqueued.connect(receivers["enqueued"])
    task_started.connect(receivers["started"])
    task_finished.connect(receivers["finished"])
    try:
        tasks.sweep_floor.enqueue()
    finally:
        task_enqueued.disconnect(receivers["enqueued"])
        task_started.disconnect(receivers["started"])
        task_finished.disconnect(receivers["finished"])
    # Inline, the task runs at commit, inside enqueue(): started and finished come first.
    assert seen == [("started", "RUNNING"), ("finished", "SUCCESSFUL"), ("enqueued", "SUCCESSFUL")]


def test_current_order_outside_a_task_says_where_it_works() -> None:
    with pytest.raises(RuntimeError, match="inside a task"):
        current_order()


@pytest.mark.services
def test_the_backend_can_hand_its_orders_to_rq(store_tracker: OrderTracker, rq_redis: Any) -> None:
    queue = Queue("it-tasks", connection=rq_redis)
    with backend_options(LAUNCHER=RQLauncher(queue)):
        result = tasks.bake_bread.enqueue(2, step_seconds=0)
        SimpleWorker([queue], connection=rq_redis).work(burst=True)
        refreshed = tasks.bake_bread.get_result(result.id)
    assert (refreshed.status, refreshed.return_value) == (
        TaskResultStatus.SUCCESSFUL, f"/bakery/batches/{result.id}/",
    )  # fmt: skip
