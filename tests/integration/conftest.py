"""Fixtures for the queue integrations: a tracker on each real store, and a Redis for RQ."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from config.bootstrap import build_tracker
from orders.application.tracker import OrderTracker
from orders.infrastructure.runtime import set_tracker
from tests.e2e.stack import REDIS_DB
from tests.services import (
    REDIS_HOST,
    REDIS_PORT,
    fresh_postgres_database,
    require_postgres,
    require_redis,
)


@pytest.fixture(params=["sqlite", "postgres"])
def store_tracker(
    request: pytest.FixtureRequest, tmp_path: Path, transactional_db: None
) -> Iterator[OrderTracker]:
    """This process's tracker on a fresh SQLite file, then on a fresh PostgreSQL database."""
    with ExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite:///{tmp_path / 'events.sqlite3'}"
        else:
            require_postgres()
            url = stack.enter_context(fresh_postgres_database())
        tracker = build_tracker(url, create_table=True)
        set_tracker(tracker)
        yield tracker
        set_tracker(None)
        tracker.close()


@pytest.fixture
def rq_redis() -> Iterator[object]:
    """The tests' own Redis database (ASYNC_REST_TEST_REDIS_DB), empty before and after."""
    require_redis()
    from redis import Redis

    redis = Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB)
    redis.flushdb()
    yield redis
    redis.flushdb()
