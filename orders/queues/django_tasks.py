"""Django's tasks framework (DEP 14, the django-tasks backport) on async-rest: a task is an order.

::

    TASKS = {"default": {"BACKEND": "orders.queues.django_tasks.AsyncRestBackend"}}
    CELERY_IMPORTS = ["orders.queues.django_tasks"]  # the Celery task that runs them

``@task`` functions then become resources (named after the function, or
``@task(resource_name="imports")``) and ``.enqueue(*args, **kwargs)`` places an order
(context ``{"args": [...], "kwargs": {...}}``) with its whole event history, its progress
and its REST URL (:func:`order_url`); ``get_result(id)`` reads the order back as a
``TaskResult``. While it runs, the task reports through :func:`current_order`.

How the work runs, and why. ``enqueue`` goes through ``place_order``: ``Queued`` is
recorded, and the order is handed to the backend's launcher once the transaction commits,
so a task never runs on data that was rolled back. ``OPTIONS["LAUNCHER"]`` chooses it:
``"celery"`` (the default), ``"inline"`` (run at commit in the enqueuing process, like the
backport's ImmediateBackend: tests, scripts) or the dotted path of any
:class:`~orders.application.dispatch.Launcher` (``RQLauncher(queue)`` for RQ). Celery is the default
because the project's guarantees are built on its workers: late acknowledgement (a killed
worker's order resumes as attempt 2) and their supervision loop (the relay sends orders
placed while the broker was down, the reaper ends orders whose worker was lost). A worker
of our own would have had to rebuild all of that. Each task is registered as a resource
because the relay re-launches an order by its resource name.

Over HTTP, ``POST /async/<name>/order/`` could order such a task with arguments of the
caller's choosing: the backend signs the context it writes (``SECRET_KEY``) and a task runs
only an order whose signature matches, unless ``OPTIONS["EXPOSE"]`` is true.

A task's return value is the URL of what it made (a string) or None (completed, no URL):
the ``Completed`` event keeps a URL, nothing else. Its ``TaskResult.return_value`` is that URL.
"""

from __future__ import annotations

import builtins
import json
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar
from uuid import UUID

from celery import shared_task
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.module_loading import autodiscover_modules, import_string
from django_tasks import TaskContext, TaskResult, TaskResultStatus
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.base import Task, TaskError
from django_tasks.exceptions import InvalidTaskError, TaskResultDoesNotExist
from django_tasks.signals import task_enqueued, task_finished, task_started
from django_tasks.utils import normalize_json

from orders.application.dispatch import Launcher, UnknownResourceError, register, registration
from orders.application.services import place_order
from orders.application.tracker import OrderNotFoundError
from orders.domain.errors import CancelRequestedError
from orders.domain.order import Order, Status, event_fields, event_type
from orders.infrastructure.runtime import get_tracker
from orders.queues.celery import CeleryLauncher
from orders.queues.inline import InlineLauncher
from orders.task_api import OrderHandle, order_task

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

ORDER_URL_NAME = "api:order"  # the order's status URL in the project's API
_SIGNER = signing.Signer(salt="orders.queues.django_tasks")

# By value: without django-stubs, mypy reads a TextChoices member as its (value, label) tuple.
STATUS = {
    Status.QUEUED: TaskResultStatus("READY"),
    Status.RUNNING: TaskResultStatus("RUNNING"),
    Status.COMPLETED: TaskResultStatus("SUCCESSFUL"),
    Status.FAILED: TaskResultStatus("FAILED"),
    Status.CANCELLED: TaskResultStatus("FAILED"),
}

_current: ContextVar[OrderHandle | None] = ContextVar("async_rest_current_order", default=None)
_owner: ContextVar[str | None] = ContextVar("async_rest_task_owner", default=None)
_ran: ContextVar[list[bool] | None] = ContextVar("async_rest_task_ran", default=None)
# Resource name -> the task behind it, with the alias of the backend that runs it.
_tasks: dict[str, tuple[Task[Any, Any], str]] = {}
_discovered = False


class OrderFailedError(Exception):
    """Stands in a ``TaskError`` for an error whose class cannot be imported (``WorkerLost``)."""


class RetriedAttemptError(Exception):
    """Stands in a ``TaskError`` for an attempt that failed and was retried."""


class UnsignedOrderError(PermissionError):
    """An order placed over HTTP for a task that is not exposed (``OPTIONS["EXPOSE"]``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderTask(Task[P, T]):
    """A task that is also an async-rest resource: ``@task(resource_name="imports")``."""

    resource_name: str | None = None


def resource_name_of(task: Task[Any, Any]) -> str:
    return getattr(task, "resource_name", None) or task.name


def current_order() -> OrderHandle:
    """The order of the task running in this thread: ``current_order().progress(40, "...")``."""
    order = _current.get()
    if order is None:
        raise RuntimeError("current_order() works inside a task run by AsyncRestBackend")
    return order


@contextmanager
def on_behalf_of(user: Any) -> Iterator[None]:
    """Orders enqueued inside belong to ``user`` (a user or its pk): they see it over HTTP."""
    token = _owner.set(None if user is None else str(getattr(user, "pk", user)))
    try:
        yield
    finally:
        _owner.reset(token)


def order_url(result: TaskResult[Any] | str) -> str:
    """The path of the order behind a task result (``/async/orders/<uuid>/``)."""
    return reverse(ORDER_URL_NAME, args=[result if isinstance(result, str) else result.id])


def _make_launcher(choice: Any) -> Launcher:
    if choice in (None, "celery"):
        return CeleryLauncher()
    if choice == "inline":
        return InlineLauncher()
    found = import_string(choice) if isinstance(choice, str) else choice
    return found if hasattr(found, "launch") else found()


def _signature(resource_name: str, owner: str | None, args: Any, kwargs: Any) -> str:
    payload = json.dumps([resource_name, owner, args, kwargs], sort_keys=True)
    return _SIGNER.signature(payload)


def _check_storable(value: Any) -> None:
    """Refuse what the event store could not read back (the API refuses the same in a POST)."""
    if "\\u0000" in json.dumps(value, allow_nan=False):  # ValueError for NaN and infinities
        raise ValueError("task arguments must not contain NUL characters")
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if set(item) == {"_type_", "_data_"}:  # eventsourcing's own tagged values
                raise ValueError("task arguments must not hold {'_type_': ..., '_data_': ...}")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


class AsyncRestBackend(BaseTaskBackend):
    """Each enqueued task is an async-rest order (see the module's docstring)."""

    task_class = OrderTask
    supports_get_result = True
    # Deferring, priorities and coroutines are not offered: orders run as soon as a worker
    # is free, in the order they were sent, and progress is written synchronously.
    supports_defer = False
    supports_priority = False
    supports_async_task = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        self.launcher = _make_launcher(self.options.get("LAUNCHER"))
        self.exposed = bool(self.options.get("EXPOSE", False))
        # A Celery launcher sends a Celery task; RQ and inline ones take the plain function.
        celery = isinstance(self.launcher, CeleryLauncher)
        self.runner: Any = run_task_on_celery if celery else run_task
        # A backend built anew (its settings changed) takes over the tasks already defined.
        for name, (_task, backend_alias) in list(_tasks.items()):
            if backend_alias == self.alias:
                register(name, self.runner, launcher=self.launcher)

    def validate_task(self, task: Task[Any, Any]) -> None:
        super().validate_task(task)
        self._bind(task)

    def _bind(self, task: Task[Any, Any]) -> str:
        """Make the task a resource, so that the relay (and an exposed POST) can launch it."""
        name = resource_name_of(task)
        known = _tasks.get(name)
        if known is not None and known[0].module_path != task.module_path:
            raise InvalidTaskError(
                f"resource name {name!r} is already the task {known[0].module_path}: "
                "give one of them @task(resource_name=...)"
            )
        if known is None and _registered_elsewhere(name):
            raise InvalidTaskError(
                f"resource name {name!r} is already registered for another task: "
                "give this one @task(resource_name=...)"
            )
        _tasks[name] = (task, self.alias)
        register(name, self.runner, launcher=self.launcher)
        return name

    def enqueue(self, task: Task[P, T], args: P.args, kwargs: P.kwargs) -> TaskResult[T]:  # type: ignore[valid-type]
        self.validate_task(task)  # binds it too
        name = resource_name_of(task)
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        _check_storable([args, kwargs])
        owner = _owner.get()
        context = {"args": args, "kwargs": kwargs}
        context["signature"] = _signature(name, owner, args, kwargs)
        order_id = place_order(name, context, owner)
        result = self.result_of(get_tracker().get_order(order_id), task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def get_result(self, result_id: str) -> TaskResult[Any]:
        try:
            order = get_tracker().get_order(UUID(str(result_id)))
        except (ValueError, OrderNotFoundError):
            raise TaskResultDoesNotExist(result_id) from None
        found = task_named(order.resource_name)
        if found is None or found[1] != self.alias:
            raise TaskResultDoesNotExist(f"{result_id} is not a task of backend {self.alias!r}")
        return self.result_of(order, found[0])

    def result_of(self, order: Order, task: Task[Any, T]) -> TaskResult[T]:
        """The order as the tasks framework sees it, read from its events."""
        started: list[tuple[Any, str]] = []
        errors: list[TaskError] = []
        for domain_event in get_tracker().order_events(order.id):
            kind, fields = event_type(domain_event), event_fields(domain_event)
            if kind == "Started":
                started.append((domain_event.timestamp, fields["worker"]))
            elif kind == "Retried":
                errors.append(TaskError(exception_class_path=_path(RetriedAttemptError),
                                        traceback=fields["reason"]))  # fmt: skip
            elif kind == "Failed":
                errors.append(_task_error(fields))
            elif kind == "Cancelled":
                errors.append(TaskError(exception_class_path=_path(CancelRequestedError),
                                        traceback=fields["reason"] or "Cancelled"))  # fmt: skip
        context = order.context
        result: TaskResult[T] = TaskResult(
            task=task,
            id=str(order.id),
            status=STATUS[order.status],
            enqueued_at=order.created_on,
            started_at=started[0][0] if started else None,
            last_attempted_at=started[-1][0] if started else None,
            finished_at=order.modified_on if order.is_terminal else None,
            args=list(context.get("args") or []),
            kwargs=dict(context.get("kwargs") or {}),
            backend=self.alias,
            errors=errors,
            worker_ids=[worker for _, worker in started],
        )
        if order.status is Status.COMPLETED:
            object.__setattr__(result, "_return_value", order.resource_url or None)
        return result


def _registered_elsewhere(name: str) -> bool:
    try:
        task = registration(name).task
    except UnknownResourceError:
        return False
    return task not in (run_task, run_task_on_celery)


def _path(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _task_error(fields: dict[str, Any]) -> TaskError:
    """A ``Failed`` event as a ``TaskError``; the class's module is read from the traceback."""
    name, text = fields.get("error_type") or "", fields.get("traceback") or ""
    path = _path(OrderFailedError)
    if "." in name:
        path = name
    elif name:
        # format_exception's last line for the error: "<module>.<Name>: message".
        modules = re.findall(rf"^((?:\w+\.)*){re.escape(name)}(?::|$)", text, re.MULTILINE)
        if modules and modules[-1]:
            path = modules[-1] + name
        elif isinstance(getattr(builtins, name, None), type):
            path = f"builtins.{name}"
    return TaskError(exception_class_path=path, traceback=text or f"{name}: {fields['message']}")


def task_named(resource_name: str) -> tuple[Task[Any, Any], str] | None:
    """The task behind a resource name; the apps' ``tasks`` modules are imported once if needed."""
    global _discovered
    if resource_name not in _tasks and not _discovered:
        _discovered = True
        autodiscover_modules("tasks")
    return _tasks.get(resource_name)


def _backend_of(alias: str) -> AsyncRestBackend:
    from django_tasks import task_backends

    backend = task_backends[alias]
    assert isinstance(backend, AsyncRestBackend), backend
    return backend


@order_task
def _run_order(order: OrderHandle) -> str | None:
    state = order.state
    found = task_named(state.resource_name)
    if found is None:
        raise LookupError(f"no task of the tasks framework is named {state.resource_name!r}")
    task, alias = found
    backend = _backend_of(alias)
    context = state.context
    args, kwargs = context.get("args", []), context.get("kwargs", {})
    signature = _signature(state.resource_name, state.owner, args, kwargs)
    if not backend.exposed and not constant_time_compare(context.get("signature", ""), signature):
        raise UnsignedOrderError(f"{state.resource_name} runs only orders placed by enqueue()")
    result = backend.result_of(state, task)
    task_started.send(type(backend), task_result=result)
    ran = _ran.get()
    if ran is not None:
        ran.append(True)
    token = _current.set(order)
    try:
        if task.takes_context:
            value = task.call(TaskContext(task_result=result), *args, **kwargs)
        else:
            value = task.call(*args, **kwargs)
    finally:
        _current.reset(token)
    if order.state.is_terminal:
        return None  # the task completed (or failed) the order itself
    if value is None or value == "":
        order.complete(resource_url="")
        return None
    if isinstance(value, str):
        return value
    raise TypeError(
        f"{task.module_path} returned a {type(value).__name__}: on async-rest a task returns "
        "the URL of what it made (a string) or None"
    )


def run_task(order_id: str, dispatch_id: str | None = None) -> None:
    """What every launcher runs: the order's task, then ``task_finished`` if it ran here."""
    ran: list[bool] = []
    token = _ran.set(ran)
    try:
        _run_order(order_id, dispatch_id)
    finally:
        _ran.reset(token)
        if ran:
            _send_finished(order_id)


def _send_finished(order_id: str) -> None:
    try:
        order = get_tracker().get_order(UUID(order_id))
        found = task_named(order.resource_name)
        if order.is_terminal and found is not None:
            backend = _backend_of(found[1])
            task_finished.send(type(backend), task_result=backend.result_of(order, found[0]))
    except Exception:  # a receiver's error must not hide the task's own
        log.exception("task_finished for order %s could not be sent", order_id)


run_task_on_celery = shared_task(name="async_rest.tasks_framework", ignore_result=True)(run_task)
