"""Checking a receipt offline: its Ed25519 signature, and an exported stream against its head.

No server and none of its code: a receipt (``GET /async/orders/<uuid>/receipt/``), the
deployment's JWK Set (``GET /.well-known/async-rest-keys``, fetched once and kept) and, to
check the whole record, the order's events as ``manage.py orders export <uuid>`` writes
them. Needs ``cryptography`` (imported only here, so the rest of the client does not).

The two rules are restated from the server, which keeps them in ``receipts/signing.py``
(the signed bytes) and ``orders/domain/chain.py`` (``chain_hash``); the client's tests
compare them on real events, so a change on one side that is not made on the other fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FORMAT = "async-rest.receipt.v1"
_CLAIMS = frozenset(
    {"format", "order_id", "resource_name", "status", "version", "head", "ended_at"}
    | {"resource_url", "alg", "kid"}
)
# Export names of the stored envelope fields; "type" is the export's own, "hash" the result.
_RENAMED = {"order_id": "originator_id", "version": "originator_version"}
_NOT_HASHED = {"type", "hash"}


class ReceiptInvalid(ValueError):
    """The receipt or the stream does not hold: the reason is the message."""


@dataclass(frozen=True)
class Receipt:
    """What a verified receipt attests."""

    order_id: str
    resource_name: str
    status: str
    version: int
    head: str
    ended_at: str
    resource_url: str
    kid: str


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signed_bytes(claims: Mapping[str, Any]) -> bytes:
    # Sorted keys, no spaces, UTF-8 (RFC 8785 JCS for strings and small integers).
    return json.dumps(claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _thumbprint(raw_key: bytes) -> str:
    # RFC 7638: SHA-256 of the required members, sorted, compact.
    x = base64.urlsafe_b64encode(raw_key).rstrip(b"=").decode()
    members = {"crv": "Ed25519", "kty": "OKP", "x": x}
    digest = hashlib.sha256(_signed_bytes(members)).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_receipt(receipt: Mapping[str, Any], key_set: Mapping[str, Any]) -> Receipt:
    """The receipt's claims if it is signed by a key of ``key_set``; ``ReceiptInvalid`` if not.

    A key's id is recomputed from the key (its RFC 7638 thumbprint), so a key set cannot
    pass one key off as another.
    """
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    claims = {k: v for k, v in receipt.items() if k != "signature"}
    if set(claims) != _CLAIMS or claims["format"] != FORMAT or claims["alg"] != "Ed25519":
        raise ReceiptInvalid(f"not a {FORMAT} receipt signed with Ed25519")
    keys = {}
    for member in key_set.get("keys", []):
        if member.get("kty") == "OKP" and member.get("crv") == "Ed25519":
            raw = _unb64url(str(member["x"]))
            keys[_thumbprint(raw)] = raw
    raw_key = keys.get(str(claims["kid"]))
    if raw_key is None:
        raise ReceiptInvalid(f"signed by a key that is not in the key set: {claims['kid']}")
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(
            _unb64url(str(receipt.get("signature", ""))), _signed_bytes(claims)
        )
    except (InvalidSignature, ValueError):
        raise ReceiptInvalid("the signature does not match the receipt's content") from None
    return Receipt(**{k: claims[k] for k in Receipt.__dataclass_fields__})


def chain_hash(record: Mapping[str, Any]) -> str:
    """An exported event's hash: SHA-256 over its ``prev_hash`` and its canonical content.

    The content is every stored field (the envelope under its stored names, the event's
    fields, ``prev_hash``) and the event's ``topic``, as compact JSON with sorted keys.
    """
    content = {_RENAMED.get(k, k): v for k, v in record.items() if k not in _NOT_HASHED}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((str(record.get("prev_hash", "")) + text).encode()).hexdigest()


def verify_stream(receipt: Receipt, records: Iterable[Mapping[str, Any]]) -> int:
    """How many events the order has, if its exported stream passes the receipt's head.

    ``records`` are JSON objects of ``manage.py orders export`` (one order's or many:
    other orders' records are skipped). Each link is recomputed; ``ReceiptInvalid`` names
    the first event that is missing, out of order or altered. Events after the one the
    receipt attests (callback deliveries, an erased context) must carry on the chain.
    """
    previous, count, attested = "", 0, False
    for record in records:
        if record.get("order_id") != receipt.order_id:
            continue
        count += 1
        if record.get("version") != count:
            raise ReceiptInvalid(f"event {count} is missing from the stream")
        if record.get("prev_hash") != previous:
            raise ReceiptInvalid(f"event {count} does not follow event {count - 1}")
        previous = chain_hash(record)
        if previous != record.get("hash"):
            raise ReceiptInvalid(f"event {count} ({record.get('type')}) was altered")
        if count == receipt.version:
            if previous != receipt.head:
                raise ReceiptInvalid(
                    f"event {count} has hash {previous[:12]}…; the receipt attests"
                    f" {receipt.head[:12]}…"
                )
            if record.get("timestamp") != receipt.ended_at:
                raise ReceiptInvalid("the stream's event is not the one the receipt attests")
            attested = True
    if count == 0:
        raise ReceiptInvalid(f"the stream holds no event of order {receipt.order_id}")
    if not attested:
        raise ReceiptInvalid(
            f"the stream ends at version {count}; the receipt attests version {receipt.version}"
        )
    return count


def read_export(path: str) -> list[dict[str, Any]]:
    """The records of an ``orders export`` file (JSON Lines)."""
    with open(path, encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]
