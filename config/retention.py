"""Automatic retention: archive orders ended more than RETENTION_DAYS ago, from the workers' loop.

Off unless ``ASYNC_REST["RETENTION_DAYS"]`` is set. One process at a time (a lease row
in the read-model database, so it holds across machines), at most once per
``RETENTION_INTERVAL``. Each run writes ``<RETENTION_DIR>/orders-<time>.jsonl.gz.part``
and renames it without ``.part`` once done; a run interrupted by a crash leaves the
``.part`` file, which the next run resumes (settles and finishes) before anything else.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings

from orders.application.archive import Archiver, ArchiveReport, status_names
from orders.infrastructure.runtime import get_tracker
from projections.retention import ReadModelRetention, release_lease, renew_lease, take_lease

log = logging.getLogger(__name__)

LEASE = "retention"
PART = ".part"


def retain_if_due(now: datetime | None = None) -> ArchiveReport | None:
    """Run retention if it is on, due, and no other process runs it; None when it did not run."""
    conf = settings.ASYNC_REST
    days = float(conf["RETENTION_DAYS"] or 0)
    if days <= 0:
        return None
    interval = float(conf["RETENTION_INTERVAL"])
    # The lease outlives a run by far; it is renewed after every batch all the same.
    ttl = max(interval, 600.0)
    if not take_lease(LEASE, interval, ttl):
        return None
    try:
        return _run(Path(conf["RETENTION_DIR"]), days, str(conf["RETENTION_STATUSES"]), ttl, now)
    finally:
        release_lease(LEASE)


def _run(
    directory: Path, days: float, statuses: str, ttl: float, now: datetime | None
) -> ArchiveReport:
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True)
    unfinished = sorted(directory.glob(f"orders-*.jsonl.gz{PART}"))
    path = unfinished[0] if unfinished else directory / f"orders-{now:%Y%m%dT%H%M%S}.jsonl.gz{PART}"

    def renew(_: int) -> None:
        if not renew_lease(LEASE, ttl):
            raise RuntimeError("the retention lease was lost: another process runs it now")

    archiver = Archiver(get_tracker(), ReadModelRetention())
    report = archiver.archive(
        path, now - timedelta(days=days), status_names([statuses]), on_batch=renew
    )
    done = path.with_name(path.name.removesuffix(PART))
    os.replace(path, done)
    log.info(
        "retention: archived %s orders, %s events to %s (kept %s)",
        report.orders, report.events, done, dict(report.skipped),
    )  # fmt: skip
    return report
