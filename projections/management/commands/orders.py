"""``manage.py orders``: audit, retention, erasure and callbacks of orders from the event store."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from callbacks.report import attempt_lines
from callbacks.report import detail as callback_detail
from orders.application.tracker import OrderNotFoundError
from orders.domain.order import event_type
from orders.infrastructure.runtime import get_tracker
from projections.audit import event_record, order_ids_in_store, state_record, verify
from projections.erasure import event_data, forget_order
from projections.management import archiving
from projections.management.output import RawStream
from projections.models import OrderSummary


def _moment(value: str) -> datetime:
    when = parse_datetime(value)
    if when is None:
        raise CommandError(f"not an ISO 8601 date and time: {value!r}")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _uuid(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise CommandError(f"not an order id: {value!r}") from None


class Command(BaseCommand):
    help = "Audit orders: print a history, replay a state, export events, verify the record."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        history = sub.add_parser("history", help="the order's events as a timeline")
        history.add_argument("order_id")
        history.add_argument("--json", action="store_true", help="JSON Lines, every field")
        replay = sub.add_parser("replay", help="the order's state after an event, or at a time")
        replay.add_argument("order_id")
        when = replay.add_mutually_exclusive_group(required=True)
        when.add_argument("--version", type=int)
        when.add_argument("--at", help="ISO 8601 date and time")
        export = sub.add_parser("export", help="stream matching orders' events as JSON Lines")
        export.add_argument("order", nargs="?", metavar="order_id", help="only this order's events")
        export.add_argument("--since", help="orders placed at or after this ISO time")
        export.add_argument("--status", help="queued, running, completed, failed, cancelled")
        callbacks = sub.add_parser("callbacks", help="the order's callback and each attempt")
        callbacks.add_argument("order_id")
        check = sub.add_parser("verify", help="recompute hash chains, compare the read models")
        target = check.add_mutually_exclusive_group(required=True)
        target.add_argument("order_id", nargs="?")
        target.add_argument("--all", action="store_true")
        forget = sub.add_parser("forget", help="erase the order's context (its key destroyed)")
        forget.add_argument("order_id")
        target.add_argument("--archive", help="check an archive file alone (no database)")
        archive = sub.add_parser("archive", help="move ended orders' streams to an archive file")
        archive.add_argument("--ended-before", required=True, type=_moment, help="ISO time")
        archive.add_argument("--status", action="append", help="completed, failed, cancelled")
        archive.add_argument("--to", required=True, help="the archive, e.g. orders.jsonl.gz")
        archive.add_argument("--dry-run", action="store_true", help="say what would go")
        archive.add_argument("--list", action="store_true", help="with --dry-run: the ids too")
        archive.add_argument("--batch", type=int, default=200, help="orders per batch")
        restore = sub.add_parser("restore", help="put an archive's streams back")
        restore.add_argument("archive_file")
        receipt = sub.add_parser("verify-receipt", help="check a receipt offline (receipts/)")
        receipt.add_argument("receipt", help="the receipt, as GET …/receipt/ answered it")
        receipt.add_argument("--stream", help="an `orders export` file to check against it")
        receipt.add_argument("--keys", help="a JWK Set file (default: this deployment's keys)")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action.replace('-', '_')}")(**options)

    def _events(self, order_id: str) -> list[Any]:
        events = get_tracker().order_events(_uuid(order_id))
        if not events:
            raise CommandError(f"no order {order_id}")
        return events

    def _history(self, order_id: str, json: bool = False, **_: Any) -> None:
        events = self._events(order_id)
        if json:
            for e in events:
                self.stdout.write(_dumps(event_record(e)))
            return
        queued = events[0].timestamp
        progress = 0
        for e in events:
            fields = event_data(e)  # a sealed context opened (null once forgotten)
            progress = {"Started": 0, "Completed": 100}.get(
                event_type(e), fields.get("percent", progress)
            )
            message = fields.get("message") or fields.get("reason") or ""
            detail = _detail(event_type(e), fields)
            when = f"{e.timestamp:%Y-%m-%d %H:%M:%S.%f}"[:-3]
            since = f"+{(e.timestamp - queued).total_seconds():.3f}s"
            line = f"{e.originator_version:>4}  {when}  {since:>12}  {event_type(e):<15} "
            line += f"{progress:>3}%  {message}{'  ' + detail if detail else ''}"
            self.stdout.write(line.rstrip())

    def _callbacks(self, order_id: str, **_: Any) -> None:
        lines = attempt_lines(self._events(order_id))
        for line in lines or [f"order {order_id} has no callback"]:
            self.stdout.write(line)

    def _replay(self, order_id: str, version: int | None, at: str | None, **_: Any) -> None:
        tracker = get_tracker()
        uuid = _uuid(order_id)
        try:
            if at is not None:
                version = tracker.version_at(uuid, _moment(at))
                if version == 0:
                    raise CommandError(f"order {order_id} did not exist yet at {at}")
            state = tracker.get_order(uuid, version=version)
        except OrderNotFoundError as exc:
            raise CommandError(f"no such order or version: {exc}") from None
        self.stdout.write(json.dumps(state_record(state), indent=2, ensure_ascii=False))

    def _export(self, order: str | None, since: str | None, status: str | None, **_: Any) -> None:
        if order:  # one order, straight from the store: what a receipt's stream check reads
            for e in self._events(order):
                self.stdout.write(_dumps(event_record(e)))
            return
        rows = OrderSummary.objects.order_by("created", "order_id")
        if since:
            rows = rows.filter(created__gte=_moment(since))
        if status:
            rows = rows.filter(status=status)
        tracker = get_tracker()
        ids = rows.values_list("order_id", flat=True)
        out = RawStream(self.stdout)
        with tqdm(total=ids.count(), unit="order", file=RawStream(self.stderr)) as bar:
            # One order's events at a time: memory stays constant, however many orders.
            for order_id in ids.iterator(chunk_size=500):
                for e in tracker.order_events(order_id):
                    out.write(_dumps(event_record(e)) + "\n")
                bar.update(1)

    def _archive(self, **options: Any) -> None:
        archiving.archive(
            self, options["ended_before"], options["status"], options["to"],
            options["dry_run"], options["batch"], options["list"],
        )  # fmt: skip

    def _restore(self, archive_file: str, **_: Any) -> None:
        archiving.restore(self, archive_file)

    def _verify(self, order_id: str | None, all: bool, archive: str | None, **_: Any) -> None:
        if archive:
            archiving.verify_file(self, archive)
            return
        tracker = get_tracker()
        ids = order_ids_in_store(tracker) if all else [_uuid(order_id or "")]
        total = OrderSummary.objects.count() if all else 1
        started = time.monotonic()
        with tqdm(total=total, unit="order", file=RawStream(self.stderr)) as bar:
            result = verify(tracker, ids, on_order=lambda _: bar.update(1))
        seconds = time.monotonic() - started
        if not all and result.events == 0:
            raise CommandError(f"no order {order_id}")
        findings = result.findings or []
        for finding in findings:
            self.stdout.write(str(finding))
        rate = result.events / seconds if seconds else float("inf")
        summary = (
            f"verified {result.orders} orders, {result.events} events in {seconds:.2f}s "
            f"({rate:,.0f} events/s): {len(findings)} problems"
        )
        if findings:
            raise CommandError(summary)
        self.stdout.write(summary)

    def _verify_receipt(self, receipt: str, stream: str | None, keys: str | None, **_: Any) -> None:
        from receipts.check import verify_receipt_files

        try:
            self.stdout.write(verify_receipt_files(receipt, stream, keys))
        except (ValueError, OSError) as exc:  # ReceiptError is a ValueError, as is bad JSON
            raise CommandError(f"receipt refused: {exc}") from None

    def _forget(self, order_id: str, **_: Any) -> None:
        try:
            done = forget_order(_uuid(order_id))
        except OrderNotFoundError:
            raise CommandError(f"no order {order_id}") from None
        how = (
            "its key destroyed: the stream keeps only ciphertext"
            if done.sealed
            else "recorded in clear before sealing: hidden from every read path and the read "
            "models blanked, but the event store still holds it (an append-only stream is "
            "not rewritten)"
        )
        already = "" if done.recorded else " (already forgotten: nothing more to do)"
        self.stdout.write(f"forgot the context of order {done.order_id}, {how}{already}")


def _dumps(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False, sort_keys=False, default=str)


def _detail(kind: str, fields: dict[str, Any]) -> str:
    if kind == "Queued":
        return f"{fields['resource_name']} {json.dumps(fields['context'])} owner={fields['owner']}"
    if kind == "Started":
        return f"worker {fields['worker']}, attempt {fields['attempt']}"
    if kind == "Progressed" and fields.get("total") is not None:
        return f"({fields['current']}/{fields['total']})"
    if kind == "Completed":
        return str(fields["resource_url"])
    if kind == "Failed":
        return f"[{fields['error_type']}]" if fields.get("error_type") else ""
    if kind == "Retried":
        return f"attempt {fields['attempt']}"
    return callback_detail(kind, fields)
