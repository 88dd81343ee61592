"""bench.soak's findings and its Markdown report: read model, events, callbacks, logs, RSS."""

from __future__ import annotations

import argparse
import statistics
from collections import Counter
from typing import Any

import psycopg
from psycopg import sql

from bench import support
from bench.soak_clients import KINDS, Tally
from bench.soak_stack import Processes
from tests.e2e.receiver import Receiver


def read_model_statuses(db: str) -> dict[str, int]:
    with psycopg.connect(support.database_url(db)) as conn:
        rows = conn.execute(
            "SELECT status, count(*) FROM projections_ordersummary GROUP BY status"
        ).fetchall()
    return {str(s): int(n) for s, n in rows}


def event_facts(db: str) -> dict[str, Any]:
    """Events by type in the store, and how many orders were sent more than once (relayed)."""
    with psycopg.connect(support.database_url(db)) as conn:
        # eventsourcing names the table after the application: find it by its columns.
        found = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.columns"
            " WHERE column_name = 'originator_version' AND table_name LIKE '%events'"
        ).fetchone()
        if found is None:
            return {"by_type": "no events table", "dispatched_again": 0}
        table = sql.Identifier(*found)
        rows = conn.execute(
            sql.SQL("SELECT topic, count(*) FROM {} GROUP BY topic").format(table)
        ).fetchall()
        row = conn.execute(
            sql.SQL(
                "SELECT count(*) FROM (SELECT originator_id FROM {}"
                " WHERE topic = 'async_rest.Order.Dispatched'"
                " GROUP BY originator_id HAVING count(*) > 1) AS again"
            ).format(table)
        ).fetchone()
    by_type = {str(t).rsplit(".", 1)[-1]: int(n) for t, n in sorted(rows)}
    return {"by_type": by_type, "dispatched_again": int(row[0]) if row else 0}


def callback_counts(receiver: Receiver, tally: Tally) -> dict[str, int]:
    """Per callback order that ended: deliveries of its terminal event at the receiver."""
    per_id: Counter[str] = Counter(d.msg_id for d in receiver.deliveries)
    wanted = [o for o, k in tally.orders.items() if k == "callback" and o in tally.ended]
    counts = Counter[str]()
    for order_id in wanted:
        mine = [n for msg, n in per_id.items() if msg.startswith(order_id)]
        counts["orders"] += 1
        counts["delivered once"] += int(mine == [1])
        counts["never delivered"] += int(not mine)
        counts["delivered more than once"] += int(bool(mine) and mine != [1])
    counts["deliveries"] = len(receiver.deliveries)
    counts["unverified"] = sum(not d.verified for d in receiver.deliveries)
    return dict(counts)


def exceptions_logged(text: str) -> Counter[str]:
    """The exception type ending each traceback of a log (a chained one counted once)."""
    found: Counter[str] = Counter()
    lines = text.splitlines()
    chained = ("During handling", "The above exception")
    for i, line in enumerate(lines):
        if not line.startswith("Traceback"):
            continue
        ends = next(
            (j for j in range(i + 1, len(lines)) if lines[j] and not lines[j][0].isspace()), None
        )
        if ends is None:
            continue
        following = next((x for x in lines[ends + 1 :] if x.strip()), "")
        if not following.startswith(chained):  # the last of a chain, or alone
            found[lines[ends].split(":", 1)[0].rsplit(".", 1)[-1]] += 1
    return found


def verdict(samples: list[int]) -> str:
    """Unbounded growth: the last quarter's median over 10% (and 8 MiB) above the first half's.

    Medians, not peaks: a recycle (SIGHUP) briefly runs old and new workers side by side.
    """
    if len(samples) < 8:
        return "too few samples"
    early = statistics.median(samples[: len(samples) // 2])
    late = statistics.median(samples[-(len(samples) // 4) :])
    grew = late - early
    return "no" if grew <= max(0.1 * early, 8 << 20) else f"maybe: +{grew / 2**20:.1f} MiB"


def report(args: argparse.Namespace, tally: Tally, procs: Processes, extra: dict[str, Any]) -> str:
    mib = 2**20
    kinds = Counter(tally.orders.values())
    lines = [
        f"{args.minutes} min of load, {args.clients} polling clients, gunicorn 2 sync workers,"
        f" 2 Celery workers (--concurrency 1), PostgreSQL, Redis on :{args.redis_port};"
        f" grace {args.grace:.0f} s; wall time {extra['wall']:.0f} s",
        "",
        "Faults (seconds after the start):",
        "",
        *[f"- {f}" for f in extra["faults"]],
        "",
        "| kind | placed | ended | ended as expected | final statuses seen |",
        "|---|---:|---:|---:|---|",
    ]
    for kind, (_, _, expected) in KINDS.items():
        ids = [o for o, k in tally.orders.items() if k == kind]
        ended = Counter(tally.ended[o] for o in ids if o in tally.ended)
        lines.append(
            f"| {kind} | {kinds[kind]} | {sum(ended.values())} | {ended[expected]} |"
            f" {dict(sorted(ended.items()))} |"
        )
    not_ended = len(tally.orders) - len(tally.ended)
    fivexx = sum(n for c, n in tally.codes.items() if c.rsplit(" ", 1)[1].startswith("5"))
    lines += [
        "",
        f"- orders placed {len(tally.orders)}, seen ended by their client {len(tally.ended)},"
        f" **not ended: {not_ended}**",
        f"- read model at the end: {extra['read_model']}",
        f"- `orders verify --all`: {extra['verify']}",
        f"- events stored: {extra['events']['by_type']}; orders dispatched more than once"
        f" (sent again by the relay): {extra['events']['dispatched_again']}",
        f"- **5xx seen by the clients: {fivexx}**; every status:"
        f" {dict(sorted(tally.codes.items()))}",
        f"- connection errors (retried): {dict(sorted(tally.errors.items())) or 'none'}",
        f"- callbacks at the receiver: {extra['callbacks']}",
        f"- orders that ended otherwise than their kind asks: {dict(tally.surprises) or 'none'}",
        f"- exceptions logged with a traceback, by process: {extra['tracebacks'] or 'none'}",
        "",
        "RSS of each process group (master and children), sampled every 5 s:",
        "",
        "| process group | samples | first MiB | max MiB | last MiB | grew without bound? |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, samples in sorted(procs.rss.items()):
        if samples:
            lines.append(
                f"| {name} | {len(samples)} | {samples[0] / mib:.1f} | {max(samples) / mib:.1f} |"
                f" {samples[-1] / mib:.1f} | {verdict(samples)} |"
            )
    return "\n".join(lines)
