"""The receipt's rules, free of Django: its claims, their canonical bytes, Ed25519 keys and ids.

A receipt is a JSON object of claims plus ``signature``: Ed25519 (RFC 8032) over the
claims' canonical JSON (sorted keys, no spaces, UTF-8; for claims that are strings and
small integers this is RFC 8785 JCS). ``kid`` is the RFC 7638 thumbprint of the signing
key, and the public keys are published as a JWK Set (RFC 8037 ``OKP``/``Ed25519``), so an
auditor can check a receipt with any JOSE tool, or with ``async_rest_client.receipts``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

FORMAT = "async-rest.receipt.v1"
ALGORITHM = "Ed25519"
# Every claim a version-1 receipt holds; a receipt with one more or one less is refused.
CLAIMS = (
    "format",
    "order_id",
    "resource_name",
    "status",
    "version",
    "head",
    "ended_at",
    "resource_url",
    "alg",
    "kid",
)


class ReceiptError(ValueError):
    """A receipt that is malformed, signed by an unknown key, or whose signature fails."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def canonical(claims: Mapping[str, Any]) -> bytes:
    """The bytes that are signed: the claims as compact JSON with sorted keys, in UTF-8."""
    return json.dumps(
        claims, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """The key's RFC 7638 JWK thumbprint: derived from the key, so it needs no configuring."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(raw_public(key))}
    digest = hashlib.sha256(canonical(members)).digest()
    return b64url(digest)


def jwk(key: Ed25519PublicKey) -> dict[str, str]:
    """One public key as a JWK (RFC 8037)."""
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(raw_public(key)),
        "kid": key_id(key),
        "alg": "EdDSA",
        "use": "sig",
    }


@dataclass
class KeyRing:
    """The key that signs new receipts, and every public key whose receipts still verify."""

    signing: Ed25519PrivateKey
    retired: list[Ed25519PublicKey] = field(default_factory=list)

    @property
    def kid(self) -> str:
        return key_id(self.signing.public_key())

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        keys = [self.signing.public_key(), *self.retired]
        return {key_id(k): k for k in keys}

    def key_set(self) -> dict[str, list[dict[str, str]]]:
        """The JWK Set to publish: the current key first, then the retired ones."""
        return {"keys": [jwk(k) for k in self.public_keys().values()]}


def sign(claims: Mapping[str, Any], ring: KeyRing) -> dict[str, Any]:
    """The receipt: ``claims`` with this ring's ``alg`` and ``kid``, and the signature."""
    signed = {"format": FORMAT, **claims, "alg": ALGORITHM, "kid": ring.kid}
    _check_shape(signed)
    return {**signed, "signature": b64url(ring.signing.sign(canonical(signed)))}


def public_keys_of(key_set: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK Set, by ``kid`` (recomputed: a set cannot relabel a key)."""
    keys: dict[str, Ed25519PublicKey] = {}
    for member in key_set.get("keys", []):
        if member.get("kty") != "OKP" or member.get("crv") != "Ed25519":
            continue
        key = Ed25519PublicKey.from_public_bytes(unb64url(str(member["x"])))
        keys[key_id(key)] = key
    return keys


def verify(receipt: Mapping[str, Any], keys: Mapping[str, Ed25519PublicKey]) -> dict[str, Any]:
    """The receipt's claims if its signature holds under one of ``keys``; ReceiptError if not."""
    if not isinstance(receipt, Mapping):
        raise ReceiptError("a receipt is a JSON object")
    claims = {k: v for k, v in receipt.items() if k != "signature"}
    _check_shape(claims)
    key = keys.get(str(claims["kid"]))
    if key is None:
        raise ReceiptError(f"signed by an unknown key: kid {claims['kid']!r}")
    try:
        signature = unb64url(str(receipt.get("signature", "")))
        key.verify(signature, canonical(claims))
    except (InvalidSignature, ValueError):
        raise ReceiptError("the signature does not match the receipt's content") from None
    return claims


def _check_shape(claims: Mapping[str, Any]) -> None:
    names = set(claims)
    if names != set(CLAIMS):
        missing, extra = sorted(set(CLAIMS) - names), sorted(names - set(CLAIMS))
        raise ReceiptError(f"not a {FORMAT} receipt (missing {missing}, unexpected {extra})")
    if claims["format"] != FORMAT or claims["alg"] != ALGORITHM:
        raise ReceiptError(f"unsupported format or algorithm: {claims['format']}/{claims['alg']}")
    if isinstance(claims["version"], bool) or not isinstance(claims["version"], int):
        raise ReceiptError("version must be an integer")
    if not all(isinstance(claims[k], str) for k in CLAIMS if k != "version"):
        raise ReceiptError("every claim but version is a string")
