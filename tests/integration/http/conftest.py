"""Fixtures for HTTP tests: clients for two users and staff, and test resources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from orders.application import dispatch
from orders.task_api import OrderHandle, order_task


class HeldLauncher:
    """Records launches without running them: the order stays queued."""

    def __init__(self) -> None:
        self.launched: list[UUID] = []

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        self.launched.append(order_id)


@pytest.fixture
def held() -> Iterator[HeldLauncher]:
    launcher = HeldLauncher()
    dispatch.register("held", print, launcher=launcher)
    yield launcher
    dispatch.unregister("held")


@pytest.fixture
def instant() -> Iterator[str]:
    """A resource whose task runs inline and completes (or fails, on request) at once."""

    def make(order: OrderHandle) -> str:
        if order.context.get("fail_with"):
            raise RuntimeError(order.context["fail_with"])
        return f"/things/{order.id}/"

    dispatch.register("instant", order_task(make))
    yield "instant"
    dispatch.unregister("instant")


def _client_for(username: str, staff: bool = False) -> APIClient:
    user = User.objects.create_user(username, is_staff=staff)
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def alice(db: None) -> APIClient:
    return _client_for("alice")


@pytest.fixture
def bob(db: None) -> APIClient:
    return _client_for("bob")


@pytest.fixture
def staff(db: None) -> APIClient:
    return _client_for("sam", staff=True)


@pytest.fixture
def anonymous(db: None) -> APIClient:
    return APIClient()


@pytest.fixture(autouse=True)
def _real_commits(transactional_db: None) -> None:
    """Real commits, so that tasks are launched as in production (on commit)."""
