"""Checking a receipt file, and optionally an exported stream, as ``orders verify-receipt`` does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from receipts.keys import key_ring
from receipts.signing import public_keys_of, verify
from receipts.stream import check_stream


def read_records(path: str | Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines export, one at a time (an export may be large)."""
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def verify_receipt_files(receipt_path: str, stream_path: str | None, keys_path: str | None) -> str:
    """One line saying what was verified; ReceiptError (a ValueError) when anything fails."""
    receipt = json.loads(Path(receipt_path).read_text(encoding="utf-8"))
    if keys_path:
        keys = public_keys_of(json.loads(Path(keys_path).read_text(encoding="utf-8")))
    else:
        keys = key_ring().public_keys()
    claims = verify(receipt, keys)
    said = (
        f"receipt OK: order {claims['order_id']} {claims['status']} at version "
        f"{claims['version']} ({claims['ended_at']}), head {claims['head']}, key {claims['kid']}"
    )
    if stream_path:
        count = check_stream(claims, read_records(stream_path))
        said += f"; stream OK: {count} events chain up to the head"
    return said
