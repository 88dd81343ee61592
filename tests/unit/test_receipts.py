"""Receipts without I/O: signing, verifying, tampering, key rotation, and the client's rules."""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from async_rest_client import receipts as client_receipts
from orders.application.tracker import OrderTracker
from projections.audit import event_record
from receipts.issue import BrokenRecordError, NotEndedError, issue
from receipts.signing import CLAIMS, KeyRing, ReceiptError, key_id, sign, unb64url, verify


@pytest.fixture
def ring() -> KeyRing:
    return KeyRing(Ed25519PrivateKey.generate())


@pytest.fixture
def completed(memory_tracker: OrderTracker) -> UUID:
    order_id = memory_tracker.place("regina", {"steps": 2, "size": 1.5, "name": "Grüße"}, "7")
    memory_tracker.dispatch(order_id, "d1")
    memory_tracker.start(order_id, "oven-1", "d1")
    memory_tracker.progress(order_id, 50, "half baked", 1, 2)
    memory_tracker.complete(order_id, "/pizzas/1/")
    return order_id


@pytest.fixture
def receipt(memory_tracker: OrderTracker, completed: UUID, ring: KeyRing) -> dict[str, Any]:
    return issue(memory_tracker.order_events(completed), ring)


def records(tracker: OrderTracker, order_id: UUID) -> list[dict[str, Any]]:
    """The order's events as `orders export` writes them, read back from JSON."""
    return [
        json.loads(json.dumps(event_record(e), ensure_ascii=False))
        for e in tracker.order_events(order_id)
    ]


def test_a_receipt_attests_the_ended_orders_head_version_status_and_end(
    memory_tracker: OrderTracker, completed: UUID, receipt: dict[str, Any]
) -> None:
    order = memory_tracker.get_order(completed)
    assert {k: receipt[k] for k in ("order_id", "status", "version", "head", "resource_url")} == {
        "order_id": str(completed),
        "status": "completed",
        "version": 5,
        "head": order.chain_hash,
        "resource_url": "/pizzas/1/",
    }
    assert receipt["ended_at"] == order.modified_on.isoformat()


def test_a_receipt_verifies_under_the_key_that_signed_it(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    assert verify(receipt, ring.public_keys())["head"] == receipt["head"]


def test_signing_the_same_order_twice_gives_the_same_receipt(
    memory_tracker: OrderTracker, completed: UUID, receipt: dict[str, Any], ring: KeyRing
) -> None:
    assert issue(memory_tracker.order_events(completed), ring) == receipt


@pytest.mark.parametrize("claim", [c for c in CLAIMS if c not in ("format", "alg")])
def test_a_receipt_with_any_claim_changed_is_refused(
    receipt: dict[str, Any], ring: KeyRing, claim: str
) -> None:
    forged = {**receipt, claim: 6 if claim == "version" else receipt[claim] + "x"}
    with pytest.raises(ReceiptError):
        verify(forged, ring.public_keys())


def test_a_receipt_with_another_signature_is_refused(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    signature = bytearray(unb64url(receipt["signature"]))
    signature[0] ^= 1
    forged = {**receipt, "signature": base64.urlsafe_b64encode(bytes(signature)).decode()}
    with pytest.raises(ReceiptError, match="signature"):
        verify(forged, ring.public_keys())


@pytest.mark.parametrize("change", ["added", "removed"])
def test_a_receipt_with_a_member_added_or_removed_is_refused(
    receipt: dict[str, Any], ring: KeyRing, change: str
) -> None:
    forged = {**receipt, "owner": "someone"} if change == "added" else dict(receipt)
    if change == "removed":
        del forged["resource_url"]
    with pytest.raises(ReceiptError, match="not a"):
        verify(forged, ring.public_keys())


def test_a_receipt_signed_before_a_rotation_still_verifies(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    rotated = KeyRing(Ed25519PrivateKey.generate(), retired=[ring.signing.public_key()])
    assert rotated.kid != receipt["kid"]
    assert verify(receipt, rotated.public_keys())["kid"] == receipt["kid"]
    assert [k["kid"] for k in rotated.key_set()["keys"]] == [rotated.kid, receipt["kid"]]


def test_a_receipt_signed_by_an_unknown_key_is_refused(receipt: dict[str, Any]) -> None:
    other = KeyRing(Ed25519PrivateKey.generate())
    with pytest.raises(ReceiptError, match="unknown key"):
        verify(receipt, other.public_keys())


def test_the_key_id_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037, appendix A.3: the thumbprint of the example Ed25519 public key.
    x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
    key = Ed25519PublicKey.from_public_bytes(unb64url(x))
    assert key_id(key) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_a_running_order_has_no_receipt(memory_tracker: OrderTracker, ring: KeyRing) -> None:
    order_id = memory_tracker.place("regina", {}, None)
    memory_tracker.start(order_id, "oven-1")
    with pytest.raises(NotEndedError):
        issue(memory_tracker.order_events(order_id), ring)


def test_a_stream_whose_stored_event_was_altered_is_not_signed(
    memory_tracker: OrderTracker, completed: UUID, ring: KeyRing
) -> None:
    events = memory_tracker.order_events(completed)
    events[3].__dict__["percent"] = 90  # as an UPDATE of the stored row would read back
    with pytest.raises(BrokenRecordError, match="event 4"):
        issue(events, ring)


def test_sign_refuses_claims_that_are_not_a_receipts(ring: KeyRing) -> None:
    with pytest.raises(ReceiptError):
        sign({"order_id": "x"}, ring)


# ------------------------------------------------------------------ the client's restatement


def test_the_client_verifies_a_receipt_with_the_published_key_set(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    checked = client_receipts.verify_receipt(receipt, ring.key_set())
    assert (checked.order_id, checked.version, checked.head) == (
        receipt["order_id"],
        receipt["version"],
        receipt["head"],
    )


@pytest.mark.parametrize("claim", ["status", "head", "version", "order_id", "ended_at"])
def test_the_client_refuses_a_receipt_with_a_claim_changed(
    receipt: dict[str, Any], ring: KeyRing, claim: str
) -> None:
    forged = {**receipt, claim: 1 if claim == "version" else "failed"}
    with pytest.raises(client_receipts.ReceiptInvalid, match="signature"):
        client_receipts.verify_receipt(forged, ring.key_set())


def test_the_client_refuses_a_key_set_that_relabels_another_key(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    impostor = KeyRing(Ed25519PrivateKey.generate()).key_set()
    impostor["keys"][0]["kid"] = receipt["kid"]
    with pytest.raises(client_receipts.ReceiptInvalid, match="not in the key set"):
        client_receipts.verify_receipt(receipt, impostor)


def test_the_client_and_the_server_sign_the_same_bytes(
    receipt: dict[str, Any], ring: KeyRing
) -> None:
    from receipts.signing import canonical

    claims = {k: v for k, v in receipt.items() if k != "signature"}
    assert client_receipts._signed_bytes(claims) == canonical(claims)


@pytest.mark.parametrize("ending", ["completed", "failed", "cancelled", "cancelled-running"])
def test_the_clients_chain_rule_gives_the_servers_hash_of_every_event(
    memory_tracker: OrderTracker, ending: str
) -> None:
    order_id = memory_tracker.place("calzone", {"nested": {"list": [1, 2.5, None]}, "€": "ü"}, None)
    if ending == "cancelled":
        memory_tracker.cancel(order_id, "changed my mind")
    else:
        memory_tracker.start(order_id, "w", None)
        memory_tracker.retry(order_id, "flaky")
        memory_tracker.start(order_id, "w", None)
        if ending == "completed":
            memory_tracker.complete(order_id, "/calzones/1/")
        elif ending == "failed":
            memory_tracker.fail(order_id, "burnt", "OvenError", "Traceback …")
        else:
            memory_tracker.cancel(order_id, "stop")
            memory_tracker.confirm_cancelled(order_id, "stop")
    exported = records(memory_tracker, order_id)
    assert [client_receipts.chain_hash(r) for r in exported] == [r["hash"] for r in exported]


def test_the_client_checks_an_exported_stream_up_to_the_receipts_head(
    memory_tracker: OrderTracker, completed: UUID, receipt: dict[str, Any], ring: KeyRing
) -> None:
    checked = client_receipts.verify_receipt(receipt, ring.key_set())
    assert client_receipts.verify_stream(checked, records(memory_tracker, completed)) == 5


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda rs: rs[2].update(worker="oven-9"), r"event 3 \(Started\) was altered"),
        (lambda rs: rs.pop(1), "event 2 is missing"),
        (lambda rs: rs.pop(), "ends at version 4"),
        (lambda rs: rs[1].update(prev_hash="0" * 64), "event 2 does not follow"),
    ],
    ids=["altered", "missing", "truncated", "relinked"],
)
def test_the_client_refuses_a_stream_that_was_edited(
    memory_tracker: OrderTracker,
    completed: UUID,
    receipt: dict[str, Any],
    ring: KeyRing,
    edit: Any,
    reason: str,
) -> None:
    exported = records(memory_tracker, completed)
    edit(exported)
    checked = client_receipts.verify_receipt(receipt, ring.key_set())
    with pytest.raises(client_receipts.ReceiptInvalid, match=reason):
        client_receipts.verify_stream(checked, exported)
