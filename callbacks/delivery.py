"""One delivery attempt: checked address, signed body, bounded wait and read, recorded outcome.

``attempt(order_id, version)`` is what the Celery task runs: it reads the order's callback
from the event store, sends the event's body to the address it has just checked (no
redirects followed, the response read up to a small bound), and records the attempt as
an event of the order. It returns how many seconds to wait before the next attempt, or
None when there is none (delivered, given up, stopped by a 410, or nothing owed).
"""

from __future__ import annotations

import ipaddress
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from django.conf import settings

from callbacks.addresses import IPAddress, UnsafeCallbackError, resolve
from callbacks.payload import body_of, message_id
from callbacks.signing import CallbacksDisabledError, signed_headers
from orders.domain.callbacks import GONE
from orders.infrastructure.runtime import get_tracker

log = logging.getLogger(__name__)

USER_AGENT = "async-rest-callbacks/1"


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    duration_ms: int
    reason: str = ""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempt: int) -> float:
    """Seconds before the attempt after ``attempt``: doubling, capped, with jitter.

    Half the delay is fixed and half random, so receivers that came back together are
    not all retried in the same second, and no retry comes sooner than half the step.
    """
    conf = settings.ASYNC_REST
    step = min(
        float(conf["CALLBACK_BACKOFF_MAX"]), float(conf["CALLBACK_BACKOFF"]) * 2 ** (attempt - 1)
    )
    return round(step / 2 + random.uniform(0, step / 2), 3)


def _pinned(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL aimed at ``address`` itself, with the Host header and TLS name of the original."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = f"[{address}]" if isinstance(address, ipaddress.IPv6Address) else str(address)
    target = parts._replace(netloc=f"{literal}:{port}").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    return target, {"Host": host_header}, extensions


def post(url: str, address: IPAddress, body: str, headers: dict[str, str]) -> Outcome:
    """POST ``body`` to ``url`` at ``address``; what came back (or why nothing did)."""
    conf = settings.ASYNC_REST
    timeout = float(conf["CALLBACK_TIMEOUT"])
    limit = int(conf["CALLBACK_MAX_RESPONSE_BYTES"])
    target, host, extensions = _pinned(url, address)
    sent = {
        **headers,
        **host,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
    }
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        # trust_env off: no proxy from the environment may carry the request elsewhere.
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "POST", target, content=body.encode(), headers=sent, extensions=extensions
            ) as response,
        ):
            read = 0
            for chunk in response.iter_raw():
                read += len(chunk)
                # Only the status matters: a receiver's body is read up to a bound, then dropped.
                if read >= limit or time.monotonic() - started > timeout:
                    break
            status = response.status_code
    except httpx.TimeoutException:
        return Outcome(None, took(), f"timed out after {timeout:g}s")
    except httpx.HTTPError as exc:
        return Outcome(None, took(), f"{type(exc).__name__}: {exc}"[:500])
    if 200 <= status < 300:
        return Outcome(status, took())
    if 300 <= status < 400:
        where = response.headers.get("location", "")
        return Outcome(status, took(), f"HTTP {status}: redirect to {where[:200]!r} not followed")
    return Outcome(status, took(), f"HTTP {status}")


def attempt(order_id: UUID, version: int, force: bool = False) -> float | None:
    """Make one attempt at delivering the order's event ``version``, and record it.

    Nothing is sent when nothing is owed any more (delivered, given up, stopped), or
    when this message came before the next attempt is due (a duplicate of a retry);
    ``force`` (the admin's re-send) sends anyway.
    """
    tracker = get_tracker()
    order = tracker.get_order(order_id)
    ledger = order.callback
    if ledger is None or not ledger.is_owed(version):
        return None
    if not force:
        due = ledger.next_at.get(version)
        if not ledger.is_due(version) or due is None:
            return None
        early = (due - datetime.now(UTC)).total_seconds()
        if early > 1:
            return None
    started = time.monotonic()
    try:
        addresses = resolve(ledger.url)
        body = body_of(tracker, order_id, version, ledger.base_url)
        outcome = post(
            ledger.url, addresses[0], body, signed_headers(message_id(order_id, version), body)
        )
    except (UnsafeCallbackError, CallbacksDisabledError) as exc:
        outcome = Outcome(None, int((time.monotonic() - started) * 1000), str(exc)[:500])
    if outcome.delivered:
        assert outcome.status_code is not None
        tracker.record_callback_delivered(
            order_id, version, outcome.status_code, outcome.duration_ms
        )
        return None
    made = ledger.attempts.get(version, 0) + 1
    final = outcome.status_code == GONE or made >= int(settings.ASYNC_REST["CALLBACK_MAX_ATTEMPTS"])
    retry_in = None if final else backoff(made)
    tracker.record_callback_failed(
        order_id, version, outcome.reason, outcome.status_code, outcome.duration_ms, retry_in
    )
    log.info(
        "callback for order %s event %s: attempt %s failed (%s)%s",
        order_id,
        version,
        made,
        outcome.reason,
        f", next in {retry_in}s" if retry_in else ", no more attempts",
    )
    return retry_in
