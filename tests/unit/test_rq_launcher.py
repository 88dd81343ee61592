"""The RQ launcher's checks and its retry arithmetic, without a Redis (no I/O)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from redis import Redis
from rq import Queue, Retry
from rq.job import Job

from orders.queues.rq import RQLauncher, _next_interval
from orders.task_api import OrderHandle, order_task
from tests.queues_app import jobs

# Nothing listens on port 1: a test that reached Redis would fail.
OFFLINE = Redis(port=1)


def test_a_task_rq_could_not_import_back_is_refused_before_anything_is_sent() -> None:
    def body(order: OrderHandle) -> str:
        return "/x/"

    with pytest.raises(TypeError, match="@order_task"):
        RQLauncher(Queue("q", connection=OFFLINE)).launch(order_task(body), uuid4(), "d1")


def shape(order: OrderHandle) -> str:
    """A module-level body, registered wrapped while the module keeps it undecorated."""
    return "/loaves/1/"


def test_a_wrapper_whose_path_leads_to_the_undecorated_body_is_refused() -> None:
    # RQ would import tests.unit.test_rq_launcher.shape and call the body with an order id.
    with pytest.raises(TypeError, match="does not lead to this task"):
        RQLauncher(Queue("q", connection=OFFLINE)).launch(order_task(shape), uuid4(), "d1")


def job_with(retry: Retry) -> Job:
    return Job.create(jobs.bake, args=("o", "d"), connection=OFFLINE, retry=retry)


def test_a_countdown_sets_the_wait_before_the_next_attempt() -> None:
    job = job_with(Retry(max=3, interval=[1, 5, 30]))
    _next_interval(job, 12.5)
    assert job.get_retry_interval() == 13


def intervals_after_this_retry(job: Job) -> list[int]:
    """The waits RQ will pick for the attempts after the next one (retries_left 2, then 1)."""
    waits = []
    for left in (2, 1):
        job.retries_left = left
        waits.append(job.get_retry_interval())
    return waits


def test_a_countdown_leaves_the_later_attempts_intervals_as_they_were() -> None:
    job = job_with(Retry(max=3, interval=[1, 5, 30]))
    _next_interval(job, 12)
    assert intervals_after_this_retry(job) == [5, 30]
