"""On PostgreSQL, workers counting the metrics at once count each event exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.services import ROOT, fresh_postgres_database, require_postgres

pytestmark = pytest.mark.services

PLACE = """
from orders.infrastructure.runtime import get_tracker
t = get_tracker()
for i in range(60):
    o = t.place("regina", {}, None); t.start(o, "w"); t.progress(o, 50); t.complete(o, "/x/")
"""


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database for Django and the event store, migrated, 240 events in it."""
    require_postgres()
    with fresh_postgres_database() as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "EVENTSTORE_URL": url,
            "ASYNC_REST_VAR_DIR": str(tmp_path),
        }
        manage(env, "migrate", "-v0")
        manage(env, "shell", "-c", PLACE)
        yield env


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_three_processes_counting_at_once_count_each_event_once(env: dict[str, str]) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "metrics", "catchup", "--batch", "7"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    counted = {
        sample.labels["type"]: sample.value
        for family in text_string_to_metric_families(manage(env, "metrics", "show"))
        for sample in family.samples
        if sample.name == "async_rest_events_total"
    }
    assert counted == {"Queued": 60, "Started": 60, "Progressed": 60, "Completed": 60}
