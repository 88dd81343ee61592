"""Orders on RQ as a client sees them: gunicorn, real `rq worker` processes, PostgreSQL, Redis.

The workers are RQ's own command line with the project's worker class
(``python -m config.rq_worker``). The tests that kill a worker start their own
on the "doomed" queue, so that the module's worker never takes their jobs.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.stack import REDIS_DB, Answer, LiveStack, production_stack
from tests.e2e.test_faults import children_of, history_types, wait_until
from tests.services import ROOT

pytestmark = pytest.mark.services

RQ_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.queues_settings",
        "ASYNC_REST_BASE_SETTINGS": "config.production",
        "ASYNC_REST_TEST_RQ_URL": RQ_URL,
        "ASYNC_REST_CATCHUP_INTERVAL": "0.5",
    }
    with production_stack(tmp_path_factory.mktemp("rq"), env) as live:
        live.start(worker=False)
        start_rq_worker(live, "worker", "orders", "--with-scheduler")
        yield live


def start_rq_worker(
    stack: LiveStack, name: str, queue: str, *options: str, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """A real RQ worker, stopped with the stack; its log is ``<var_dir>/<name>.log``.

    Each gets a name of its own: RQ keeps a killed worker's name registered a while.
    """
    if name != "worker":
        name = f"{name}-{next(_numbers)}"
    log = open(stack.var_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    command = [sys.executable, "-m", "config.rq_worker", "--url", RQ_URL,
               "--name", f"{name}-{stack.port}", *options, queue]  # fmt: skip
    proc = subprocess.Popen(
        command, cwd=ROOT, env={**stack.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,  # killed with its work horse by the stack's stop()
    )  # fmt: skip
    stack.procs.append(proc)
    return proc


def place(stack: LiveStack, resource: str, context: dict[str, Any]) -> str:
    placed = stack.request("POST", f"/async/{resource}/order/", {"context": context})
    assert placed.status == 302, placed.body
    return placed.headers["Location"]


def follow(stack: LiveStack, url: str, timeout: float = 30) -> tuple[Answer, list[int]]:
    """Poll like a client until the order ends; the progress seen on the way."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = stack.request("GET", url)
        if answer.status != 202:
            return answer, seen
        seen.append(answer.body["progress"])
        time.sleep(0.05)
    raise TimeoutError(f"{url} still 202 after {timeout}s\n{stack.log('worker')[-3000:]}")


def running(stack: LiveStack, url: str, progress: int = 5) -> None:
    wait_until(lambda: stack.request("GET", url).body["progress"] >= progress, 30, "progress")


def test_an_order_on_rq_reports_its_progress_and_completes(stack: LiveStack) -> None:
    url = place(stack, "rq-bake", {"steps": 10, "step_seconds": 0.1})
    final, seen = follow(stack, url)
    assert final.status == 201
    assert final.headers["Location"] == f"{stack.base}/bakery/loaves/{final.body['uuid']}/"
    assert any(0 < p < 100 for p in seen)
    types = [e["type"] for e in history_types(stack, url)]
    assert types == ["Queued", "Dispatched", "Started", *["Progressed"] * 10, "Completed"]


def test_an_error_in_an_rq_job_fails_the_order(stack: LiveStack) -> None:
    final, _ = follow(stack, place(stack, "rq-bake", {"fail_with": "No flour"}))
    body = final.body
    assert (final.status, body["status"], body["message"]) == (200, "failed", "No flour")
    assert body["error"]["type"] == "OvenError"


def test_a_running_rq_order_stops_when_cancelled(stack: LiveStack) -> None:
    url = place(stack, "rq-bake", {"steps": 200, "step_seconds": 0.05})
    running(stack, url)
    asked = stack.request("POST", url + "cancel/", {"reason": "too long"})
    final, _ = follow(stack, url)
    assert (asked.status, final.status, final.body["status"]) == (202, 200, "cancelled")
    assert final.body["progress"] < 100


def test_an_error_rq_retries_is_recorded_as_retried_and_the_next_attempt_completes(
    stack: LiveStack,
) -> None:
    url = place(stack, "rq-flaky", {"fail_times": 1})
    final, _ = follow(stack, url)
    types = [e["type"] for e in history_types(stack, url)]
    assert (final.status, final.body["attempt"]) == (201, 2)
    assert (types.count("Retried"), types.count("Failed")) == (1, 0)


def test_order_retry_with_a_countdown_runs_again_once_it_is_due(stack: LiveStack) -> None:
    url = place(stack, "rq-patient", {"countdown": 1})
    final, _ = follow(stack, url)
    events = history_types(stack, url)
    retried = next(e for e in events if e["type"] == "Retried")
    second = [e for e in events if e["type"] == "Started"][1]
    assert (final.status, final.body["attempt"]) == (201, 2)
    assert second["timestamp"] > retried["timestamp"]
    assert retried["reason"] == "the oven is still cold"


@pytest.fixture
def doomed(stack: LiveStack) -> Iterator[subprocess.Popen[bytes]]:
    worker = start_rq_worker(stack, "doomed", "doomed")
    yield worker
    if worker.poll() is None:
        worker.terminate()
        worker.wait(timeout=15)


def kill_horse(worker: subprocess.Popen[bytes]) -> int:
    (horse,) = children_of(worker.pid)  # the work horse RQ forked for the job
    os.kill(horse, signal.SIGKILL)
    return horse


def test_a_killed_work_horse_ends_its_order_at_once_saying_so(
    stack: LiveStack, doomed: subprocess.Popen[bytes]
) -> None:
    url = place(stack, "rq-doomed", {"steps": 200, "step_seconds": 0.05})
    running(stack, url)
    horse = kill_horse(doomed)
    final, _ = follow(stack, url, timeout=10)
    assert (final.status, final.body["error"]["type"]) == (200, "WorkerLost")
    assert f"work horse {horse} killed by SIGKILL" in final.body["message"]


def test_a_killed_work_horse_with_retries_left_runs_again_as_attempt_2(
    stack: LiveStack, doomed: subprocess.Popen[bytes]
) -> None:
    url = place(stack, "rq-doomed-retry", {"steps": 40, "step_seconds": 0.05})
    running(stack, url)
    kill_horse(doomed)
    final, _ = follow(stack, url)
    types = [e["type"] for e in history_types(stack, url)]
    assert (final.status, final.body["attempt"]) == (201, 2)
    assert (types.count("Retried"), types.count("Started")) == (1, 2)


def kill_whole_worker(worker: subprocess.Popen[bytes]) -> None:
    for pid in [*children_of(worker.pid), worker.pid]:  # horse and parent, as a lost machine
        os.kill(pid, signal.SIGKILL)
    worker.wait(timeout=10)


def test_an_order_whose_rq_worker_is_lost_is_failed_by_another_workers_reaper(
    stack: LiveStack, doomed: subprocess.Popen[bytes]
) -> None:
    url = place(stack, "rq-doomed", {"steps": 200, "step_seconds": 0.05})
    running(stack, url)
    kill_whole_worker(doomed)
    other = start_rq_worker(stack, "reaper", "doomed", env={"ASYNC_REST_WORKER_LOST_AFTER": "2"})
    final, _ = follow(stack, url)
    other.terminate()
    assert (final.status, final.body["error"]["type"]) == (200, "WorkerLost")
    assert final.body["message"].startswith("Worker lost: no sign of life")


def test_rqs_own_handling_of_the_abandoned_job_fails_its_order_saying_so(
    stack: LiveStack, doomed: subprocess.Popen[bytes]
) -> None:
    url = place(stack, "rq-doomed", {"steps": 200, "step_seconds": 0.05})
    running(stack, url)
    kill_whole_worker(doomed)
    # What a worker's registry maintenance does once the dead job's heartbeat expires
    # (a minute or more later): run now, as if that time had passed.
    stack.manage("shell", "-c", (
        "import time; from redis import Redis; from rq import Queue; "
        f"Queue('doomed', connection=Redis.from_url({RQ_URL!r}))"
        ".started_job_registry.cleanup(timestamp=time.time() + 3600)"
    ))  # fmt: skip
    final = stack.request("GET", url)
    assert (final.status, final.body["error"]["type"]) == (200, "WorkerLost")
    assert "abandoned" in final.body["message"]
