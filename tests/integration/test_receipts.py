"""Receipts on real stores and files: key files, rotation, production's refusal, the commands."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.management import CommandError, call_command

from async_rest_client.receipts import chain_hash as client_chain_hash
from async_rest_client.receipts import read_export, verify_receipt, verify_stream
from orders.application.tracker import OrderTracker
from receipts import keys
from receipts.issue import issue
from receipts.keys import KeyConfigError, generate_key_file, load_ring
from tests.services import ROOT

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("orders", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def key_files(tmp_path: Path) -> dict[str, Path]:
    """An old key (retired, kept as its public PEM) and the new one that signs."""
    old, new = tmp_path / "old.pem", tmp_path / "new.pem"
    generate_key_file(old)
    generate_key_file(new)
    old_public = tmp_path / "old.pub.pem"
    public = load_ring(old).signing.public_key()
    old_public.write_bytes(public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return {"old": old, "new": new, "old_public": old_public}


@pytest.fixture
def deployment_keys() -> Iterator[None]:
    """Whatever a test installs as this process's key ring is forgotten afterwards."""
    yield
    keys.uninstall()


@pytest.fixture
def ended(store_tracker: OrderTracker) -> UUID:
    order_id = store_tracker.place("regina", {"steps": 2, "name": "Grüße", "size": 0.1}, "1")
    store_tracker.dispatch(order_id, "d1")
    store_tracker.start(order_id, "oven-1", "d1")
    store_tracker.progress(order_id, 50, "half baked", 1, 2)
    store_tracker.complete(order_id, "/pizzas/1/")
    return order_id


@pytest.fixture
def receipt_file(ended: UUID, store_tracker: OrderTracker, tmp_path: Path) -> Path:
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(issue(store_tracker.order_events(ended), keys.key_ring())))
    return path


@pytest.fixture
def export_file(ended: UUID, tmp_path: Path) -> Path:
    path = tmp_path / "stream.jsonl"
    path.write_text(run("export", str(ended)), encoding="utf-8")
    return path


# ------------------------------------------------------------------ key files


def test_the_embedded_default_generates_its_key_once_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "var" / "receipt-key.pem"
    first = load_ring(path, generate=True)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_ring(path, generate=True).kid == first.kid


def test_a_generated_key_is_not_replaced_by_another_process_generating_one(
    tmp_path: Path,
) -> None:
    path = tmp_path / "receipt-key.pem"
    generate_key_file(path)
    before = path.read_bytes()
    generate_key_file(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["receipt-key.pem"]  # no temporary left


def test_retired_keys_are_read_from_public_or_private_pem_files(
    key_files: dict[str, Path],
) -> None:
    old_kid = load_ring(key_files["old"]).kid
    for retired in (key_files["old"], key_files["old_public"]):
        ring = load_ring(key_files["new"], [retired])
        assert list(ring.public_keys()) == [ring.kid, old_kid]


@pytest.mark.parametrize("content", [None, b"not a key", "rsa"], ids=["missing", "junk", "rsa"])
def test_a_key_file_that_is_missing_or_not_ed25519_is_refused(
    tmp_path: Path, content: bytes | str | None
) -> None:
    path = tmp_path / "key.pem"
    if content == "rsa":
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        content = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    if isinstance(content, bytes):
        path.write_bytes(content)
    with pytest.raises(KeyConfigError, match=str(path)):
        load_ring(path)


def _start_production(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("ASYNC_REST_", "DJANGO_"))}
    base.update(
        DJANGO_SETTINGS_MODULE="config.production",
        DJANGO_SECRET_KEY="s",
        DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
        EVENTSTORE_URL="postgres://nobody@127.0.0.1:1/none",
        CELERY_BROKER_URL="redis://127.0.0.1:1/0",
        PYTHONPATH=str(ROOT),
        **env,
    )
    code = "import django; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code], env=base, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_its_receipt_key(tmp_path: Path) -> None:
    started = _start_production({"ASYNC_REST_VAR_DIR": str(tmp_path)})
    assert started.returncode != 0
    assert "ASYNC_REST_RECEIPT_KEY_FILE must be set" in started.stderr
    assert not (tmp_path / "receipt-key.pem").exists()  # and never makes one


def test_production_refuses_to_start_when_its_receipt_key_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.pem"
    started = _start_production({"ASYNC_REST_RECEIPT_KEY_FILE": str(missing)})
    assert started.returncode != 0
    assert f"cannot read receipt key {missing}" in started.stderr
    assert not missing.exists()


# ------------------------------------------------------------------ the commands, real stores


def test_export_of_one_order_carries_every_field_its_chain_covers(
    ended: UUID, export_file: Path
) -> None:
    records = read_export(str(export_file))
    assert [r["version"] for r in records] == [1, 2, 3, 4, 5]
    assert records[0]["originator_topic"] == "async_rest.Order"
    assert [client_chain_hash(r) for r in records] == [r["hash"] for r in records]


def test_verify_receipt_accepts_an_honest_receipt_and_stream(
    ended: UUID, receipt_file: Path, export_file: Path
) -> None:
    said = run("verify-receipt", str(receipt_file), "--stream", str(export_file))
    assert said.startswith(f"receipt OK: order {ended} completed at version 5")
    assert "stream OK: 5 events chain up to the head" in said


def test_verify_receipt_uses_a_key_set_file_when_given(receipt_file: Path, tmp_path: Path) -> None:
    key_set = tmp_path / "keys.json"
    key_set.write_text(json.dumps(keys.key_ring().key_set()))
    assert run("verify-receipt", str(receipt_file), "--keys", str(key_set)).startswith("receipt OK")


def test_verify_receipt_refuses_a_receipt_whose_status_was_edited(receipt_file: Path) -> None:
    receipt = json.loads(receipt_file.read_text())
    receipt_file.write_text(json.dumps({**receipt, "status": "failed"}))
    with pytest.raises(CommandError, match="signature does not match"):
        run("verify-receipt", str(receipt_file))


def test_verify_receipt_refuses_a_stream_with_an_event_edited(
    receipt_file: Path, export_file: Path
) -> None:
    records = read_export(str(export_file))
    records[3]["percent"] = 90
    export_file.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(CommandError, match=r"event 4 \(Progressed\) was altered"):
        run("verify-receipt", str(receipt_file), "--stream", str(export_file))


def test_verify_receipt_checks_the_order_in_a_whole_export(
    ended: UUID, store_tracker: OrderTracker, receipt_file: Path, tmp_path: Path
) -> None:
    other = store_tracker.place("margherita", {}, "2")
    store_tracker.cancel(other, "no")
    whole = tmp_path / "all.jsonl"
    whole.write_text(run("export"), encoding="utf-8")
    said = run("verify-receipt", str(receipt_file), "--stream", str(whole))
    assert "stream OK: 5 events" in said


def test_a_receipt_from_before_a_rotation_verifies_after_it(
    ended: UUID,
    store_tracker: OrderTracker,
    key_files: dict[str, Path],
    tmp_path: Path,
    deployment_keys: None,
) -> None:
    conf: dict[str, Any] = {**settings.ASYNC_REST, "RECEIPT_KEY_GENERATE": False}
    keys.install({**conf, "RECEIPT_KEY_FILE": key_files["old"], "RECEIPT_RETIRED_KEYS": []})
    before = tmp_path / "before.json"
    before.write_text(json.dumps(issue(store_tracker.order_events(ended), keys.key_ring())))
    keys.install(
        {**conf, "RECEIPT_KEY_FILE": key_files["new"], "RECEIPT_RETIRED_KEYS": [key_files["old"]]}
    )
    assert run("verify-receipt", str(before)).startswith("receipt OK")
    keys.install({**conf, "RECEIPT_KEY_FILE": key_files["new"], "RECEIPT_RETIRED_KEYS": []})
    with pytest.raises(CommandError, match="unknown key"):
        run("verify-receipt", str(before))


def test_the_client_checks_a_real_exported_stream_against_a_real_receipt(
    receipt_file: Path, export_file: Path
) -> None:
    receipt = verify_receipt(json.loads(receipt_file.read_text()), keys.key_ring().key_set())
    assert verify_stream(receipt, read_export(str(export_file))) == 5


def test_an_event_after_the_end_leaves_the_receipt_as_it_was(
    ended: UUID, store_tracker: OrderTracker, receipt_file: Path
) -> None:
    store_tracker.forget_context(ended, key_destroyed=True)  # recorded after Completed
    again = issue(store_tracker.order_events(ended), keys.key_ring())
    assert again == json.loads(receipt_file.read_text())


def test_a_stream_longer_than_the_receipt_still_passes_its_head(
    ended: UUID, store_tracker: OrderTracker, receipt_file: Path, tmp_path: Path
) -> None:
    store_tracker.forget_context(ended, key_destroyed=True)
    longer = tmp_path / "longer.jsonl"
    longer.write_text(run("export", str(ended)), encoding="utf-8")
    receipt = verify_receipt(json.loads(receipt_file.read_text()), keys.key_ring().key_set())
    assert (receipt.version, verify_stream(receipt, read_export(str(longer)))) == (5, 6)


@pytest.fixture
def keys_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps(keys.key_ring().key_set()))
    return path


def test_the_clients_command_line_verifies_a_receipt_and_its_stream_offline(
    receipt_file: Path, export_file: Path, keys_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from async_rest_client.cli import OK, main

    argv = ["verify-receipt", str(receipt_file), "--keys", str(keys_file)]
    assert main([*argv, "--stream", str(export_file)]) == OK
    assert "stream OK: 5 events chain up to the head" in capsys.readouterr().out


def test_the_clients_command_line_exits_1_for_a_refused_receipt(
    receipt_file: Path, keys_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from async_rest_client.cli import FAILED, main

    receipt = json.loads(receipt_file.read_text())
    receipt_file.write_text(json.dumps({**receipt, "version": 4}))
    assert main(["verify-receipt", str(receipt_file), "--keys", str(keys_file)]) == FAILED
    assert "receipt refused: the signature does not match" in capsys.readouterr().err
