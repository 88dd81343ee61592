"""``manage.py orders archive|restore`` and ``orders verify --archive``: retention commands."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from orders.application.archive import Archiver, offline_mapper, status_names, verify_archive
from orders.application.archive_file import ArchiveError
from orders.infrastructure.eventstore import event_store_env
from orders.infrastructure.runtime import get_tracker
from projections.management.output import RawStream
from projections.projector import catch_up
from projections.retention import ReadModelRetention


def archive(
    command: BaseCommand,
    ended_before: datetime,
    statuses: list[str] | None,
    to: str,
    dry_run: bool,
    batch: int,
    list_ids: bool = False,
) -> None:
    tracker = get_tracker()
    read_side = ReadModelRetention()
    names = status_names(statuses)
    # Orders are chosen only once projected: bring the read models up to date first.
    catch_up(tracker)
    started = time.monotonic()
    try:
        archiver = Archiver(tracker, read_side)
    except NotImplementedError as exc:  # an in-memory store
        raise CommandError(str(exc)) from None
    total = read_side.count(ended_before, names)
    bar = tqdm(total=total, unit="order", file=RawStream(command.stderr))
    try:
        report = archiver.archive(
            None if dry_run else Path(to), ended_before, names, batch=batch, on_batch=bar.update
        )
    except (ArchiveError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    finally:
        bar.close()
    seconds = time.monotonic() - started
    out = command.stdout
    if report.repaired_at is not None:
        out.write(f"cut off an incomplete batch at byte {report.repaired_at} (a run interrupted)")
    if report.settled:
        out.write(f"finished removing {report.settled} orders an interrupted run had archived")
    statuses_seen = ", ".join(f"{n} {s}" for s, n in sorted(report.by_status.items())) or "none"
    verb = "would archive" if dry_run else "archived"
    where = "" if dry_run else f" to {to}"
    out.write(
        f"{verb} {report.orders} orders, {report.events} events ({statuses_seen}) ended before "
        f"{ended_before.isoformat()}{where} in {seconds:.2f}s"
    )
    for reason, n in sorted(report.skipped.items()):
        out.write(f"kept {n}: {reason}")
    if dry_run and list_ids:
        for order_id in report.would_go:
            out.write(str(order_id))


def verify_file(command: BaseCommand, path: str) -> None:
    if not Path(path).is_file():
        raise CommandError(f"no archive {path}")
    started = time.monotonic()
    # No database: the mapper decodes the stored states alone.
    check = verify_archive(Path(path), offline_mapper(dict(get_tracker_env())))
    seconds = time.monotonic() - started
    for problem in check.problems:
        command.stdout.write(problem)
    summary = (
        f"verified archive {path}: {check.orders} orders, {check.events} events in "
        f"{seconds:.2f}s: {len(check.problems)} problems"
    )
    if check.problems:
        raise CommandError(summary)
    command.stdout.write(summary)


def get_tracker_env() -> dict[str, str]:
    """The configured store's environment, for its cipher or compressor (no connection)."""
    return event_store_env(str(settings.ASYNC_REST["EVENTSTORE_URL"]))


def restore(command: BaseCommand, path: str, **_: Any) -> None:
    if not Path(path).is_file():
        raise CommandError(f"no archive {path}")
    tracker = get_tracker()
    started = time.monotonic()
    with tqdm(unit="order", file=RawStream(command.stderr)) as bar:
        try:
            report = Archiver(tracker, ReadModelRetention()).restore(
                Path(path), on_batch=bar.update
            )
        except (ArchiveError, NotImplementedError) as exc:
            raise CommandError(str(exc)) from None
    seconds = time.monotonic() - started
    for problem in report.problems:
        command.stdout.write(problem)
    summary = (
        f"restored {report.restored} orders, {report.events} events from {path} in "
        f"{seconds:.2f}s ({report.present} already there): {len(report.problems)} problems"
    )
    if report.problems:
        raise CommandError(summary)
    command.stdout.write(summary)
