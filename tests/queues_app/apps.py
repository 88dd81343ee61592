"""Registers the RQ resources when the tests give a Redis URL (ASYNC_REST_TEST_RQ_URL)."""

from __future__ import annotations

import os

from django.apps import AppConfig

# The main worker of a test module serves "orders"; a test that kills a worker starts its
# own on "doomed", so that no other worker takes its jobs.
QUEUES = ("orders", "doomed")


class QueuesAppConfig(AppConfig):
    name = "tests.queues_app"
    label = "queues_test"

    def ready(self) -> None:
        url = os.environ.get("ASYNC_REST_TEST_RQ_URL")
        if not url:
            return
        from redis import Redis
        from rq import Queue, Retry

        from orders.application.dispatch import register
        from orders.queues.rq import RQLauncher
        from tests.queues_app import jobs
        from tests.queues_app import tasks as _tasks  # noqa: F401  (their resources, for POSTs)

        redis = Redis.from_url(url)
        orders, doomed = (Queue(name, connection=redis) for name in QUEUES)
        register("rq-bake", jobs.bake, launcher=RQLauncher(orders))
        register("rq-flaky", jobs.flaky, launcher=RQLauncher(orders, retry=Retry(max=2)))
        register("rq-patient", jobs.patient, launcher=RQLauncher(orders, retry=Retry(max=1)))
        register("rq-doomed", jobs.bake, launcher=RQLauncher(doomed))
        register("rq-doomed-retry", jobs.bake, launcher=RQLauncher(doomed, retry=Retry(max=1)))
