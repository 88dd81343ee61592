"""Django's tasks framework for real: enqueue() in one process, a Celery worker runs the order.

The embedded stack (SQLite, file-system broker) with the test app's tasks; the client
polls the order's REST URL over HTTP, and another process reads the TaskResult back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import LiveStack, embedded_stack
from tests.e2e.test_rq_worker import follow

SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.queues_settings", "ASYNC_REST_PROGRESS_INTERVAL": "0"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with embedded_stack(tmp_path_factory.mktemp("tasks"), SETTINGS) as live:
        yield live.start()


def in_django(stack: LiveStack, code: str) -> Any:
    """Run ``code`` in a process of the stack's own; it prints one JSON value."""
    return json.loads(stack.manage("shell", "-c", code).strip().splitlines()[-1])


def enqueue(stack: LiveStack, call: str) -> str:
    result_id = in_django(
        stack,
        f"import json; from tests.queues_app import tasks; print(json.dumps(tasks.{call}.id))",
    )
    assert isinstance(result_id, str)
    return result_id


def result_of(stack: LiveStack, task: str, result_id: str) -> dict[str, Any]:
    summary = in_django(stack, (
        "import json; from tests.queues_app import tasks; "
        f"r = tasks.{task}.get_result({result_id!r}); "
        "print(json.dumps({'status': r.status, 'attempts': r.attempts, "
        "'value': r.return_value if r.status == 'SUCCESSFUL' else None, "
        "'errors': [e.exception_class_path for e in r.errors]}))"
    ))  # fmt: skip
    assert isinstance(summary, dict)
    return summary


def test_an_enqueued_task_runs_on_a_celery_worker_with_its_progress_at_its_rest_url(
    stack: LiveStack,
) -> None:
    result_id = enqueue(stack, "bake_bread.enqueue(8, step_seconds=0.1)")
    final, seen = follow(stack, f"/async/orders/{result_id}/")
    assert (final.status, final.body["resource_name"]) == (201, "bake_bread")
    assert final.headers["Location"] == f"{stack.base}/bakery/batches/{result_id}/"
    assert any(0 < p < 100 for p in seen)


def test_another_process_reads_the_completed_task_as_a_successful_result(
    stack: LiveStack,
) -> None:
    result_id = enqueue(stack, "bake_bread.enqueue(1, step_seconds=0)")
    follow(stack, f"/async/orders/{result_id}/")
    assert result_of(stack, "bake_bread", result_id) == {
        "status": "SUCCESSFUL", "attempts": 1,
        "value": f"/bakery/batches/{result_id}/", "errors": [],
    }  # fmt: skip


def test_a_task_that_raises_is_a_failed_order_and_a_failed_result_naming_its_error(
    stack: LiveStack,
) -> None:
    result_id = enqueue(stack, "burn_bread.enqueue('too hot')")
    final, _ = follow(stack, f"/async/orders/{result_id}/")
    assert (final.status, final.body["error"]["type"]) == (200, "OvenError")
    assert result_of(stack, "burn_bread", result_id) == {
        "status": "FAILED", "attempts": 1, "value": None,
        "errors": ["tests.queues_app.tasks.OvenError"],
    }  # fmt: skip
