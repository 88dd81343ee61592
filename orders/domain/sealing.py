"""Sealing an order's context: AES-256-GCM with one key per order, pure (no I/O, no store).

A sealed context is a text token, ``sealed:v1:<base64url(nonce | ciphertext | tag)>``,
recorded in the ``Queued`` event in place of the plaintext, so the stream's hash chain
covers the ciphertext: destroying the key makes the context unreadable and leaves every
recorded byte, and thus ``orders verify``, as it was. The order's id is the associated
data: a token copied onto another order does not open there, even with that order's key.
A context recorded before sealing existed is a JSON object (a dict), never a text, so the
two are told apart without a marker that a client's context could imitate.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # GCM's standard nonce; random, and each key seals exactly one context


class SealBrokenError(ValueError):
    """The token does not open with this key: altered, truncated, another order's, wrong key."""


def new_key() -> bytes:
    """A fresh random 256-bit key (one per order)."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def is_sealed(recorded: Any) -> bool:
    """Whether a recorded context is a sealed token (else it is a plaintext dict, or nothing)."""
    return isinstance(recorded, str) and recorded.startswith(PREFIX)


def _associated_data(order_id: UUID) -> bytes:
    return f"async-rest order context {order_id}".encode()


def seal(key: bytes, order_id: UUID, context: dict[str, Any]) -> str:
    """The sealed token of ``context`` for the order ``order_id``."""
    plaintext = json.dumps(context, ensure_ascii=False, separators=(",", ":")).encode()
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext, _associated_data(order_id))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, order_id: UUID, token: str) -> dict[str, Any]:
    """The context sealed in ``token``; :class:`SealBrokenError` if it does not open."""
    if not is_sealed(token):
        raise SealBrokenError("not a sealed context")
    try:
        raw = base64.urlsafe_b64decode(token[len(PREFIX) :].encode("ascii"))
    except (binascii.Error, UnicodeEncodeError):
        raise SealBrokenError("the sealed context is not valid base64") from None
    nonce, sealed = raw[:NONCE_BYTES], raw[NONCE_BYTES:]
    if len(nonce) != NONCE_BYTES:
        raise SealBrokenError("the sealed context is truncated")
    try:
        plaintext = AESGCM(key).decrypt(nonce, sealed, _associated_data(order_id))
    except (InvalidTag, ValueError):
        # ValueError: a key of the wrong size. InvalidTag: anything else that does not match.
        raise SealBrokenError(f"the sealed context of order {order_id} does not open") from None
    context = json.loads(plaintext)
    if not isinstance(context, dict):
        raise SealBrokenError("the sealed context is not a JSON object")
    return context
