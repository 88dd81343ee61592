"""Migration 0004_status_timing fills started_at of existing rows from their own history."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("projections", "0003_archive_lease")]
AFTER = [("projections", "0004_status_timing")]
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def back_to_latest() -> Iterator[None]:
    """Every later test expects the schema of the newest migrations: migrate forward again."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_a_row_projected_before_the_migration_gets_its_last_start_from_its_history() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    apps = executor.loader.project_state(BEFORE).apps
    summary, event = (
        apps.get_model("projections", "OrderSummary"),
        apps.get_model("projections", "OrderEvent"),
    )
    order_id = uuid4()
    summary.objects.create(
        order_id=order_id, resource_name="regina", status="running", attempt=2,
        created=T0, updated=T0 + timedelta(seconds=9), version=4,
    )  # fmt: skip
    for version, kind, seconds in [(1, "Queued", 0), (2, "Started", 1), (3, "Retried", 5),
                                   (4, "Started", 8)]:  # fmt: skip
        event.objects.create(
            order_id=order_id, version=version, type=kind,
            timestamp=T0 + timedelta(seconds=seconds), data={},
        )  # fmt: skip
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    migrated = executor.loader.project_state(AFTER).apps.get_model("projections", "OrderSummary")
    assert migrated.objects.get(order_id=order_id).started_at == T0 + timedelta(seconds=8)
