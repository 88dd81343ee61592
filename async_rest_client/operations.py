"""One plan per call of the API: place, read, replay, cancel, and one page of a listing.

Each function returns a plan (see protocol.py): the sync and async clients run it. The URLs
come from the order's own ``links`` whenever there is an order to start from, as the server
means them to be followed; only the entry points (``<resource>/order/``, ``orders/``,
``orders/<uuid>/``) are built from the API's root.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urljoin
from uuid import UUID

from async_rest_client.errors import UnexpectedAnswer
from async_rest_client.models import Order
from async_rest_client.protocol import Answer, Plan, Send, Session, exchange

REDIRECTS = (301, 302, 303, 307, 308)
ORDER_ANSWERS = (200, 201, 202)


@dataclass(frozen=True)
class Seen:
    """An order's state and the ETag that came with it (to poll with ``If-None-Match``)."""

    order: Order
    etag: str | None


@dataclass(frozen=True)
class Placed(Seen):
    """The answer to placing an order: the order, the key sent, and whether it was a replay."""

    key: str = ""
    replayed: bool = False  # the server had this key already: this is the first order, again


def order_url(s: Session, ref: UUID | str) -> str:
    """The order's URL from its uuid, or the URL itself when given one."""
    text = str(ref)
    if text.startswith(("http://", "https://")):
        return text
    return f"{s.api_root}orders/{UUID(text)}/"


def read_order(answer: Answer) -> Seen:
    """The order in a status answer (200, 201 or 202)."""
    if answer.status not in ORDER_ANSWERS or not isinstance(answer.body, Mapping):
        raise UnexpectedAnswer(f"{answer.status} from {answer.url}: {answer.body!r:.300}")
    return Seen(Order.from_json(answer.body), answer.headers.get("ETag"))


def place(s: Session, resource: str, context: Mapping[str, Any], key: str) -> Plan[Placed]:
    """POST the order; the answer is a 302 whose ``Location`` is the order, its body the order.

    The 302 is not followed blindly: its body already is the order. Only when the body is
    not a whole order (the server remembered the key but not the full first answer) is the
    ``Location`` read with a GET.
    """
    url = f"{s.api_root}{quote(resource, safe='')}/order/"
    send = Send("POST", url, {"Idempotency-Key": key}, json={"context": dict(context)})
    answer = yield from exchange(s, send, repeatable=True)  # the key makes a repeat harmless
    location = answer.headers.get("Location")
    if answer.status not in REDIRECTS or not location:
        raise UnexpectedAnswer(f"{answer.status} to POST {url}, not a 302 with a Location")
    replayed = answer.headers.get("Idempotent-Replayed", "").lower() == "true"
    body = answer.body
    if isinstance(body, Mapping) and "status" in body:
        return Placed(Order.from_json(body), None, key, replayed)
    seen = yield from fetch(s, urljoin(answer.url or url, location))
    assert seen is not None  # no ETag was sent: never a 304
    return Placed(seen.order, seen.etag, key, replayed)


def fetch(
    s: Session, url: str, etag: str | None = None, headers: Mapping[str, str] | None = None
) -> Plan[Seen | None]:
    """GET the order; None when it has not changed since ``etag`` (304: nothing to read)."""
    sent = dict(headers or {})
    if etag:
        sent["If-None-Match"] = etag
    answer = yield from exchange(s, Send("GET", url, sent), repeatable=True)
    if answer.status == 304:
        return None
    return read_order(answer)


def replay(
    s: Session, order: Order, version: int | None = None, moment: datetime | None = None
) -> Plan[Order]:
    """The order as it was right after event ``version``, or at ``moment`` (naive = UTC)."""
    if version is not None and moment is None:
        params = {"version": str(version)}
    elif moment is not None and version is None:
        params = {"at": moment.isoformat()}
    else:
        raise ValueError("give exactly one of version= or moment=")
    answer = yield from exchange(s, Send("GET", order.links.self, params=params), repeatable=True)
    return read_order(answer).order


def cancel(s: Session, order: Order, reason: str | None = None) -> Plan[Order]:
    """Ask the server to cancel: at once when queued (200), at the next report when running
    (202, ``cancel_requested``). Not repeated after a lost connection: a second cancel of an
    order the first one ended would be a misleading 409.
    """
    body = {"reason": reason} if reason else {}
    send = Send("POST", order.links.cancel, json=body)
    answer = yield from exchange(s, send, repeatable=False)
    return read_order(answer).order


def page(
    s: Session, url: str, params: Mapping[str, str] | None = None
) -> Plan[tuple[list[Any], str | None]]:
    """One page of a listing: its ``results`` and the URL of the next page (None at the end)."""
    answer = yield from exchange(s, Send("GET", url, params=params), repeatable=True)
    body = answer.body
    if answer.status != 200 or not isinstance(body, Mapping) or "results" not in body:
        raise UnexpectedAnswer(f"{answer.status} from {url}: not a page of results")
    return list(body["results"]), body.get("next")


def list_params(
    status: str | None = None,
    resource: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    page_size: int | None = None,
) -> dict[str, str]:
    """The query of ``GET orders/``, leaving out what is not asked for."""
    params = {
        "status": status,
        "resource": resource,
        "created_after": created_after.isoformat() if created_after else None,
        "created_before": created_before.isoformat() if created_before else None,
        "page_size": str(page_size) if page_size else None,
    }
    return {k: v for k, v in params.items() if v is not None}
