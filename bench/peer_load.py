"""The clients of bench.peer: wrk POSTs, closed-loop order clients, a visibility poller."""

from __future__ import annotations

import http.client
import json
import tempfile
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import support
from bench.peer_systems import Deployment, answer_json, auth

ORDER_TIMEOUT = 60.0  # seconds one order may take end to end before the run is failed


def request(
    port: int, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to 127.0.0.1 (a new connection: gunicorn's sync workers close them)."""
    conn = http.client.HTTPConnection(support.HOST, port, timeout=30)
    try:
        payload = None if body is None else json.dumps(body)
        sent = {**headers, **({"Content-Type": "application/json"} if payload else {})}
        conn.request(method, path, body=payload, headers=sent)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def place(port: int, dep: Deployment, params: dict[str, Any], anonymous: bool = False) -> str:
    """POST the work; the path of its status URL (from the 302's Location)."""
    headers = {} if anonymous else auth(dep)
    body = dep.design.place_body(params)
    code, answer, payload = request(port, "POST", dep.design.place_path, headers, body)
    if code != 302:
        raise RuntimeError(f"{dep.design.name} POST answered {code}: {payload[:300]!r}")
    location = urllib.parse.urlsplit(answer["Location"])
    if location.hostname not in (None, support.HOST):
        raise RuntimeError(f"Location outside {support.HOST}: {answer['Location']}")
    return location.path


def poll_until_done(
    port: int, path: str, headers: dict[str, str], pause: float, timeout: float = ORDER_TIMEOUT
) -> tuple[int, dict[str, Any]]:
    """GET until the answer is final (201 completed, 200 failed); the code and body."""
    deadline = time.monotonic() + timeout
    while True:
        code, _, body = request(port, "GET", path, headers)
        if code in (200, 201):
            return code, answer_json(body)
        if code != 202:
            raise RuntimeError(f"GET {path} answered {code}: {body[:300]!r}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} not done after {timeout}s")
        time.sleep(pause)


def poll_until_step(
    port: int, dep: Deployment, path: str, headers: dict[str, str], step: int, timeout: float
) -> None:
    """GET until the status shows progress step ``step`` (a held task's last report)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, _, body = request(port, "GET", path, headers)
        if code == 202 and dep.design.progress(answer_json(body))[0] == step:
            return
        time.sleep(0.05)
    raise TimeoutError(f"{path} did not reach step {step} within {timeout}s")


# ------------------------------------------------------------------ POSTs with wrk


def wrk_post(
    port: int, dep: Deployment, params: dict[str, Any], duration: int, connections: int
) -> support.WrkResult:
    """Closed-loop POSTs from wrk (each connection sends the next once answered)."""
    body = json.dumps(dep.design.place_body(params))
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [[{body}]]",
        'wrk.headers["Content-Type"] = "application/json"',
        f'wrk.headers["Authorization"] = "Token {dep.token}"',
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-peer-") as script:
        script.write("\n".join(lines) + "\n")
        script.flush()
        url = f"http://{support.HOST}:{port}{dep.design.place_path}"
        return support.wrk(
            url, threads=2, connections=connections, duration=duration, script=Path(script.name)
        )


# ------------------------------------------------------------------ orders end to end


@dataclass
class EndToEnd:
    orders: int
    completed: int
    seconds: float
    orders_per_second: float
    latency_p50_ms: float
    latency_max_ms: float
    codes: dict[int, int] = field(default_factory=dict)


def end_to_end(
    port: int,
    dep: Deployment,
    params: dict[str, Any],
    clients: int,
    duration: float,
    pause: float,
    max_orders: int,
) -> EndToEnd:
    """``clients`` closed loops of POST, then GET every ``pause`` s until done, for ``duration``.

    A client starts no order after ``duration`` (nor past ``max_orders`` in all); the orders
    in flight then finish, and the rate is orders completed over the time to the last one.
    """
    lock = threading.Lock()
    done: list[tuple[float, float, int]] = []  # (placed, seen done, final code)
    start = time.monotonic()
    deadline = start + duration

    def client() -> None:
        while time.monotonic() < deadline:
            with lock:
                if len(done) >= max_orders:
                    return
            placed = time.monotonic()
            path = place(port, dep, params)
            code, _ = poll_until_done(port, path, auth(dep), pause)
            with lock:
                done.append((placed, time.monotonic(), code))

    with ThreadPoolExecutor(max_workers=clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    if not done:
        raise RuntimeError(f"{dep.design.name}: no order ended within {duration}s")
    seconds = max(seen for _, seen, _ in done) - start
    completed = sum(1 for *_, code in done if code == 201)
    latencies = [1000 * (seen - placed) for placed, seen, _ in done]
    codes: dict[int, int] = {}
    for *_, code in done:
        codes[code] = codes.get(code, 0) + 1
    return EndToEnd(
        orders=len(done),
        completed=completed,
        seconds=seconds,
        orders_per_second=completed / seconds,
        latency_p50_ms=support.median(latencies),
        latency_max_ms=max(latencies),
        codes=codes,
    )


# ------------------------------------------------------------------ written → visible


@dataclass
class Visibility:
    samples_ms: list[float]
    events: int
    unseen: int  # reports overtaken by the next one before a GET showed them
    polls: int


def visibility(port: int, dep: Deployment, events: int, interval: float) -> Visibility:
    """One task writes ``events`` stamped reports ``interval`` s apart; one client GETs.

    The stamp is the writer's clock just before it writes a report; a sample is the time
    from it to the moment a GET (sent by another client, in a closed loop) shows it.
    """
    params = {"steps": events, "interval": interval, "stamp": True}
    path = place(port, dep, params)
    headers = auth(dep)
    deadline = time.monotonic() + events * interval + ORDER_TIMEOUT
    samples: list[float] = []
    last_step, polls = 0, 0
    while time.monotonic() < deadline:
        code, _, body = request(port, "GET", path, headers)
        seen = time.time()
        polls += 1
        if code in (200, 201):
            break
        step, message = dep.design.progress(answer_json(body))
        if step is not None and step > last_step and message:
            samples.append(1000 * (seen - float(message)))
            last_step = step
    else:
        raise TimeoutError(f"{dep.design.name}: the stamped task did not end")
    return Visibility(samples, events, events - len(samples), polls)
