"""Binds resource names to tasks and launches them through a small Launcher interface."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from orders.domain.callbacks import DEFAULT_KINDS, check_callback
from orders.queues.celery import CeleryLauncher, is_celery_task
from orders.queues.inline import InlineLauncher


class UnknownResourceError(LookupError):
    """No task is registered under this resource name."""


class Launcher(Protocol):
    """Starts the work for one order somewhere (a queue, a thread, inline).

    ``dispatch_id`` names this sending: the task gets it back, so that a message sent
    twice for one order (a relay that re-sent it) runs only once.
    """

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None: ...


@dataclass(frozen=True)
class Registration:
    resource_name: str
    task: Any
    launcher: Launcher
    # The callback of an order placed without one: {"url": ..., "events": [...]}.
    callback: dict[str, Any] | None = None
    # Seconds without an event after which a running order of this resource is "stalled"
    # (None: the settings' default; ``ASYNC_REST_STALL_AFTER_BY_RESOURCE`` overrides both).
    stall_after: float | None = None


_registry: dict[str, Registration] = {}


def default_launcher(task: Any) -> Launcher:
    """Celery for a Celery task, else the task runs inline; other queues pass ``launcher=``."""
    return CeleryLauncher() if is_celery_task(task) else InlineLauncher()


def register(
    resource_name: str,
    task: Callable[..., Any],
    launcher: Launcher | None = None,
    callback: dict[str, Any] | None = None,
    *,
    stall_after: float | None = None,
) -> None:
    """Bind ``resource_name`` to ``task``: ``POST /async/<resource_name>/order/`` runs it.

    ``callback`` (``{"url": ..., "events": [...]}``) is the default of orders placed
    without one of their own. ``stall_after``: the longest silence (seconds between two
    events) expected of a running order of this resource; past it, the status says
    ``stalled``.
    """
    if not resource_name or "/" in resource_name:
        raise ValueError(f"invalid resource name {resource_name!r}")
    if stall_after is not None and stall_after <= 0:
        raise ValueError(f"stall_after must be positive, not {stall_after!r}")
    if callback is not None:
        callback = {"url": callback["url"], "events": list(callback.get("events", DEFAULT_KINDS))}
        check_callback(callback["url"], callback["events"])
    _registry[resource_name] = Registration(
        resource_name,
        task,
        launcher or default_launcher(task),
        callback=callback,
        stall_after=stall_after,
    )


def unregister(resource_name: str) -> None:
    _registry.pop(resource_name, None)


def registration(resource_name: str) -> Registration:
    try:
        return _registry[resource_name]
    except KeyError:
        raise UnknownResourceError(resource_name) from None


def launch(resource_name: str, order_id: UUID, dispatch_id: str) -> None:
    reg = registration(resource_name)
    reg.launcher.launch(reg.task, order_id, dispatch_id)
