"""Times the order admin (list, filters, search, order page) with 100,000 orders in a throwaway DB.

    .venv/bin/python -m bench.admin_list                  # PostgreSQL and SQLite
    .venv/bin/python -m bench.admin_list --db postgres --orders 100000 --rounds 9

Each database runs in a child process of its own (Django is set up once per process)
on a database made for the run and dropped afterwards: PostgreSQL on 127.0.0.1:5432
(user postgres, trust auth) or an SQLite file in a temporary folder. The rows are
written straight into the read models (OrderSummary, OrderEvent), as the projector
would have; the event store is not involved. Each page is fetched with Django's test
client signed in as a superuser: one warm-up, then ``--rounds`` timed requests; the
median is reported, with the slowest SQL statement of the median request.

The admin is timed as shipped (projections/admin/, the indexes of
projections/models.py), then with each of its choices undone alone, to show what each
is worth: Django's stock paginator and full count (COUNT(*) of every matching row), its
stock search (``=order_id``, a text match on the cast id, OR the message), facet
counts allowed (``?_facets=True``), its stock resource filter (SELECT DISTINCT over the
table), and the table without the ``summary_created`` index.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
LIST_URL = "/admin/projections/ordersummary/"
RESOURCES = ("regina", "margherita", "imports", "reports", "thumbnails")
# How often each status occurs: mostly finished work, as in a tracker that has run a while.
STATUSES = (("completed", 80), ("failed", 8), ("running", 5), ("queued", 5), ("cancelled", 2))
MESSAGES = {
    "completed": "Done",
    "failed": "No more ingredients",
    "running": "The pizza is in the oven",
    "queued": "",
    "cancelled": "Cancelled by the customer",
}
TRACEBACK = "Traceback (most recent call last):\n" + '  File "tasks.py", line 12, in cook\n' * 20


@contextmanager
def throwaway_database(kind: str) -> Iterator[str]:
    """A new empty database for the run (its URL); dropped, or its folder removed, after."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-admin-") as folder:
            yield f"sqlite:///{folder}/django.sqlite3"
        return
    from tests.services import fresh_postgres_database

    with fresh_postgres_database("asyncrest_bench_admin") as url:
        yield url


def fill(orders: int, seed: int = 7) -> list[str]:
    """Write ``orders`` summary rows and their events (4 each on average); return some ids."""
    from projections.models import OrderEvent, OrderSummary

    rng = random.Random(seed)
    now = datetime.now(UTC)
    names = [name for name, _ in STATUSES]
    weights = [weight for _, weight in STATUSES]
    ids: list[str] = []
    batch_size = 5000
    for start in range(0, orders, batch_size):
        summaries, events = [], []
        for _ in range(min(batch_size, orders - start)):
            order_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            status = rng.choices(names, weights)[0]
            created = now - timedelta(seconds=rng.uniform(0, 180 * 86400))
            took = timedelta(seconds=rng.uniform(0.5, 900))
            progress = {"completed": 100, "queued": 0}.get(status, rng.randrange(0, 100))
            summaries.append(
                OrderSummary(
                    order_id=order_id,
                    resource_name=rng.choice(RESOURCES),
                    status=status,
                    progress=progress,
                    message=MESSAGES[status],
                    context={"steps": rng.randrange(1, 50), "step_seconds": 0.1},
                    owner=str(rng.randrange(1, 200)),
                    worker="" if status == "queued" else f"worker-{rng.randrange(8)}@host",
                    attempt=0 if status == "queued" else 1,
                    dispatched=True,
                    error_type="OutOfIngredientsError" if status == "failed" else "",
                    traceback=TRACEBACK if status == "failed" else "",
                    created=created,
                    updated=created + took,
                    version=1 if status == "queued" else 4,
                    chain_hash=f"{rng.getrandbits(256):064x}",
                )
            )
            kinds = ["Queued"] if status == "queued" else ["Queued", "Started", "Progressed"]
            if status != "queued":
                kinds.append(status.capitalize() if status != "running" else "Progressed")
            for version, kind in enumerate(kinds, start=1):
                events.append(
                    OrderEvent(
                        order_id=order_id,
                        version=version,
                        type=kind,
                        timestamp=created + took * (version - 1) / max(len(kinds) - 1, 1),
                        data={"percent": 50} if kind == "Progressed" else {},
                    )
                )
            if len(ids) < 50:
                ids.append(str(order_id))
        OrderSummary.objects.bulk_create(summaries)
        OrderEvent.objects.bulk_create(events)
    return ids


def analyze() -> None:
    from django.db import connection

    # VACUUM as well on PostgreSQL: autovacuum would have run on a table this old, and
    # without it index-only scans (the counts) must visit every row anyway.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


class Recorder:
    """Keeps the SQL statements (and their parameters) that one request runs."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, Any]] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, *args: Any) -> Any:
        self.statements.append((sql, params))
        return execute(sql, params, *args)


def replay_statements(statements: list[tuple[str, Any]]) -> tuple[float, float, str]:
    """Run a request's SELECTs again, fetching every row: (total ms, slowest ms, its SQL).

    Timing the execute alone would miss SQLite's work, which is done while rows are
    fetched. Each statement is run three times; its median counts.
    """
    from django.db import connection

    total, slowest = 0.0, (0.0, "")
    for sql, params in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        runs = []
        for _ in range(3):
            with connection.cursor() as cursor:
                start = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                runs.append(time.perf_counter() - start)
        took = statistics.median(runs) * 1000
        total += took
        if took > slowest[0]:
            slowest = (took, " ".join(sql.split()))
    return total, slowest[0], slowest[1]


def short_sql(sql: str) -> str:
    """The statement without its long column list, for the report."""
    head, _, tail = sql.partition(" FROM ")
    if head.startswith("SELECT") and len(head) > 60:
        head = "SELECT …"
    return (head + " FROM " + tail if tail else head)[:220]


def time_page(client: Any, url: str, rounds: int) -> dict[str, Any]:
    from django.db import connection

    client.get(url)  # warm-up: templates, caches
    times = []
    recorder = Recorder()
    for _ in range(rounds):
        recorder = Recorder()
        with connection.execute_wrapper(recorder):
            start = time.perf_counter()
            response = client.get(url)
            times.append(time.perf_counter() - start)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
    sql_ms, slowest_ms, slowest = replay_statements(recorder.statements)
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "queries": len(recorder.statements),
        "sql_ms": round(sql_ms, 1),
        "slowest_sql_ms": round(slowest_ms, 1),
        "slowest_sql": short_sql(slowest),
    }


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def scenarios(ids: list[str], orders: int) -> dict[str, str]:
    # Aware datetimes, as the admin's own "Past 7 days" link writes them.
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    since, until = today - timedelta(days=7), today + timedelta(days=1)
    # Deep pages that exist at this size (500 and 10 at 100,000 orders, 50 a page).
    deep, cancelled = max(1, min(500, orders // 200)), max(1, min(10, orders // 10_000))
    return {
        "default listing": LIST_URL,
        "status filter (failed)": f"{LIST_URL}?status=failed",
        f"status filter (cancelled, page {cancelled})": (
            f"{LIST_URL}?status=cancelled&p={cancelled}"
        ),
        "resource filter": f"{LIST_URL}?resource_name=reports",
        "date filter (past 7 days)": f"{LIST_URL}?"
        + urlencode({"created__gte": str(since), "created__lt": str(until)}),
        "uuid search": f"{LIST_URL}?q={ids[17]}",
        "message search": f"{LIST_URL}?q=oven",
        f"page {deep} of the listing": f"{LIST_URL}?p={deep}",
        "listing, facet counts asked for": f"{LIST_URL}?_facets=True",
        "order page (timeline)": f"{LIST_URL}{ids[3]}/change/",
    }


@contextmanager
def patched(**attributes: Any) -> Iterator[None]:
    """OrderSummaryAdmin with some class attributes replaced for the duration."""
    from projections.admin.order_admin import OrderSummaryAdmin

    saved = {name: OrderSummaryAdmin.__dict__.get(name) for name in attributes}
    for name, value in attributes.items():
        setattr(OrderSummaryAdmin, name, value)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                delattr(OrderSummaryAdmin, name)
            else:
                setattr(OrderSummaryAdmin, name, value)


@contextmanager
def without_index(name: str) -> Iterator[None]:
    """The table without one of its indexes (dropped, then made again)."""
    from django.db import connection

    from projections.models import OrderSummary

    index = next(i for i in OrderSummary._meta.indexes if i.name == name)
    with connection.schema_editor() as editor:
        editor.remove_index(OrderSummary, index)
    analyze()
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            editor.add_index(OrderSummary, index)
        analyze()


def configurations() -> dict[str, Callable[[], Any]]:
    """What is timed: the admin as shipped, then each of its choices undone alone."""
    from contextlib import nullcontext

    from django.contrib import admin
    from django.core.paginator import Paginator

    from projections.admin.listing import StatusFilter

    return {
        "as shipped": nullcontext,
        "stock COUNT(*)": lambda: patched(paginator=Paginator, show_full_result_count=True),
        "stock search": lambda: patched(
            search_fields=("=order_id", "message"),
            get_search_results=admin.ModelAdmin.get_search_results,
        ),
        "stock facets (ALLOW)": lambda: patched(show_facets=admin.ShowFacets.ALLOW),
        "stock resource filter": lambda: patched(
            list_filter=(StatusFilter, "resource_name", "created")
        ),
        "no summary_created index": lambda: without_index("summary_created"),
    }


def child(kind: str, orders: int, rounds: int) -> dict[str, Any]:
    """Runs in its own process: set Django up on a throwaway database, fill it, time it."""
    with throwaway_database(kind) as url, tempfile.TemporaryDirectory() as var_dir:
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=url,
            EVENTSTORE_URL=f"sqlite:///{var_dir}/events.sqlite3",
            ASYNC_REST_VAR_DIR=var_dir,
            DJANGO_DEBUG="0",
            LOG_LEVEL="WARNING",
        )
        import django

        django.setup()
        from django.contrib.auth.models import User
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        call_command("migrate", verbosity=0)
        start = time.perf_counter()
        ids = fill(orders)
        analyze()
        filled_in = time.perf_counter() - start
        client = Client()
        client.force_login(User.objects.create_superuser("bench", "bench@example.com", None))
        urls = scenarios(ids, orders)
        results: dict[str, Any] = {
            "db": kind,
            "vendor_version": (
                f"SQLite {connection.Database.sqlite_version}"
                if kind == "sqlite"
                else f"PostgreSQL {connection.pg_version // 10000}.{connection.pg_version % 10000}"
            ),
            "orders": orders,
            "fill_seconds": round(filled_in, 1),
            "configurations": {},
        }
        log(f"{kind}: {orders:,} orders written in {filled_in:.1f} s")
        for name, configuration in configurations().items():
            with configuration():
                log(f"{kind}: timing {name}")
                results["configurations"][name] = {
                    page: time_page(client, u, rounds) for page, u in urls.items()
                }
        connection.close()
        return results


def report(all_results: list[dict[str, Any]]) -> str:
    lines = []
    for res in all_results:
        configs = res["configurations"]
        names = list(configs)
        for figure, what in (
            ("median_ms", "median ms per page (whole request, test client)"),
            ("sql_ms", "ms of SQL per page (its SELECTs run again, rows fetched)"),
        ):
            lines.append(f"\n{res['vendor_version']}, {res['orders']:,} orders: {what}\n")
            lines.append("| page | " + " | ".join(names) + " |")
            lines.append("|---|" + "---:|" * len(names))
            for page in configs[names[0]]:
                cells = [f"{configs[n][page][figure]}" for n in names]
                lines.append(f"| {page} | " + " | ".join(cells) + " |")
        lines.append("\nslowest SQL statement of each page, as shipped:\n")
        for page, figures in configs[names[0]].items():
            lines.append(
                f"- {page}: {figures['slowest_sql_ms']} ms ({figures['queries']} queries): "
                f"`{figures['slowest_sql']}`"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", choices=("postgres", "sqlite"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.orders, args.rounds)))
        return
    kinds = ["postgres", "sqlite"] if args.db == "both" else [args.db]
    results = []
    for kind in kinds:
        done = subprocess.run(
            [sys.executable, "-m", "bench.admin_list", "--child", kind,
             "--orders", str(args.orders), "--rounds", str(args.rounds)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False,
        )  # fmt: skip
        if done.returncode:
            sys.exit(f"the {kind} run failed")
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(report(results))


if __name__ == "__main__":
    main()
