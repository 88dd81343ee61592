"""The sealing rules: a context opens with its own order's key only, and not once altered."""

from __future__ import annotations

import base64
import uuid
from uuid import UUID

import pytest

from orders.application.sealing import ContextSealer
from orders.domain.order import Order, recorded_hash_is_intact
from orders.domain.sealing import PREFIX, SealBrokenError, is_sealed, new_key, seal, unseal
from orders.infrastructure.keystore import MemoryKeyStore

CONTEXT = {"email": "ada@example.com", "steps": 3, "nested": {"ok": [1, 2.5, None]}}


@pytest.fixture
def order_id() -> UUID:
    return uuid.uuid4()


@pytest.fixture
def key() -> bytes:
    return new_key()


@pytest.fixture
def token(key: bytes, order_id: UUID) -> str:
    return seal(key, order_id, CONTEXT)


def flipped(token: str, at: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token[len(PREFIX) :]))
    raw[at] ^= 0x01
    return PREFIX + base64.urlsafe_b64encode(bytes(raw)).decode()


def test_a_sealed_context_opens_with_its_key_as_it_was(
    key: bytes, order_id: UUID, token: str
) -> None:
    assert unseal(key, order_id, token) == CONTEXT


def test_a_sealed_context_does_not_show_its_plaintext(token: str) -> None:
    assert is_sealed(token)
    raw = base64.urlsafe_b64decode(token[len(PREFIX) :])
    assert "ada@example.com" not in token and b"ada@example.com" not in raw


def test_sealing_twice_gives_two_different_tokens(key: bytes, order_id: UUID) -> None:
    assert seal(key, order_id, CONTEXT) != seal(key, order_id, CONTEXT)


def test_a_key_is_256_random_bits() -> None:
    assert len(new_key()) == 32 and new_key() != new_key()


def test_another_key_does_not_open_it(order_id: UUID, token: str) -> None:
    with pytest.raises(SealBrokenError):
        unseal(new_key(), order_id, token)


def test_it_does_not_open_as_another_orders_context(key: bytes, token: str) -> None:
    with pytest.raises(SealBrokenError):
        unseal(key, uuid.uuid4(), token)


@pytest.mark.parametrize("at", [0, 11, 12, 20, -1])  # nonce, ciphertext, tag
def test_one_bit_changed_anywhere_is_refused(
    key: bytes, order_id: UUID, token: str, at: int
) -> None:
    with pytest.raises(SealBrokenError):
        unseal(key, order_id, flipped(token, at))


@pytest.mark.parametrize("cut", [len(PREFIX) + 4, -4])
def test_a_truncated_token_is_refused(key: bytes, order_id: UUID, token: str, cut: int) -> None:
    with pytest.raises(SealBrokenError):
        unseal(key, order_id, token[:cut])


def test_text_that_is_not_a_token_is_refused(key: bytes, order_id: UUID) -> None:
    with pytest.raises(SealBrokenError):
        unseal(key, order_id, "sealed:v1:***not base64***")
    assert not is_sealed({"sealed": "v1"}) and not is_sealed("plain text")


def test_a_key_of_the_wrong_size_is_refused(order_id: UUID, token: str) -> None:
    with pytest.raises(SealBrokenError):
        unseal(b"short", order_id, token)


@pytest.fixture
def sealer() -> ContextSealer:
    return ContextSealer(MemoryKeyStore())


def test_the_sealer_opens_what_it_sealed(sealer: ContextSealer, order_id: UUID) -> None:
    assert sealer.open(order_id, sealer.seal(order_id, CONTEXT)) == CONTEXT


def test_once_forgotten_the_sealer_opens_nothing(sealer: ContextSealer, order_id: UUID) -> None:
    token = sealer.seal(order_id, CONTEXT)
    assert sealer.keys.forget(order_id) is True
    assert sealer.keys.forget(order_id) is False  # twice: nothing more destroyed
    assert sealer.open(order_id, token) is None


def test_an_altered_token_opens_as_nothing_rather_than_raise(
    sealer: ContextSealer, order_id: UUID
) -> None:
    token = sealer.seal(order_id, CONTEXT)
    assert isinstance(token, str)
    assert sealer.open(order_id, flipped(token, 20)) is None


def test_a_context_in_clear_reads_as_it_is_until_forgotten(
    sealer: ContextSealer, order_id: UUID
) -> None:
    assert sealer.open(order_id, CONTEXT) == CONTEXT
    assert sealer.keys.forget(order_id) is False  # no key to destroy, but remembered
    assert sealer.open(order_id, CONTEXT) is None


def test_with_sealing_off_new_contexts_are_recorded_in_clear(order_id: UUID) -> None:
    assert ContextSealer(MemoryKeyStore(), seal_new=False).seal(order_id, CONTEXT) == CONTEXT


def test_the_hash_chain_covers_the_sealed_token(token: str) -> None:
    order = Order._create(Order.Queued, resource_name="r", context=token, owner=None)
    queued = order.pending_events[0]
    assert recorded_hash_is_intact(queued)
    queued.__dict__["context"] = flipped(token, 20)
    assert not recorded_hash_is_intact(queued)


def test_context_forgotten_is_recorded_once_and_on_an_ended_order_too() -> None:
    order = Order(resource_name="r", context=CONTEXT, owner=None)
    order.start("w")
    order.complete("/done/")
    order.forget_context(key_destroyed=True)
    order.forget_context(key_destroyed=True)
    kinds = [type(e).__name__ for e in order.pending_events]
    assert kinds.count("ContextForgotten") == 1
    assert (order.context, order.context_erased, order.status) == ({}, True, "completed")
