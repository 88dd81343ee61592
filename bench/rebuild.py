"""``projections rebuild`` on PostgreSQL: events projected per second, from an empty read model.

One process, ``bench.settings`` on a fresh PostgreSQL database (events and read models in
it). The store is filled once (orders of 13 events each: Queued, Dispatched, Started, nine
Progressed, Completed), then the read models are dropped and rebuilt ``--rounds``
times; each rebuild is checked against the store (every order's summary at its stream's
version, one history row per event). Target (issue 9): ≥ 10,000 events/s::

    .venv/bin/python -m bench.rebuild [--orders 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import time

from bench import support

TARGET = 10_000.0


def fill(orders: int) -> int:
    """Write ``orders`` orders of 13 events each; return the number of events."""
    from orders.infrastructure.runtime import get_tracker

    tracker = get_tracker()
    for _ in range(orders):
        order_id = tracker.place("bench-rebuild", {"size": "large"}, "1")
        tracker.dispatch(order_id, "d")
        tracker.start(order_id, "bench:1")
        for step in range(1, 10):
            tracker.progress(order_id, step * 10, "working", current=step, total=10)
        tracker.complete(order_id, "/bench/constant/")
    return tracker.last_position()


def rebuilt_correctly(events: int) -> bool:
    from django.db.models import Max

    from projections.models import OrderEvent, OrderSummary

    summaries = OrderSummary.objects.aggregate(top=Max("version"))["top"]
    return OrderEvent.objects.count() == events and summaries == 13


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile one more rebuild")
    args = parser.parse_args()
    support.install_signal_handlers()
    support.header()
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_rebuild") as db,
    ):
        env = support.service_env(db, "bench.settings", var_dir)
        support.migrate(env)
        os.environ.update(env)
        import django

        django.setup()
        from orders.infrastructure.runtime import get_tracker, set_tracker
        from projections.projector import rebuild

        events = fill(args.orders)
        rates: list[float] = []
        cpus: list[float] = []  # events per CPU second of this process (PostgreSQL's apart)
        for round_no in range(args.rounds):
            set_tracker(None)  # a fresh process's tracker: it knows no order yet
            gc.collect()
            started, cpu = time.perf_counter(), time.process_time()
            count = rebuild(get_tracker())
            seconds = time.perf_counter() - started
            cpus.append(events / (time.process_time() - cpu))
            assert count == events and rebuilt_correctly(events), "rebuild incomplete"
            rates.append(events / seconds)
            print(f"# round {round_no + 1}: {events} events in {seconds:.2f} s", flush=True)
        if args.profile:
            import cProfile
            import pstats

            set_tracker(None)
            cProfile.runctx("rebuild(get_tracker())", globals(), locals(), "/tmp/rebuild.prof")
            pstats.Stats("/tmp/rebuild.prof").sort_stats("tottime").print_stats(25)
        get_tracker().close()
        from django.db import connections

        connections.close_all()
    verdict = "met" if support.median(rates) >= TARGET else "NOT met"
    print(
        f"\n`projections rebuild`, {args.orders} orders x 13 events: median"
        f" **{support.median(rates):,.0f} events/s** ({support.spread(rates)}),"
        f" target {TARGET:,.0f}/s: {verdict}; this process alone:"
        f" {support.median(cpus):,.0f} events per CPU second"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
