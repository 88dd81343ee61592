"""Retention: archive ended orders' streams to a file and remove them, verify, restore.

The order of the writes is what makes a crash harmless: (1) the batch goes to the archive
and is fsynced, (2) its streams are deleted from the event store in one transaction,
(3) its read models are deleted. An order is thus never half removed: its events are all
in the store or all gone, and once gone they are in a durable archive. A re-run with the
same archive first *settles* what it holds (deletes what a crash left in the store or in
the read models, after checking the store's rows are byte for byte those archived), then
carries on. Orders are chosen only once the catch-up pass has projected all their events,
so it never writes read models again for an order removed behind it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.persistence import Mapper

from orders.application.archive_file import (
    ArchivedOrder,
    ArchiveError,
    ArchiveWriter,
    Truncated,
    archived_orders,
)
from orders.application.tracker import OrderTracker, replay
from orders.domain.order import TERMINAL, Order, event_type, recorded_hash_is_intact
from orders.infrastructure.streams import StoredRow, StreamTable

ENDED = tuple(sorted(str(s) for s in TERMINAL))


class ReadSide(Protocol):
    """What retention needs of the read models (``projections.retention`` provides it)."""

    def candidates(
        self, ended_before: datetime, statuses: Sequence[str], after: UUID | None, limit: int
    ) -> list[UUID]:
        """Ids of orders the read models show ended before then, ascending, after ``after``."""
        ...

    def projected_up_to(self) -> int:
        """The notification id up to which the catch-up pass has projected the store."""
        ...

    def remove(self, order_ids: Sequence[UUID]) -> None:
        """Delete the read models of these orders (idempotent)."""
        ...

    def together(self) -> AbstractContextManager[Any]:
        """One transaction for the projections of a batch of restored orders."""
        ...

    def project(self, tracker: OrderTracker, order: Order, events: Sequence[Any]) -> None:
        """Write the read models of a restored order (idempotent)."""
        ...


@dataclass
class ArchiveReport:
    orders: int = 0
    events: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    settled: int = 0  # orders a previous, interrupted run had archived but not fully removed
    repaired_at: int | None = None  # where a torn last member was cut off
    would_go: list[UUID] = field(default_factory=list)  # a dry run's orders (first thousand)


@dataclass
class ArchiveCheck:
    orders: int = 0
    events: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class RestoreReport:
    restored: int = 0
    present: int = 0  # already in the store, identical: left as they are
    events: int = 0
    problems: list[str] = field(default_factory=list)


def offline_mapper(env: dict[str, str]) -> Mapper[UUID]:
    """The tracker's event mapper without an event store: decodes archived events alone.

    A cipher or compressor configured for the store (``CIPHER_*``, ``COMPRESSOR_*``) is
    kept, since archived states are the stored bytes.
    """
    kept = {k: v for k, v in env.items() if "CIPHER" in k or "COMPRESSOR" in k}
    return OrderTracker(env={**kept, "PERSISTENCE_MODULE": "eventsourcing.popo"}).mapper


def decode(mapper: Mapper[UUID], rows: Sequence[StoredRow]) -> list[Any]:
    return [mapper.to_domain_event(r.stored_event()) for r in rows]


def stream_problems(order_id: UUID, events: list[Any]) -> list[str]:
    """Why a stream cannot be archived or restored as it is (nothing: it is whole and ended)."""
    versions = [e.originator_version for e in events]
    if versions != list(range(1, len(events) + 1)):
        return [f"{order_id}: versions are not 1..{len(events)}: {versions[:20]}"]
    problems, previous = [], ""
    for e in events:
        if e.originator_id != order_id:
            problems.append(f"{order_id}: event {e.originator_version} belongs to another order")
        stored = e.__dict__
        if stored.get("prev_hash", "") != previous:
            problems.append(f"{order_id}: broken chain: event {e.originator_version} does not "
                            "follow the previous one")  # fmt: skip
        if not recorded_hash_is_intact(e):
            problems.append(f"{order_id}: broken chain: event {e.originator_version} "
                            f"({event_type(e)}) does not match its recorded hash")  # fmt: skip
        previous = stored.get("hash", "")
    if not problems:
        order = replay(None, events)
        if order is None or not order.is_terminal:
            problems.append(f"{order_id}: not ended ({getattr(order, 'status', 'no events')})")
    return problems


def _readable(events: list[Any]) -> list[dict[str, Any]]:
    return [
        {
            "type": event_type(e),
            "timestamp": e.timestamp.isoformat(),
            "prev_hash": e.__dict__.get("prev_hash", ""),
            "hash": e.__dict__.get("hash", ""),
        }
        for e in events
    ]


def as_archived(rows: Sequence[StoredRow], events: list[Any]) -> ArchivedOrder:
    """An order's stream as the archive keeps it (``events``: the rows decoded)."""
    order = replay(None, events)
    assert isinstance(order, Order)
    return ArchivedOrder(order.id, str(order.status), events[-1].timestamp, list(rows),
                         _readable(events))  # fmt: skip


def stored_rows(tracker: OrderTracker, order_id: UUID) -> list[StoredRow]:
    """An order's events as its tracker would store them (position 0: not stored)."""
    return [
        StoredRow(order_id, s.originator_version, s.topic, s.state, 0)
        for s in map(tracker.mapper.to_stored_event, tracker.order_events(order_id))
    ]


def _same_rows(a: Sequence[StoredRow], b: Sequence[StoredRow]) -> bool:
    key = [(r.version, r.topic, r.state) for r in a]
    return key == [(r.version, r.topic, r.state) for r in b]


class Archiver:
    """Archives, settles, verifies and restores order streams of one tracker's store."""

    def __init__(self, tracker: OrderTracker, read_side: ReadSide) -> None:
        self.tracker = tracker
        self.read_side = read_side
        self.table = StreamTable(tracker)
        self.mapper = tracker.mapper

    # -------------------------------------------------------------- archive

    def archive(
        self,
        path: Path | None,
        ended_before: datetime,
        statuses: Sequence[str] = ENDED,
        *,
        batch: int = 200,
        on_batch: Callable[[int], None] | None = None,
    ) -> ArchiveReport:
        """Move matching ended orders to the archive at ``path`` (None: a dry run)."""
        statuses = tuple(statuses)
        unknown = set(statuses) - set(ENDED)
        if unknown:
            raise ValueError(f"not an ended status: {', '.join(sorted(unknown))}")
        report = ArchiveReport()
        writer = ArchiveWriter(path) if path is not None else None
        try:
            if writer is not None:
                report.repaired_at = writer.repaired_at
                report.settled = self.settle(writer.path)
            after: UUID | None = None
            while True:
                ids = self.read_side.candidates(ended_before, statuses, after, batch)
                if not ids:
                    break
                after = ids[-1]
                chosen = self.eligible(ids, ended_before, statuses, report)
                if writer is not None and chosen:
                    writer.write(chosen)  # durable before anything is removed
                    self._remove(chosen)
                elif writer is None:
                    room = 1000 - len(report.would_go)
                    report.would_go.extend(o.order_id for o in chosen[:room])
                for o in chosen:
                    report.orders += 1
                    report.events += len(o.rows)
                    report.by_status[o.status] += 1
                if on_batch:
                    on_batch(len(ids))
        finally:
            if writer is not None:
                writer.close()
        return report

    def eligible(
        self,
        ids: list[UUID],
        ended_before: datetime,
        statuses: tuple[str, ...],
        report: ArchiveReport | None = None,
    ) -> list[ArchivedOrder]:
        """These orders' streams, as archived, for those the store shows may go now."""
        report = report or ArchiveReport()
        streams = self.table.rows(ids)
        projected = self.read_side.projected_up_to()
        newest = self.table.newest_row_order()
        chosen = []
        for order_id in ids:
            rows = streams.get(order_id)
            if not rows:
                report.skipped["no events in the store (a read model left behind)"] += 1
                continue
            events = decode(self.mapper, rows)
            if stream_problems(order_id, events):
                report.skipped["not whole or not ended in the store (orders verify)"] += 1
                continue
            order = replay(None, events)
            assert isinstance(order, Order)
            ended = events[-1].timestamp
            if str(order.status) not in statuses or ended >= ended_before:
                report.skipped["ended later or otherwise in the store"] += 1
                continue
            if max(r.position for r in rows) > projected:
                report.skipped["not yet projected by the catch-up pass"] += 1
                continue
            if order_id == newest:
                report.skipped["holds the store's newest position (kept for now)"] += 1
                continue
            chosen.append(as_archived(rows, events))
        return chosen

    def _remove(self, orders: list[ArchivedOrder]) -> None:
        self.table.remove({o.order_id: len(o.rows) for o in orders})
        ids = [o.order_id for o in orders]
        self.read_side.remove(ids)
        for order_id in ids:
            self.tracker.latest.drop(order_id)

    def settle(self, path: Path) -> int:
        """Finish the removal of what the archive holds; return how many orders needed it.

        Run before appending: a crash between the fsync and the deletes leaves archived
        orders in the store (deleted now, if their rows are byte for byte those archived)
        or their read models behind (deleted now).
        """
        settled = 0
        for orders in archived_orders(path):
            if isinstance(orders, Truncated):
                break  # its orders were never removed: they are still candidates
            streams = self.table.rows([o.order_id for o in orders])
            in_store = []
            for o in orders:
                rows = streams.get(o.order_id)
                if rows is None:
                    continue
                if not _same_rows(rows, o.rows):
                    raise ArchiveError(
                        f"{o.order_id}: the store holds other events than {path}; nothing removed"
                    )
                in_store.append(o)
            if in_store:
                self.table.remove({o.order_id: len(o.rows) for o in in_store})
            settled += len(in_store)
            self.read_side.remove([o.order_id for o in orders])
        return settled

    # --------------------------------------------------------------- verify

    def verify_file(self, path: Path) -> ArchiveCheck:
        return verify_archive(path, self.mapper)

    # -------------------------------------------------------------- restore

    def restore(self, path: Path, on_batch: Callable[[int], None] | None = None) -> RestoreReport:
        """Put the archive's streams back and project them; what is already there stays."""
        report = RestoreReport()
        for orders in archived_orders(path):
            if isinstance(orders, Truncated):
                report.problems.append(_torn(path, orders))
                break
            streams = self.table.rows([o.order_id for o in orders])
            missing: list[StoredRow] = []
            to_project = []
            for o in orders:
                events = decode(self.mapper, o.rows)
                problems = stream_problems(o.order_id, events)
                existing = streams.get(o.order_id)
                if problems:
                    report.problems += problems
                    continue
                if existing and not _same_rows(existing, o.rows):
                    report.problems.append(f"{o.order_id}: the store already holds other "
                                           "events for this order; left as it is")  # fmt: skip
                    continue
                if existing:
                    report.present += 1
                else:
                    missing += o.rows
                    report.restored += 1
                    report.events += len(events)
                to_project.append(events)
            # The batch's streams in one insert (one transaction: each whole or absent), and
            # their projections in another; both idempotent, so a re-run finishes a crash.
            self.table.put_back(missing)
            with self.read_side.together():
                for events in to_project:
                    self._project(events)
            if on_batch:
                on_batch(len(orders))
        return report

    def _project(self, events: list[Any]) -> None:
        order = replay(None, events)
        assert isinstance(order, Order)
        self.tracker.latest.drop(order.id)
        # Not the tracker's listeners: where the read models are written inline with the
        # events (one PostgreSQL database) it has none, and put_back writes events only.
        self.read_side.project(self.tracker, order, events)


def verify_archive(path: Path, mapper: Mapper[UUID]) -> ArchiveCheck:
    """Check an archive alone: every chain intact, versions contiguous, every order ended."""
    check = ArchiveCheck()
    try:
        for orders in archived_orders(path):
            if isinstance(orders, Truncated):
                check.problems.append(_torn(path, orders))
                break
            for o in orders:
                check.orders += 1
                check.events += len(o.rows)
                check.problems += _archived_order_problems(o, mapper)
    except (ArchiveError, ValueError, KeyError) as exc:
        check.problems.append(f"{path}: unreadable: {exc}")
    return check


def _archived_order_problems(o: ArchivedOrder, mapper: Mapper[UUID]) -> list[str]:
    try:
        events = decode(mapper, o.rows)
    except Exception as exc:  # a state that no longer decodes is a finding, not a crash
        return [f"{o.order_id}: an event does not decode: {exc}"]
    problems = stream_problems(o.order_id, events)
    if problems:
        return problems
    if o.readable != _readable(events):
        problems.append(f"{o.order_id}: the readable copies differ from the stored events")
    order = replay(None, events)
    if str(getattr(order, "status", "")) != o.status or events[-1].timestamp != o.ended:
        problems.append(f"{o.order_id}: status or end time differ from the stored events")
    return problems


def _torn(path: Path, torn: Truncated) -> str:
    return (
        f"{path}: ends with an incomplete batch at byte {torn.start} (a run was interrupted; "
        "re-running the same archive command repairs it)"
    )


def status_names(values: Iterable[str] | None) -> tuple[str, ...]:
    """The ended statuses named (all of them when none is)."""
    names = tuple(v.strip() for value in values or () for v in value.split(",") if v.strip())
    return names or ENDED
