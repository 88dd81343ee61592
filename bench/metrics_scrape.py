"""What a Prometheus scrape of /metrics costs with many orders in the store, and how fast the
metrics projection counts the event log.

Run: .venv/bin/python bench/metrics_scrape.py [--orders 10000] [--scrapes 50] [--postgres]

The store gets ``--orders`` orders of three resources (90% completed, 5% failed, 3% running,
2% queued; 4 events each for the ended ones), saved 500 at a time with their summary rows;
then the metrics projection counts the whole log (timed), then ``GET /metrics`` is served
``--scrapes`` times through Django's test client with the scrape token (timed: the view,
the collector's queries, the text format). ``--postgres``: Django's database and the event
store on a fresh PostgreSQL database instead of SQLite files.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def populate(tracker: object, orders: int) -> None:
    """The orders built in memory and saved 500 at a time (one transaction each)."""
    from django.db import transaction

    from orders.application.tracker import OrderTracker
    from orders.domain.order import Order
    from projections.projector import upsert_summary

    assert isinstance(tracker, OrderTracker)
    resources = ("regina", "margherita", "calzone")
    chunk: list[Order] = []
    for i in range(orders):
        order = Order(resource_name=resources[i % 3], context={"n": i}, owner="1")
        share = i % 100
        if share >= 2:  # else queued
            order.start("w")
            order.report_progress(50)
            if 5 <= share < 10:
                order.fail("boom", "RuntimeError")
            elif share >= 10:
                order.complete("/done/")  # else running
        chunk.append(order)
        if len(chunk) == 500 or i == orders - 1:
            tracker.save(*chunk)
            with transaction.atomic():
                for saved in chunk:
                    upsert_summary(saved)  # the summary rows the stalled gauge reads
            chunk = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--scrapes", type=int, default=50)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()

    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="metrics-bench-")))
        os.environ["ASYNC_REST_VAR_DIR"] = str(workdir)
        os.environ["ASYNC_REST_METRICS_TOKEN"] = "bench"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        label = "SQLite (Django and event store)"
        if args.postgres:
            from tests.services import fresh_postgres_database

            url = stack.enter_context(fresh_postgres_database("metrics_bench"))
            os.environ["DATABASE_URL"] = os.environ["EVENTSTORE_URL"] = url
            label = "PostgreSQL (Django and event store)"
        import django

        django.setup()
        from django.core.management import call_command
        from django.test import Client

        from metrics.projection import catch_up as count_metrics
        from orders.application.tracker import OrderTracker
        from orders.infrastructure.eventstore import event_store_env
        from orders.infrastructure.runtime import get_tracker
        from projections.models import ProjectionPosition

        call_command("migrate", verbosity=0)
        # Written without the read-model listener, many orders per transaction (faster).
        writer = OrderTracker(
            env=event_store_env(
                os.environ.get("EVENTSTORE_URL") or (f"sqlite:///{workdir / 'events.sqlite3'}")
            )
        )
        started = time.perf_counter()
        populate(writer, args.orders)
        written = time.perf_counter() - started
        tracker = get_tracker()
        events = tracker.last_position()
        # The summaries are written with the orders (no history rows: the scrape reads none).
        ProjectionPosition.objects.update_or_create(name="orders", defaults={"position": events})

        started = time.perf_counter()
        counted = count_metrics(tracker)
        counting = time.perf_counter() - started
        assert counted == events, (counted, events)

        client = Client()
        started = time.perf_counter()
        client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench")
        first = time.perf_counter() - started
        timings, size = [], 0
        for _ in range(args.scrapes):
            started = time.perf_counter()
            answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer bench")
            timings.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.status_code
            size = len(answer.content)
        timings.sort()
        print(f"{label}: {args.orders:,} orders, {events:,} events (written in {written:.1f}s)")
        print(
            f"  metrics projection: counted {counted:,} events in {counting:.2f}s "
            f"({counted / counting:,.0f} events/s)"
        )
        print(
            f"  GET /metrics x{args.scrapes}: median {statistics.median(timings) * 1000:.1f} ms,"
            f" p90 {timings[int(len(timings) * 0.9) - 1] * 1000:.1f} ms,"
            f" max {timings[-1] * 1000:.1f} ms; {size:,} bytes"
            f" (the first, cold: {first * 1000:.0f} ms)"
        )
        writer.close()
        tracker.close()


if __name__ == "__main__":
    main()
