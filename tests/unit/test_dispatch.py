"""Binding resource names to tasks and launching them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID, uuid4

import pytest

from orders.application import dispatch


@pytest.fixture
def name() -> Iterator[str]:
    yield "unit-test-resource"
    dispatch.unregister("unit-test-resource")


class FakeCeleryTask:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def apply_async(self, **kwargs: Any) -> None:
        self.sent.append(kwargs)


def test_an_unknown_name_is_refused() -> None:
    with pytest.raises(dispatch.UnknownResourceError):
        dispatch.registration("no-such-resource")


def test_a_celery_task_is_sent_with_the_order_id(name: str) -> None:
    task = FakeCeleryTask()
    dispatch.register(name, task)  # type: ignore[arg-type]
    order_id = uuid4()
    dispatch.launch(name, order_id, "d1")
    assert task.sent == [{"args": [str(order_id), "d1"]}]


def test_a_plain_callable_runs_inline(name: str) -> None:
    calls: list[tuple[str, str]] = []
    dispatch.register(name, lambda order_id, dispatch_id: calls.append((order_id, dispatch_id)))
    order_id = uuid4()
    dispatch.launch(name, order_id, "d1")
    assert calls == [(str(order_id), "d1")]


def test_a_custom_launcher_is_used_instead(name: str) -> None:
    launched: list[UUID] = []

    class RecordingLauncher:
        def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
            launched.append(order_id)

    dispatch.register(name, print, launcher=RecordingLauncher())
    order_id = uuid4()
    dispatch.launch(name, order_id, "d1")
    assert launched == [order_id]


@pytest.mark.parametrize("bad", ["", "a/b"])
def test_a_name_that_cannot_be_a_url_segment_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        dispatch.register(bad, print)
