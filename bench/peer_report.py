"""The report of bench.peer: medians of per-round ratios, in one Markdown table."""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable, Sequence
from importlib.metadata import version
from typing import Any

from bench import support

OURS, PEER = "async-rest", "peer"
Figures = dict[str, Any]  # one system's figures in one round (bench.peer.session)


def percentile(values: Sequence[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return float(statistics.quantiles(values, n=100, method="inclusive")[p - 1])


def rates(f: Figures, name: str) -> list[float]:
    """req/s of each of a session's short wrk runs of one endpoint."""
    return [float(run["requests_per_second"]) for run in f["get"]["wrk"][name]]


def rps(name: str) -> Callable[[Figures], float]:
    return lambda f: support.median(rates(f, name))


def relative(name: str, to: str) -> Callable[[Figures], float]:
    """The median over a session's passes of ``name``'s req/s over ``to``'s in that pass."""
    return lambda f: support.median(
        [a / b for a, b in zip(rates(f, name), rates(f, to), strict=True)]
    )


def web_cpu(name: str) -> Callable[[Figures], float]:
    """The median over a session's passes of the web CPU ms per request of one endpoint."""
    return lambda f: support.median(
        [float(run["web_cpu_ms_per_request"]) for run in f["get"]["wrk"][name]]
    )


def of_constant(name: str) -> Callable[[Figures], float]:
    return relative(name, f"constant-{name.split('-')[1]}")


def p99(f: Figures) -> float:
    return percentile(f["visibility"]["samples_ms"], 99)


def p50(f: Figures) -> float:
    return percentile(f["visibility"]["samples_ms"], 50)


def cpu_per_order(f: Figures) -> float:
    return float(f["e2e"]["web_cpu_ms_per_order"] + f["e2e"]["worker_cpu_ms_per_order"])


# (figure, how to read it from one system's figures, the target, how to print it)
ROWS: list[tuple[str, Callable[[Figures], float], str, str]] = [
    ("POSTs/s (wrk, web alone)", lambda f: f["post"]["requests_per_second"], "≥ 1.0x peer", ".1f"),
    ("web CPU ms per POST", lambda f: f["post"]["web_cpu_ms_per_request"], "", ".2f"),
    ("orders/s end to end, 10 progress reports", lambda f: f["e2e"]["orders_per_second"],
     "≥ 1.0x peer", ".1f"),
    ("CPU ms per order (web + worker)", cpu_per_order, "", ".1f"),
    ("order time POST → done seen, p50 ms", lambda f: f["e2e"]["latency_p50_ms"], "", ".0f"),
    ("status GET anonymous, req/s", rps("status-anon"), "", ".0f"),
    ("status GET anonymous ÷ constant, same server", of_constant("status-anon"), "≥ 0.8", ".3f"),
    ("status GET token, req/s", rps("status-token"), "", ".0f"),
    ("status GET token ÷ constant, same server", of_constant("status-token"), "≥ 0.8", ".3f"),
    ("web CPU ms per status GET anonymous", web_cpu("status-anon"), "", ".2f"),
    ("web CPU ms per constant GET anonymous", web_cpu("constant-anon"), "", ".2f"),
    ("web CPU ms per status GET token", web_cpu("status-token"), "", ".2f"),
    ("web CPU ms per constant GET token", web_cpu("constant-token"), "", ".2f"),
    ("written → visible p50 ms", p50, "", ".1f"),
    ("written → visible p99 ms", p99, "≤ 50 ms", ".1f"),
]  # fmt: skip
# Rows whose ratio is ours ÷ peer (higher is better for ours) or peer ÷ ours (lower is).
LOWER_IS_BETTER = {"web CPU ms per POST", "CPU ms per order (web + worker)"}
LOWER_IS_BETTER |= {"order time POST → done seen, p50 ms"}
LOWER_IS_BETTER |= {label for label, *_ in ROWS if label.startswith("web CPU")}
LOWER_IS_BETTER |= {"written → visible p50 ms", "written → visible p99 ms"}


def one_line(f: Figures) -> str:
    """A session's headline figures, for the progress log."""
    line = (
        f"POST {f['post']['requests_per_second']:.1f}/s, "
        f"{f['e2e']['orders_per_second']:.1f} orders/s ({f['e2e']['codes']}), "
        f"visible p50 {p50(f):.1f} / p99 {p99(f):.1f} ms, "
        f"GET anon {of_constant('status-anon')(f):.3f} / token "
        f"{of_constant('status-token')(f):.3f} of constant"
    )
    if "status-304" in f["get"]["wrk"]:
        line += f", 304 ÷ 202 {relative('status-304', 'status-token')(f):.3f}"
    return line


def errors(rounds: list[dict[str, Figures]]) -> int:
    total = 0
    for r in rounds:
        for f in r.values():
            runs = [f["post"], *(run for runs in f["get"]["wrk"].values() for run in runs)]
            total += sum(w["non_2xx_3xx"] + w["socket_errors"] for w in runs)
    return total


def report(rounds: list[dict[str, Figures]], args: argparse.Namespace, seconds: float) -> str:
    med, fmt = support.median, format
    lines = [
        f"{len(rounds)} rounds (the first system alternates), gunicorn {args.workers} sync"
        f" workers, celery prefork --concurrency={args.concurrency}, wrk -t2"
        f" -c{args.connections} ({args.post_seconds} s per POST run; {args.get_rounds} passes"
        f" of {args.get_seconds} s over the GET endpoints per session), {args.clients} order"
        f" clients for {args.e2e_seconds} s polling every"
        f" {args.poll} s, {args.steps} progress reports per order, {args.events} stamped"
        f" reports {args.event_interval} s apart; django-celery-results"
        f" {version('django-celery-results')}; {seconds / 60:.1f} min in all"
        + "".join(f"; async-rest with {item}" for item in getattr(args, "ours_env", [])),
        "",
        "| figure | async-rest | peer | ratio (median of rounds) | per round | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    for label, read, target, spec in ROWS:
        ours = [read(r[OURS]) for r in rounds]
        peer = [read(r[PEER]) for r in rounds]
        if label in LOWER_IS_BETTER:
            ratios, how = [p / o for o, p in zip(ours, peer, strict=True)], "peer ÷ ours"
        else:
            ratios, how = [o / p for o, p in zip(ours, peer, strict=True)], "ours ÷ peer"
        per_round = ", ".join(f"{x:.2f}" for x in ratios)
        lines.append(
            f"| {label} | {fmt(med(ours), spec)} | {fmt(med(peer), spec)} |"
            f" {med(ratios):.2f} ({how}) | {per_round} | {target} |"
        )
    ratios_304 = [relative("status-304", "status-token")(r[OURS]) for r in rounds]
    lines.append(
        f"| 304 ÷ 202 of the same order, req/s (async-rest) | {med(ratios_304):.3f} | - |"
        f" - | {', '.join(f'{x:.2f}' for x in ratios_304)} | > 1 (cheaper) |"
    )
    cpu_304 = [web_cpu("status-304")(r[OURS]) / web_cpu("status-token")(r[OURS]) for r in rounds]
    lines.append(
        f"| web CPU of a 304 ÷ of a 202, same order (async-rest) | {med(cpu_304):.3f} | - |"
        f" - | {', '.join(f'{x:.2f}' for x in cpu_304)} | < 1 (cheaper) |"
    )
    pooled = {
        name: [s for r in rounds for s in r[name]["visibility"]["samples_ms"]]
        for name in (OURS, PEER)
    }
    unseen = {name: sum(r[name]["visibility"]["unseen"] for r in rounds) for name in (OURS, PEER)}
    sizes = {name: rounds[-1][name]["get"]["body_bytes"] for name in (OURS, PEER)}
    loads = [f["load_average"] for r in rounds for f in r.values()]
    lines += [
        "",
        "written → visible over all rounds: "
        + "; ".join(
            f"{name} p50 {percentile(v, 50):.1f} ms, p99 {percentile(v, 99):.1f} ms,"
            f" max {max(v):.1f} ms ({len(v)} samples, {unseen[name]} reports overtaken unseen)"
            for name, v in pooled.items()
        ),
        f"status body bytes: async-rest {sizes[OURS]}; peer {sizes[PEER]}",
        f"load average (1 min) at the sessions' starts: {support.spread(loads)}",
        f"non-2xx/3xx answers + socket errors in every wrk run: {errors(rounds)}",
        "final codes of the end-to-end orders: "
        + "; ".join(f"{name} {[r[name]['e2e']['codes'] for r in rounds]}" for name in (OURS, PEER)),
    ]
    return "\n".join(lines)
