"""Faults, for real: a worker killed, the broker down, the event store down.

Each test that stops a server starts that server itself, on its own port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.stack import LiveStack, production_stack
from tests.services import OwnPostgres, OwnRedis, require_postgres, require_redis

pytestmark = pytest.mark.services

QUICK = {"ASYNC_REST_CATCHUP_INTERVAL": "0.5", "ASYNC_REST_RELAY_AFTER": "1"}


def wait_until(check: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"{what} not reached after {timeout}s")


def children_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def history_types(stack: LiveStack, order_url: str) -> list[dict[str, Any]]:
    return stack.request("GET", order_url + "history/?page_size=1000").body["results"]


def place_pizza(stack: LiveStack, steps: int, step_seconds: float) -> str:
    placed = stack.request(
        "POST",
        "/async/regina/order/",
        {"context": {"steps": steps, "step_seconds": step_seconds}},
    )
    assert placed.status == 302, placed.body
    return placed.headers["Location"]


@pytest.fixture
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LiveStack]:
    env = {**QUICK, **getattr(request, "param", {})}
    with production_stack(tmp_path, env) as live:
        yield live


@pytest.mark.parametrize("stack", [{}], indirect=True)
def test_a_worker_killed_mid_order_is_redelivered_and_resumes_as_attempt_2(
    stack: LiveStack,
) -> None:
    stack.start()
    worker = stack.procs[0]
    url = place_pizza(stack, steps=30, step_seconds=0.1)
    wait_until(lambda: stack.request("GET", url).body["progress"] >= 20, what="20% progress")
    (child,) = children_of(worker.pid)
    os.kill(child, signal.SIGKILL)  # the pool process running the task dies at once

    final, _ = stack.poll_until_done(url)
    assert (final.status, final.body["attempt"]) == (201, 2)
    events = history_types(stack, url)
    assert [e["type"] for e in events].count("Started") == 2
    assert [e["type"] for e in events].count("Completed") == 1
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    # Nothing double-counted: within each attempt, progress only goes up.
    by_attempt: list[list[int]] = []
    for e in events:
        if e["type"] == "Started":
            by_attempt.append([])
        elif e["type"] == "Progressed":
            by_attempt[-1].append(e["percent"])
    assert all(p == sorted(set(p)) for p in by_attempt)


@pytest.mark.parametrize("stack", [{"ASYNC_REST_WORKER_LOST_AFTER": "3"}], indirect=True)
def test_an_order_whose_worker_is_lost_for_good_ends_failed_saying_so(stack: LiveStack) -> None:
    stack.start()
    first = stack.procs[0]
    url = place_pizza(stack, steps=200, step_seconds=0.1)
    wait_until(lambda: stack.request("GET", url).body["progress"] >= 3, what="3% progress")
    for pid in [*children_of(first.pid), first.pid]:  # the whole worker, pool and parent
        os.kill(pid, signal.SIGKILL)
    first.wait(timeout=10)
    stack.start_worker("second")  # its supervision loop finds the silent order

    final, _ = stack.poll_until_done(url, timeout=60)
    assert (final.status, final.body["status"], final.body["error"]["type"]) == (
        200,
        "failed",
        "WorkerLost",
    )
    assert final.body["message"].startswith("Worker lost")


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    broker = OwnRedis(tmp_path).start()
    yield broker
    broker.stop()


def test_an_order_placed_while_the_broker_is_down_runs_once_it_is_back(
    tmp_path: Path, own_redis: OwnRedis
) -> None:
    require_postgres()
    with production_stack(tmp_path / "stack", QUICK, broker_url=own_redis.url) as stack:
        stack.start()
        own_redis.stop()

        started = time.monotonic()
        url = place_pizza(stack, steps=3, step_seconds=0.05)
        answered_in = time.monotonic() - started
        waiting = stack.request("GET", url)
        time.sleep(2)
        still = stack.request("GET", url)
        own_redis.start()

        final, _ = stack.poll_until_done(url, timeout=90)
        types = [e["type"] for e in history_types(stack, url)]
    assert answered_in < 15
    assert (waiting.status, waiting.body["status"]) == (202, "queued")
    assert still.body["status"] == "queued"
    assert final.status == 201
    assert (types.count("Dispatched"), types.count("Started")) == (1, 1)  # launched once


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres().start()
    yield server
    server.destroy()


def count_events(url: str) -> int:
    # Rows, not the last notification id: a crash makes PostgreSQL skip sequence values.
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://")) as conn:
        row = conn.execute("SELECT count(*) FROM async_rest_events").fetchone()
    return int(row[0]) if row else 0


def test_with_the_event_store_down_requests_get_503_and_service_resumes_by_itself(
    tmp_path: Path, own_postgres: OwnPostgres
) -> None:
    require_redis()
    db_url = own_postgres.url
    env = {"DATABASE_URL": db_url, "EVENTSTORE_URL": db_url}
    with production_stack(tmp_path, env) as stack:
        stack.start(worker=False)
        first = place_pizza(stack, steps=1, step_seconds=0)
        before = count_events(db_url)
        own_postgres.stop()

        down_post = stack.request("POST", "/async/regina/order/", {"context": {}})
        down_get = stack.request("GET", first)
        own_postgres.start()
        back = wait_until(
            lambda: (
                (a := stack.request("POST", "/async/regina/order/", {"context": {}})).status == 302
                and a
            ),
            timeout=30,
            what="POST answered 302 again",
        )
        after_first = stack.request("GET", first)
        after = count_events(db_url)
        placed_after = len(history_types(stack, back.body["links"]["self"]))

    for answer in (down_post, down_get):
        assert answer.status == 503
        assert answer.headers["Content-Type"] == "application/problem+json"
        assert int(answer.headers["Retry-After"]) > 0
    assert back.status == 302
    assert after_first.status == 202
    # Only the order placed after the restart was written: nothing half-written meanwhile.
    assert after == before + placed_after
