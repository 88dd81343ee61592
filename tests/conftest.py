"""Shared fixtures: a fresh event store per test, and tasks that tests register."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from config.bootstrap import build_tracker
from orders.application.tracker import OrderTracker
from orders.infrastructure.runtime import set_tracker


@pytest.fixture
def memory_tracker() -> Iterator[OrderTracker]:
    """An in-memory tracker with no listeners, installed as this process's tracker."""
    tracker = OrderTracker(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    set_tracker(tracker)
    yield tracker
    set_tracker(None)


@pytest.fixture
def tracker(tmp_path: Path, db: None) -> Iterator[OrderTracker]:
    """A tracker on a fresh SQLite event store, projecting into the test database."""
    tracker = build_tracker(f"sqlite:///{tmp_path / 'events.sqlite3'}", create_table=True)
    set_tracker(tracker)
    yield tracker
    set_tracker(None)
    tracker.close()


@pytest.fixture(autouse=True)
def progress_saved_when_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each progress report is saved in the call, in tests run in this process.

    Batching saves from a timer thread, which a test's database transaction does not
    cover; tests/unit/test_progress_batch.py turns it on, and workers started as real
    processes (tests/e2e) run with the default window.
    """
    from django.conf import settings

    monkeypatch.setitem(settings.ASYNC_REST, "PROGRESS_BATCH_WINDOW", 0)
