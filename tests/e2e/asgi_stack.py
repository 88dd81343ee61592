"""The live stack's web server as in production for streams: gunicorn with uvicorn workers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx

from async_rest_client.waiting import EventParser, ServerSentEvent
from tests.e2e.stack import LiveStack
from tests.services import venv_bin, wait_for_port


def start_asgi(live: LiveStack, worker: bool = True, workers: int = 1) -> LiveStack:
    """Start ``live`` with ``config.asgi`` served by uvicorn workers under gunicorn."""
    live.migrate()
    if worker:
        live.start_worker()
    web = live._spawn(
        "web",
        [venv_bin("gunicorn"), "config.asgi:application", "-k", "uvicorn.workers.UvicornWorker",
         "-b", f"127.0.0.1:{live.port}", "-w", str(workers), "--no-control-socket",
         "--access-logfile", "-"],
    )  # fmt: skip
    wait_for_port(live.port, proc=web)
    return live


def read_stream(
    live: LiveStack,
    path_or_url: str,
    headers: dict[str, str] | None = None,
    stop_after: int | None = None,
    timeout: float = 60.0,
) -> list[ServerSentEvent]:
    """The events of a stream until it ends (or ``stop_after`` of them: then it is closed)."""
    return list(stream_events(live, path_or_url, headers, stop_after, timeout))


def stream_events(
    live: LiveStack,
    path_or_url: str,
    headers: dict[str, str] | None = None,
    stop_after: int | None = None,
    timeout: float = 60.0,
) -> Iterator[ServerSentEvent]:
    url = path_or_url if path_or_url.startswith("http") else live.base + path_or_url
    sent = {"Accept": "text/event-stream", **live.headers, **(headers or {})}
    parser, count = EventParser(), 0
    with (
        httpx.Client(timeout=timeout) as http,
        http.stream("GET", url, headers=sent) as answer,
    ):
        assert answer.status_code == 200, answer.read()
        assert answer.headers["Content-Type"].startswith("text/event-stream")
        for line in answer.iter_lines():
            event = parser.feed(line)
            if event is None:
                continue
            yield event
            count += 1
            if stop_after is not None and count >= stop_after:
                return


def get(live: LiveStack, path_or_url: str, headers: dict[str, str] | None = None) -> Any:
    url = path_or_url if path_or_url.startswith("http") else live.base + path_or_url
    return httpx.get(url, headers={**live.headers, **(headers or {})}, timeout=60)


def place(live: LiveStack, steps: int, step_seconds: float) -> str:
    """Order a pizza; its URL (httpx: uvicorn sends header names in lower case)."""
    answer = httpx.post(
        live.base + "/async/regina/order/",
        json={"context": {"steps": steps, "step_seconds": step_seconds}},
        headers=live.headers,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    return str(answer.headers["Location"])


def until_ended(live: LiveStack, url: str, timeout: float = 90.0) -> httpx.Response:
    """Poll the order until it is no longer queued or running; that last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = get(live, url)
        if answer.status_code != 202:
            return answer
        time.sleep(0.1)
    raise TimeoutError(f"{url} still running after {timeout}s")
