"""How fast ``orders verify`` checks the record: events per second, on SQLite and PostgreSQL.

Run: .venv/bin/python bench/verify_speed.py [--orders 500] [--events 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--events", type=int, default=20, help="events per order")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="verify-bench-"))
    os.environ["ASYNC_REST_VAR_DIR"] = str(workdir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from config.bootstrap import build_tracker
    from orders.infrastructure.runtime import set_tracker
    from projections.audit import order_ids_in_store, verify
    from tests.services import fresh_postgres_database

    call_command("migrate", verbosity=0)

    def run(url: str, label: str) -> None:
        from projections.models import OrderEvent, OrderSummary

        OrderSummary.objects.all().delete()
        OrderEvent.objects.all().delete()
        tracker = build_tracker(url, create_table=True)
        set_tracker(tracker)
        for _ in range(args.orders):
            order_id = tracker.place("bench", {"n": 1}, owner="1")
            tracker.start(order_id, "w")
            for percent in range(1, args.events - 2):
                tracker.progress(order_id, percent)
            tracker.complete(order_id, "/done/")
        rates = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            result = verify(tracker, order_ids_in_store(tracker))
            seconds = time.perf_counter() - started
            assert not result.findings, result.findings[:3]
            rates.append(result.events / seconds)
        print(
            f"{label}: {result.orders} orders, {result.events} events; verify median "
            f"{statistics.median(rates):,.0f} events/s (rounds: "
            + ", ".join(f"{r:,.0f}" for r in rates)
            + ")"
        )
        tracker.close()

    run(f"sqlite:///{workdir / 'events.sqlite3'}", "SQLite event store, SQLite read models")
    with fresh_postgres_database("verify_bench") as url:
        run(url, "PostgreSQL event store, SQLite read models")


if __name__ == "__main__":
    main()
