"""What the order's rules refuse, and the cancel request a task receives."""

from __future__ import annotations


class OrderError(Exception):
    """A command that the order's rules refuse; nothing is written."""


class OrderClosedError(OrderError):
    """The order has ended (completed, failed or cancelled): nothing more is appended."""


class InvalidTransitionError(OrderError):
    """The command is not allowed in the order's current status."""


class InvalidProgressError(OrderError):
    """Progress outside 0..100, or going backwards within an attempt."""


class DuplicateDeliveryError(OrderError):
    """Another message already started this order: this one must not run the task."""


class CallbackNotOwedError(OrderError):
    """A delivery recorded for an event that is owed none (no callback, or not that event)."""


class CancelRequestedError(BaseException):
    """Raised in a task at its next progress report once a cancel was asked for.

    A ``BaseException``, like ``asyncio.CancelledError``, so that a task's own
    ``except Exception`` does not swallow it; the task helpers catch it and end the
    order ``cancelled``.
    """
