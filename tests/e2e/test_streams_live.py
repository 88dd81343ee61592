"""The live event streams and long-poll against real processes (uvicorn workers, Celery, stores).

One ASGI stack per setting for the module (embedded SQLite; PostgreSQL and Redis), whose
worker runs one task at a time; the tests that kill a worker or use the WSGI server start
their own.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from async_rest_client import Client
from async_rest_client.waiting import ServerSentEvent
from tests.e2e.asgi_stack import get, place, read_stream, start_asgi, stream_events, until_ended
from tests.e2e.stack import LiveStack, embedded_stack, production_stack
from tests.e2e.test_faults import children_of, wait_until
from tests.services import OwnRedis

pytestmark = pytest.mark.services

TERMINAL = {"Completed", "Failed", "Cancelled"}


@pytest.fixture(scope="module", params=["embedded", "production"])
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    var = tmp_path_factory.mktemp(f"streams-{request.param}")
    stacks = {"embedded": embedded_stack, "production": production_stack}
    with stacks[request.param](var) as stack:
        yield start_asgi(stack)


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    # A broker of its own: live[production] runs at the same time on the shared Redis db.
    var = tmp_path_factory.mktemp("streams-pg")
    broker = OwnRedis(var).start()
    try:
        with production_stack(var, broker_url=broker.url) as stack:
            yield start_asgi(stack)
    finally:
        broker.stop()


def token_for(stack: LiveStack, username: str, staff: bool = False) -> str:
    """Another user's token (the stack keeps sending its own)."""
    return stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import User;"
        "from rest_framework.authtoken.models import Token;"
        f"u = User.objects.create_user({username!r}, is_staff={staff!r});"
        "print(Token.objects.create(user=u).key)",
    ).split()[-1]


def history(stack: LiveStack, order_url: str) -> list[dict[str, Any]]:
    answer = get(stack, order_url + "history/?page_size=1000")
    results: list[dict[str, Any]] = answer.json()["results"]
    return results


def test_a_stream_sends_every_event_from_the_first_once_and_ends_after_the_terminal_one(
    live: LiveStack,
) -> None:
    url = place(live, steps=8, step_seconds=0.1)
    events = read_stream(live, url + "events/")
    assert [int(e.id or 0) for e in events] == list(range(1, len(events) + 1))
    assert events[-1].event == "Completed"
    assert [json.loads(e.data) for e in events] == history(live, url)
    assert [e.event for e in events] == [json.loads(e.data)["type"] for e in events]


def test_a_stream_resumed_by_last_event_id_misses_and_repeats_nothing_while_a_worker_writes(
    live: LiveStack,
) -> None:
    url = place(live, steps=20, step_seconds=0.1)
    received = read_stream(live, url + "events/", stop_after=4)
    statuses = []
    while received[-1].event not in TERMINAL:
        statuses.append(get(live, url).json()["status"])
        headers = {"Last-Event-ID": str(received[-1].id)}
        received += read_stream(live, url + "events/", headers, stop_after=3)
    assert "running" in statuses  # resumed while the worker was writing
    assert [int(e.id or 0) for e in received] == list(range(1, len(received) + 1))
    assert [json.loads(e.data) for e in received] == history(live, url)


def test_a_stream_resumed_after_the_terminal_event_ends_at_once_with_nothing(
    live: LiveStack,
) -> None:
    url = place(live, steps=2, step_seconds=0.05)
    last = read_stream(live, url + "events/")[-1]
    started = time.monotonic()
    assert read_stream(live, url + "events/", {"Last-Event-ID": str(last.id)}) == []
    assert time.monotonic() - started < 5


def test_a_junk_last_event_id_is_a_400_naming_it(live: LiveStack) -> None:
    url = place(live, steps=2, step_seconds=0.05)
    answer = get(live, url + "events/", {"Last-Event-ID": "soon"})
    assert (answer.status_code, answer.json()["field"]) == (400, "Last-Event-ID")


def test_another_users_stream_is_a_404(production: LiveStack) -> None:
    url = place(production, steps=2, step_seconds=0.05)
    stranger = token_for(production, "mallory")
    answer = get(production, url + "events/", {"Authorization": f"Token {stranger}"})
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json()["field"] == "uuid"


def test_a_stream_without_a_valid_token_is_a_401(production: LiveStack) -> None:
    url = place(production, steps=2, step_seconds=0.05)
    answer = get(production, url + "events/", {"Authorization": "Token nope"})
    assert answer.status_code == 401


def test_the_firehose_is_refused_to_a_user_who_is_not_staff(production: LiveStack) -> None:
    answer = get(production, "/async/events/")
    assert (answer.status_code, answer.json()["field"]) == (403, "user")


def test_the_firehose_sends_every_orders_events_in_commit_order_and_resumes_by_position(
    production: LiveStack,
) -> None:
    staff = {"Authorization": f"Token {token_for(production, 'boss', staff=True)}"}
    first = place(production, steps=3, step_seconds=0.05)
    second = place(production, steps=3, step_seconds=0.05)
    for url in (first, second):
        until_ended(production, url)
    ids = {first[-37:-1], second[-37:-1]}
    opened = []
    ended: set[str] = set()
    for event in stream_events(production, "/async/events/", {**staff, "Last-Event-ID": "0"}):
        opened.append(event)
        data = json.loads(event.data)
        if data["order"] in ids and data["type"] in TERMINAL:
            ended.add(data["order"])
            if ended == ids:
                break
    ours = [json.loads(e.data) for e in opened if json.loads(e.data)["order"] in ids]
    assert len(ours) == len(history(production, first)) + len(history(production, second))
    positions = [int(e.id or 0) for e in opened]
    assert positions == sorted(set(positions))
    cut = len(opened) // 2
    resumed = read_stream(
        production,
        "/async/events/",
        {**staff, "Last-Event-ID": str(opened[cut - 1].id)},
        stop_after=len(opened) - cut,
    )
    assert [(e.id, e.data) for e in resumed] == [(e.id, e.data) for e in opened[cut:]]


def test_the_firehose_opened_without_a_position_sends_what_is_written_from_then_on(
    production: LiveStack,
) -> None:
    staff = {"Authorization": f"Token {token_for(production, 'chief', staff=True)}"}
    before = place(production, steps=2, step_seconds=0.05)
    until_ended(production, before)
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    def follow() -> None:
        for event in stream_events(production, "/async/events/", staff, timeout=30):
            received.put(json.loads(event.data))
            if received.queue[-1]["type"] in TERMINAL:
                return

    follower = threading.Thread(target=follow, daemon=True)
    follower.start()
    time.sleep(1)  # the stream is open (nothing comes until something is written)
    url = place(production, steps=2, step_seconds=0.05)
    follower.join(30)
    seen = list(received.queue)
    assert {e["order"] for e in seen} == {url[-37:-1]}
    assert [e["version"] for e in seen] == list(range(1, len(seen) + 1))
    assert seen[-1]["type"] == "Completed"


def test_a_worker_killed_mid_order_still_ends_in_the_stream(tmp_path: Path) -> None:
    env = {"ASYNC_REST_CATCHUP_INTERVAL": "0.5", "ASYNC_REST_RELAY_AFTER": "1"}
    # A broker of its own: the module's stack's worker must not take this stack's messages.
    broker = OwnRedis(tmp_path).start()
    with production_stack(tmp_path, env, broker_url=broker.url) as stack:
        start_asgi(stack)
        worker = stack.procs[0]
        url = place(stack, steps=30, step_seconds=0.1)
        received: list[ServerSentEvent] = []
        killed = False
        deadline = time.monotonic() + 90
        for event in stream_events(stack, url + "events/", timeout=60):
            assert time.monotonic() < deadline, [e.event for e in received]
            received.append(event)
            data = json.loads(event.data)
            if not killed and data.get("percent", 0) >= 20:
                (child,) = children_of(worker.pid)
                os.kill(child, signal.SIGKILL)  # the pool process running the task
                killed = True
    broker.stop()
    types = [e.event for e in received]
    assert killed
    assert (types.count("Started"), types[-1]) == (2, "Completed")
    assert [int(e.id or 0) for e in received] == list(range(1, len(received) + 1))


def test_a_long_poll_answers_as_soon_as_the_order_changes(live: LiveStack) -> None:
    url = place(live, steps=3, step_seconds=1.0)
    seen = wait_until(lambda: (a := get(live, url)).json()["status"] == "running" and a)
    started = time.monotonic()
    answer = get(live, url, {"Prefer": "wait=20", "If-None-Match": seen.headers["ETag"]})
    waited = time.monotonic() - started
    assert answer.status_code in (201, 202)
    assert answer.headers["ETag"] != seen.headers["ETag"]
    assert answer.headers["Preference-Applied"] == "wait=20"
    assert waited < 5  # a step is 1 s: it answered on the change, not at the end of the wait


def test_a_long_poll_answers_304_once_the_wait_has_passed_without_a_change(
    live: LiveStack,
) -> None:
    url = place(live, steps=2, step_seconds=0.05)
    done = until_ended(live, url)
    started = time.monotonic()
    answer = get(live, url, {"Prefer": "wait=2", "If-None-Match": done.headers["ETag"]})
    waited = time.monotonic() - started
    assert (answer.status_code, answer.headers["Preference-Applied"]) == (304, "wait=2")
    assert 1.9 <= waited < 5


def test_a_poll_without_prefer_is_answered_at_once_as_before(live: LiveStack) -> None:
    url = place(live, steps=2, step_seconds=0.05)
    done = until_ended(live, url)
    started = time.monotonic()
    answer = get(live, url, {"If-None-Match": done.headers["ETag"]})
    assert answer.status_code == 304
    assert "Preference-Applied" not in answer.headers
    assert time.monotonic() - started < 1


def test_the_client_waits_on_the_event_stream(production: LiveStack) -> None:
    token = production.headers["Authorization"].removeprefix("Token ")
    with Client(production.base, token=token) as client:
        order = client.place("regina", {"steps": 5, "step_seconds": 0.1})
        done = order.wait(timeout=60, progress=False)
    assert done.status == "completed"
    path = f"/async/orders/{done.uuid}/"
    log = production.log("web")
    assert log.count(f"GET {path}events/") >= 1
    assert "Prefer" not in log  # it never fell back to long-polling


def test_under_wsgi_a_stream_is_a_501_and_a_long_poll_is_bounded_by_the_sync_setting(
    tmp_path: Path,
) -> None:
    with embedded_stack(tmp_path, {"ASYNC_REST_LONGPOLL_SYNC_MAX_WAIT": "1"}) as stack:
        stack.start()
        url = place(stack, steps=2, step_seconds=0.05)
        done = until_ended(stack, url)
        stream = get(stack, url + "events/")
        started = time.monotonic()
        held = get(stack, url, {"Prefer": "wait=30", "If-None-Match": done.headers["ETag"]})
        waited = time.monotonic() - started
    assert (stream.status_code, stream.headers["Content-Type"]) == (501, "application/problem+json")
    assert (held.status_code, held.headers["Preference-Applied"]) == (304, "wait=1")
    assert 0.9 <= waited < 4


def test_under_wsgi_a_long_poll_answers_on_a_change(tmp_path: Path) -> None:
    with embedded_stack(tmp_path) as stack:
        stack.start()
        url = place(stack, steps=3, step_seconds=1.0)
        seen = wait_until(lambda: (a := get(stack, url)).json()["status"] == "running" and a)
        started = time.monotonic()
        answer = get(stack, url, {"Prefer": "wait=5", "If-None-Match": seen.headers["ETag"]})
        waited = time.monotonic() - started
    assert answer.status_code in (201, 202)
    assert answer.headers["Preference-Applied"] == "wait=5"
    assert waited < 4
