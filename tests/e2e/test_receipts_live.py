"""Receipts over real HTTP from gunicorn, with a real worker, checked offline afterwards."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from async_rest_client.receipts import verify_receipt, verify_stream
from receipts.keys import load_ring
from tests.e2e.stack import LiveStack, embedded_stack, production_stack

pytestmark = pytest.mark.services


@pytest.fixture(scope="module", params=["embedded", "production"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    var_dir = tmp_path_factory.mktemp(f"receipts-{request.param}")
    make = embedded_stack if request.param == "embedded" else production_stack
    with make(var_dir) as live:
        yield live.start()


@pytest.fixture(scope="module")
def ended(stack: LiveStack) -> dict:
    placed = stack.request(
        "POST", "/async/regina/order/", {"context": {"steps": 3, "step_seconds": 0.05}}
    )
    final, _ = stack.poll_until_done(placed.headers["Location"])
    assert final.status == 201, final.body
    receipt = stack.request("GET", placed.headers["Location"] + "receipt/")
    assert receipt.status == 200, receipt.body
    return {"order": final.body, "receipt": receipt.body}


def test_the_receipt_is_signed_by_the_deployments_key_file(stack: LiveStack, ended: dict) -> None:
    key_file = stack.var_dir / "receipt-key.pem"  # embedded: generated; production: given
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert ended["receipt"]["kid"] == load_ring(key_file).kid


def test_the_receipt_and_the_exported_stream_verify_offline(stack: LiveStack, ended: dict) -> None:
    stack.headers, token = {}, stack.headers  # the key set needs no credentials
    try:
        keys = stack.request("GET", "/.well-known/async-rest-keys").body
    finally:
        stack.headers = token
    receipt = verify_receipt(ended["receipt"], keys)
    export = stack.manage("orders", "export", ended["order"]["uuid"])
    records = [json.loads(line) for line in export.splitlines()]
    assert verify_stream(receipt, records) == ended["order"]["version"]


def test_verify_receipt_checks_them_with_the_deployments_keys(
    stack: LiveStack, ended: dict, tmp_path: Path
) -> None:
    receipt_file, stream_file = tmp_path / "receipt.json", tmp_path / "stream.jsonl"
    receipt_file.write_text(json.dumps(ended["receipt"]))
    stream_file.write_text(stack.manage("orders", "export", ended["order"]["uuid"]))
    said = stack.manage("orders", "verify-receipt", str(receipt_file), "--stream", str(stream_file))
    assert said.startswith(f"receipt OK: order {ended['order']['uuid']} completed")
    assert "stream OK" in said
