"""How fast ``orders archive``, ``verify --archive`` and ``restore`` go on PostgreSQL.

Run: .venv/bin/python bench/archive_speed.py [--orders 1000] [--events 10] [--batch 200]
The event store and the read models are both in a fresh PostgreSQL database (dropped after).
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--events", type=int, default=10, help="events per order (>= 3)")
    parser.add_argument("--batch", type=int, default=200, help="orders per archive batch")
    args = parser.parse_args()

    from tests.services import fresh_postgres_database

    workdir = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    with fresh_postgres_database("archive_bench") as url:
        os.environ.update(
            ASYNC_REST_VAR_DIR=str(workdir), DATABASE_URL=url, EVENTSTORE_URL=url,
            DJANGO_SETTINGS_MODULE="config.settings",
        )  # fmt: skip
        import django

        django.setup()
        from django.core.management import call_command

        from orders.domain.order import Order
        from orders.infrastructure.runtime import get_tracker
        from projections.projector import catch_up

        call_command("migrate", verbosity=0)
        tracker = get_tracker()
        listeners, tracker.listeners = tracker.listeners, []
        for n in range(args.orders):  # one save per order: quick to set up
            order = Order(resource_name="bench", context={"n": n}, owner="1")
            order.start("w")
            for percent in range(1, args.events - 2):
                order.report_progress(percent)
            order.complete("/done/")
            tracker.save(order)
        tracker.listeners = listeners
        catch_up(tracker)
        events = args.orders * args.events
        archive = workdir / "bench.jsonl.gz"
        quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}

        def timed(*argv: str) -> float:
            started = time.perf_counter()
            call_command("orders", *argv, **quiet)
            return time.perf_counter() - started

        until = "2999-01-01T00:00:00Z"
        archiving = timed("archive", "--ended-before", until, "--to", str(archive),
                          "--batch", str(args.batch))  # fmt: skip
        checking = timed("verify", "--archive", str(archive))
        restoring = timed("restore", str(archive))
        size = archive.stat().st_size
        print(f"PostgreSQL {django.db.connection.pg_version}, {args.orders} orders x "
              f"{args.events} events, batch {args.batch}, archive {size:,} bytes")  # fmt: skip
        for label, seconds in (("archive", archiving), ("verify --archive", checking),
                               ("restore", restoring)):  # fmt: skip
            print(f"{label:>17}: {seconds:6.2f}s  {args.orders / seconds:8,.0f} orders/s  "
                  f"{events / seconds:9,.0f} events/s")  # fmt: skip
        tracker.close()


if __name__ == "__main__":
    main()
