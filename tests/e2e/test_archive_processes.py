"""Archive commands as real processes: killed with SIGKILL midway, and verified with no database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from orders.application.archive import as_archived, decode, stored_rows
from orders.application.archive_file import (
    ArchiveWriter,
    Member,
    read_members,
    whole_batches,
)
from orders.application.tracker import OrderTracker
from tests.services import ROOT, fresh_postgres_database, require_postgres

pytestmark = pytest.mark.services

ORDERS = 240
EVENTS_EACH = 3  # Queued, Started, Completed

PLACE = f"""
import json
from orders.infrastructure.runtime import get_tracker
t = get_tracker()
ids = []
for n in range({ORDERS}):
    i = t.place("regina", {{"n": n}}, owner=None)
    t.start(i, "oven")
    t.complete(i, "/pizzas/%d/" % n)
    ids.append(str(i))
running = t.place("regina", {{}}, owner=None)  # the newest row: kept on SQLite
t.start(running, "oven")
print(json.dumps(ids))
"""

STATE = """
import json, sys
from uuid import UUID
from orders.infrastructure.runtime import get_tracker
from orders.infrastructure.streams import StreamTable
from projections.models import OrderEvent, OrderSummary
ids = [UUID(i) for i in json.load(open(sys.argv[-1]))]
streams = StreamTable(get_tracker()).rows(ids)
summaries = set(OrderSummary.objects.filter(order_id__in=ids).values_list("order_id", flat=True))
history = {}
for order_id in OrderEvent.objects.filter(order_id__in=ids).values_list("order_id", flat=True):
    history[order_id] = history.get(order_id, 0) + 1
print(json.dumps({str(i): [len(streams.get(i, [])), i in summaries, history.get(i, 0)]
                  for i in ids}))
"""


class Site:
    """manage.py in subprocesses on databases of the test's own."""

    def __init__(self, var_dir: Path, env: dict[str, str]) -> None:
        self.env = {**os.environ, "ASYNC_REST_VAR_DIR": str(var_dir), **env}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.var_dir = var_dir

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "manage.py", *args]

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            self.command(*args), cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr}"
        return done.stdout

    def state(self, ids_file: Path) -> dict[str, list[Any]]:
        script = self.var_dir / "state.py"
        script.write_text(STATE)
        out = subprocess.run(
            [sys.executable, "-c", _django_script(script), str(ids_file)], cwd=ROOT,
            env=self.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _django_script(path: Path) -> str:
    return (
        "import os, django; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings');"
        f" django.setup(); exec(open({str(path)!r}).read())"
    )


@pytest.fixture(params=["sqlite", "postgres"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    with ExitStack() as stack:
        env: dict[str, str] = {}
        if request.param == "postgres":
            require_postgres()
            url = stack.enter_context(fresh_postgres_database())
            env = {"DATABASE_URL": url, "EVENTSTORE_URL": url}
        site = Site(tmp_path, env)
        site.manage("migrate", "--noinput")
        yield site


def complete_members(path: Path) -> int:
    try:
        return sum(isinstance(m, Member) for m in read_members(path))
    except FileNotFoundError:
        return 0


def test_an_archive_killed_midway_leaves_no_order_half_removed_and_a_rerun_finishes(
    site: Site, tmp_path: Path
) -> None:
    ids_file = tmp_path / "ids.json"
    script = tmp_path / "place.py"
    script.write_text(PLACE)
    placed = subprocess.run(
        [sys.executable, "-c", _django_script(script)], cwd=ROOT, env=site.env,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert placed.returncode == 0, placed.stderr
    ids_file.write_text(placed.stdout.strip().splitlines()[-1])
    archive = tmp_path / "orders.jsonl.gz"
    before = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    args = ("orders", "archive", "--ended-before", before, "--to", str(archive), "--batch", "3")

    # The first run: killed once a few batches are durable, long before the hundredth.
    proc = subprocess.Popen(
        site.command(*args), cwd=ROOT, env=site.env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while complete_members(archive) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the archive run ended before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    state = site.state(ids_file)
    in_archive = {str(o.order_id) for batch in whole_batches(archive) for o in batch}
    gone = {i for i, (events, _, _) in state.items() if events == 0}
    # No order half removed: all its events are in the store, or none and it is archived.
    assert {events for events, _, _ in state.values()} <= {0, EVENTS_EACH}
    assert gone <= in_archive
    # Where the events are, the read models are too (they are removed last).
    assert all(summary and history == EVENTS_EACH for events, summary, history in
               state.values() if events)  # fmt: skip
    assert 0 < len(gone) < ORDERS, "killed midway: some orders gone, some not"

    # The same command again: it settles what the killed run left and finishes.
    print(site.manage(*args))  # shown with -s: what the re-run repaired and settled
    state = site.state(ids_file)
    assert all(v == [0, False, 0] for v in state.values())
    verified = site.manage("orders", "verify", "--archive", str(archive))
    assert f": {ORDERS} orders, {ORDERS * EVENTS_EACH} events in " in verified
    archived_ids = [str(o.order_id) for batch in whole_batches(archive) for o in batch]
    assert sorted(archived_ids) == sorted(state)  # each order once

    # And it all comes back.
    restored = site.manage("orders", "restore", str(archive))
    assert f"restored {ORDERS} orders" in restored
    assert site.manage("orders", "verify", "--all").rstrip().endswith(" 0 problems")
    assert all(v == [EVENTS_EACH, True, EVENTS_EACH] for v in site.state(ids_file).values())


def test_an_archive_is_verified_with_no_database_reachable(
    memory_tracker: OrderTracker, tmp_path: Path
) -> None:
    order_id = memory_tracker.place("regina", {}, owner=None)
    memory_tracker.start(order_id, "oven")
    memory_tracker.complete(order_id, "/pizzas/1/")
    rows = stored_rows(memory_tracker, order_id)
    archive = tmp_path / "a.jsonl.gz"
    with ArchiveWriter(archive) as writer:
        writer.write([as_archived(rows, decode(memory_tracker.mapper, rows))])
    nowhere = "postgres://postgres@127.0.0.1:9/nowhere"  # nothing listens on port 9
    site = Site(tmp_path, {"DATABASE_URL": nowhere, "EVENTSTORE_URL": nowhere})
    out = site.manage("orders", "verify", "--archive", str(archive))
    assert f"verified archive {archive}: 1 orders, 3 events in " in out
    assert out.rstrip().endswith(": 0 problems")
