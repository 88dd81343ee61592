"""A failed order's error as the tasks framework names it: an importable exception class."""

from __future__ import annotations

import traceback

from orders.queues.django_tasks import OrderFailedError, _task_error
from tests.queues_app.tasks import OvenError


def failed_fields(exc: BaseException) -> dict[str, str]:
    """What the task helpers record in ``Failed`` for an error raised by a task."""
    text = "".join(traceback.format_exception(exc))
    return {"message": str(exc), "error_type": type(exc).__name__, "traceback": text}


def raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_an_error_of_the_projects_own_is_named_by_its_module_path() -> None:
    error = _task_error(failed_fields(raised(OvenError("too hot\nand smoky"))))
    assert error.exception_class is OvenError


def test_a_builtin_error_is_named_in_builtins() -> None:
    assert _task_error(failed_fields(raised(TypeError("no")))).exception_class is TypeError


def test_an_error_raised_while_handling_another_is_named_after_the_last_one() -> None:
    try:
        try:
            raise KeyError("first")
        except KeyError:
            raise OvenError("second")  # noqa: B904 (chained: both appear in the traceback)
    except OvenError as exc:
        chained = exc
    assert _task_error(failed_fields(chained)).exception_class is OvenError


def test_a_failure_without_a_class_to_import_is_an_order_failed_error_saying_why() -> None:
    fields = {"message": "Worker lost: no sign of life", "error_type": "WorkerLost"}
    error = _task_error({**fields, "traceback": ""})
    assert (error.exception_class, error.traceback) == (
        OrderFailedError, "WorkerLost: Worker lost: no sign of life",
    )  # fmt: skip
