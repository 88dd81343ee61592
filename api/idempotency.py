"""The Idempotency-Key header (IETF httpapi draft): replay, 409 while in flight, 422 on misuse."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from api.inputs import clean_text
from api.models import IdempotencyKey
from api.problems import Problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
# A first request that never finished (its process died) stops blocking its key after this.
IN_FLIGHT_LEASE = timedelta(seconds=60)


def fingerprint(
    resource_name: str, context: dict[str, Any], callback: dict[str, Any] | None = None
) -> str:
    # A request without a callback keeps the fingerprint it had before callbacks existed.
    request = [resource_name, context] + ([callback] if callback is not None else [])
    text = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def ttl() -> timedelta:
    return timedelta(seconds=float(settings.ASYNC_REST["IDEMPOTENCY_TTL"]))


@dataclass
class Claim:
    record: IdempotencyKey
    replay: bool


def claim(owner: str, key: str, print_: str) -> Claim:
    """Take the key for this request, or find the earlier request that holds it."""
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Problem(
            400, "Bad Request", f"{HEADER} must be 1 to {MAX_KEY_LENGTH} characters.", HEADER
        )
    now = timezone.now()
    for _ in range(3):
        try:
            with transaction.atomic():
                record = IdempotencyKey.objects.create(owner=owner, key=key, fingerprint=print_)
            return Claim(record, replay=False)
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(owner=owner, key=key).first()
        if existing is None:
            continue  # released meanwhile: try again
        age = now - existing.created
        expired = age > ttl()
        abandoned = existing.status_code is None and age > IN_FLIGHT_LEASE
        if expired or abandoned:
            IdempotencyKey.objects.filter(pk=existing.pk, created=existing.created).delete()
            continue
        if existing.fingerprint != print_:
            raise Problem(
                422,
                "Unprocessable Content",
                f"This {HEADER} was used with another request; use a new key.",
                HEADER,
            )
        if existing.status_code is None:
            raise Problem(
                409,
                "Conflict",
                f"A request with this {HEADER} is still being handled; retry later.",
                HEADER,
                headers={"Retry-After": "1"},
            )
        return Claim(existing, replay=True)
    raise Problem(409, "Conflict", f"This {HEADER} is contended; retry later.", HEADER)


def idempotent(
    request: Request,
    owner: str | None,
    fingerprint_of: tuple[str, dict[str, Any], dict[str, Any] | None],
    place: Callable[[], UUID],
    answer: Callable[[UUID], Response],
    locate: Callable[[UUID], str],
) -> Response:
    """Run ``place`` once per ``Idempotency-Key`` and answer every retry as the first time.

    ``answer(order_id)`` builds the response; ``locate(order_id)`` is its Location, kept
    on its own for when building the answer fails.

    Without the header, it places and answers. With it: a retry of a request already
    answered gets that answer again (``Idempotent-Replayed: true``); the key is freed if
    nothing was placed; once the order is placed the key is kept, even if building the
    answer fails, so that a retry finds that order instead of placing another.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return answer(place())
    taken = claim(owner or "anonymous", clean_text(key, HEADER), fingerprint(*fingerprint_of))
    if taken.replay:
        record = taken.record
        return Response(
            record.body,
            status=record.status_code,
            headers={"Location": record.location, "Idempotent-Replayed": "true"},
        )
    try:
        order_id = place()
    except BaseException:
        release(taken.record)  # nothing was placed: the key is free
        raise
    try:
        response = answer(order_id)
    except BaseException:
        remember(taken.record, 302, locate(order_id), {"uuid": str(order_id)})
        raise
    remember(taken.record, response.status_code, response["Location"], response.data)
    return response


def remember(record: IdempotencyKey, status_code: int, location: str, body: Any) -> None:
    record.status_code, record.location, record.body = status_code, location, body
    record.save(update_fields=["status_code", "location", "body"])


def release(record: IdempotencyKey) -> None:
    """Nothing is stored for a request that failed."""
    IdempotencyKey.objects.filter(pk=record.pk).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.filter(created__lt=timezone.now() - ttl()).delete()
    return deleted
