"""Soak: mixed orders through gunicorn + two Celery workers on PostgreSQL and Redis, with faults.

For ``--minutes`` (default 10), ``--clients`` threads place orders of six kinds in turn
(fast, slow, failing, cancelled, retried, with a callback) and poll each until it ends.
On the way one worker is SIGKILLed and restarted, the bench's own Redis (``--redis-port``,
never the shared 6379) is SIGKILLed and restarted empty (every message in it lost), and
gunicorn's master gets SIGHUP (its workers recycled). After a grace period: every order
ended, ``orders verify --all``, RSS per process group (sampled every 5 s), every HTTP status
seen by the clients, callbacks counted at a local receiver. Prints a Markdown report.

    .venv/bin/python -m bench.soak --minutes 3
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import signal
import statistics
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import redis
from psycopg import sql

from bench import peer_systems, support
from tests.e2e.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"soak" * 8).decode()
TERMINAL = ("completed", "failed", "cancelled")
# Kind -> (resource, context, the status it should end in).
KINDS: dict[str, tuple[str, dict[str, Any], str]] = {
    "fast": ("regina", {"steps": 1, "step_seconds": 0}, "completed"),
    "slow": ("regina", {"steps": 10, "step_seconds": 0.3}, "completed"),
    "failing": ("regina", {"fail_with": "soak: out of ingredients"}, "failed"),
    "cancelled": ("regina", {"steps": 40, "step_seconds": 0.25}, "cancelled"),
    "retried": ("soak-retry", {}, "completed"),  # bench.soak_tasks
    "callback": ("regina", {"steps": 2, "step_seconds": 0.1}, "completed"),
}
# Short enough that what the faults lose comes back within the grace period.
FAULT_TOLERANT_ENV = {
    "ASYNC_REST_CATCHUP_INTERVAL": "2",
    "ASYNC_REST_RELAY_AFTER": "5",
    "ASYNC_REST_REDISPATCH_AFTER": "20",  # a message lost with Redis is sent again
    "ASYNC_REST_WORKER_LOST_AFTER": "40",  # a running order of the killed worker: reaped
    "CELERY_VISIBILITY_TIMEOUT": "30",  # ... unless Redis hands its message out again first
    "ASYNC_REST_CALLBACK_RELAY_AFTER": "20",
    "ASYNC_REST_CALLBACK_BACKOFF": "1",
}


# ------------------------------------------------------------------ processes


def group_rss_bytes(pgid: int) -> int:
    """Resident memory of the live processes of a process group (from /proc)."""
    total, page = 0, os.sysconf("SC_PAGE_SIZE")
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                text = f.read()
            if int(text[text.rindex(")") + 2 :].split()[2]) != pgid:
                continue
            with open(f"/proc/{entry.name}/statm") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, ValueError, IndexError):
            continue
    return total


class Processes:
    """The stack's services by role; restartable; their RSS sampled in the background."""

    def __init__(self, env: dict[str, str], log_dir: Path, args: argparse.Namespace) -> None:
        self.env, self.log_dir, self.args = env, log_dir, args
        self.stack = contextlib.ExitStack()
        self.live: dict[str, support.Service] = {}
        self.incarnations: Counter[str] = Counter()
        self.rss: dict[str, list[int]] = defaultdict(list)  # "role #n" -> samples
        self.lock = threading.Lock()
        self.stop_sampling = threading.Event()

    def start(self, role: str, argv: list[str]) -> support.Service:
        self.incarnations[role] += 1
        name = f"{role}-{self.incarnations[role]}"
        svc = self.stack.enter_context(support.service(name, argv, self.env, self.log_dir))
        with self.lock:
            self.live[role] = svc
        return svc

    def redis(self) -> support.Service:
        argv = [
            "redis-server", "--port", str(self.args.redis_port), "--bind", support.HOST,
            "--save", "", "--appendonly", "no", "--dir", str(self.log_dir),
        ]  # fmt: skip
        svc = self.start("redis", argv)
        client = redis.Redis(host=support.HOST, port=self.args.redis_port)
        deadline = time.monotonic() + 15
        while True:
            try:
                client.ping()
                return svc
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def worker(self, role: str, queue: str) -> support.Service:
        argv = [
            str(support.VENV_BIN / "celery"), "-A", "config", "worker", "--concurrency", "1",
            "--loglevel", "WARNING", "-Q", queue, "-n", f"{role}-{queue}@%h",
            "--without-gossip", "--without-mingle",
        ]  # fmt: skip
        return self.start(role, argv)

    def web(self, port: int) -> support.Service:
        # No control socket: its default path is shared by every gunicorn of the user.
        return self.start("gunicorn", [*support.gunicorn_argv(port, 2), "--no-control-socket"])

    def kill(self, role: str) -> None:
        """SIGKILL the whole process group of ``role`` (master and children)."""
        svc = self.live[role]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(svc.proc.pid, signal.SIGKILL)
        svc.proc.wait(15)
        print(f"# SIGKILLed {svc.name} (pid {svc.proc.pid})", flush=True)

    def sample_forever(self, every: float = 5.0) -> None:
        while not self.stop_sampling.is_set():
            with self.lock:
                live = dict(self.live)
            for svc in live.values():
                if svc.proc.poll() is None:
                    self.rss[svc.name].append(group_rss_bytes(svc.proc.pid))
            self.stop_sampling.wait(every)


# ------------------------------------------------------------------ clients


@dataclass
class Tally:
    """What the clients saw: every status code, every order and how it ended."""

    codes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    orders: dict[str, str] = field(default_factory=dict)  # uuid -> kind
    ended: dict[str, str] = field(default_factory=dict)  # uuid -> final status seen
    surprises: Counter[str] = field(default_factory=Counter)  # "kind: status (message)"
    lock: threading.Lock = field(default_factory=threading.Lock)

    def code(self, what: str, status: int) -> None:
        with self.lock:
            self.codes[f"{what} {status}"] += 1

    def error(self, what: str, exc: BaseException) -> None:
        with self.lock:
            self.errors[f"{what} {type(exc).__name__}"] += 1


class Client:
    """One polling client: places an order, polls it to its end, and again until told to stop."""

    def __init__(self, port: int, token: str, tally: Tally, receiver: Receiver) -> None:
        self.port, self.tally, self.receiver = port, tally, receiver
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}

    def call(
        self,
        what: str,
        method: str,
        path: str,
        body: Any = None,
        extra: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request, retried on a connection error (a recycled or restarting server)."""
        data = None if body is None else json.dumps(body)
        for attempt in range(20):
            conn = http.client.HTTPConnection(support.HOST, self.port, timeout=30)
            try:
                conn.request(method, path, body=data, headers={**self.headers, **(extra or {})})
                response = conn.getresponse()
                raw = response.read()
            except (OSError, http.client.HTTPException) as exc:
                self.tally.error(what, exc)
                time.sleep(0.2 * (attempt + 1))
                continue
            finally:
                conn.close()
            self.tally.code(what, response.status)
            try:
                return response.status, json.loads(raw) if raw else None
            except ValueError:
                return response.status, None
        raise RuntimeError(f"{method} {path}: no answer after 20 attempts")

    def place(self, kind: str) -> str | None:
        resource, context, _ = KINDS[kind]
        body: dict[str, Any] = {"context": dict(context)}
        if kind == "callback":  # the chosen events: however it ends
            body["callback"] = {"url": f"{self.receiver.base}/ok"}
        # The same key on a retried POST: a connection lost after the commit places no twin.
        key = {"Idempotency-Key": str(uuid.uuid4())}
        status, answer = self.call("POST order", "POST", f"/async/{resource}/order/", body, key)
        if status != 302 or not isinstance(answer, dict):
            return None
        order_id = str(answer["uuid"])
        with self.tally.lock:
            self.tally.orders[order_id] = kind
        return order_id

    def follow(self, order_id: str, kind: str, give_up: float) -> None:
        cancel_at = time.monotonic() + 1.0 if kind == "cancelled" else None
        while time.monotonic() < give_up:
            if cancel_at is not None and time.monotonic() >= cancel_at:
                self.call("POST cancel", "POST", f"/async/orders/{order_id}/cancel/")
                cancel_at = None
            status, answer = self.call("GET order", "GET", f"/async/orders/{order_id}/")
            seen = answer.get("status") if isinstance(answer, dict) else None
            if status != 202 and seen in TERMINAL:
                with self.tally.lock:
                    self.tally.ended[order_id] = str(seen)
                    if seen != KINDS[kind][2]:
                        error = answer.get("error") or {}
                        why = error.get("message") or answer.get("message")
                        self.tally.surprises[f"{kind}: {seen} ({why})"] += 1
                return
            time.sleep(0.3)

    def run(self, offset: int, until: float, give_up: float) -> None:
        kinds = list(KINDS)
        i = offset
        while time.monotonic() < until:
            kind = kinds[i % len(kinds)]
            i += 1
            try:
                order_id = self.place(kind)
                if order_id:
                    self.follow(order_id, kind, give_up)
            except RuntimeError as exc:
                self.tally.error("client gave up", exc)


# ------------------------------------------------------------------ the run


def create_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [support.PYTHON, "manage.py", "shell", "-c", peer_systems.TOKEN_SCRIPT],
        cwd=support.ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    return done.stdout.strip().splitlines()[-1]


def faults(
    procs: Processes, start: float, seconds: float, port: int, queue: str, auth: dict[str, str]
) -> list[str]:
    """Kill a worker, crash Redis, recycle the web workers, spread over the run; what was done."""
    done: list[str] = []

    def at(share: float) -> None:
        time.sleep(max(0.0, start + share * seconds - time.monotonic()))

    def stamp(text: str) -> None:
        done.append(f"{time.monotonic() - start:6.1f} s  {text}")
        print(f"# {done[-1]}", flush=True)

    at(0.25)
    procs.kill("celery-a")
    stamp("SIGKILL celery-a (master and child)")
    time.sleep(3)
    procs.worker("celery-a", queue)
    stamp("celery-a restarted")
    at(0.5)
    procs.kill("redis")
    stamp("SIGKILL redis (no persistence: every queued message lost)")
    time.sleep(5)
    procs.redis()
    stamp("redis restarted, empty")
    at(0.75)
    os.kill(procs.live["gunicorn"].proc.pid, signal.SIGHUP)
    stamp("SIGHUP gunicorn master (workers recycled)")
    support.wait_http(f"http://{support.HOST}:{port}/bench/constant/", headers=auth)
    return done


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


def soak(args: argparse.Namespace, db: str, var_dir: Path, queue: str) -> str:
    broker = f"redis://{support.HOST}:{args.redis_port}/{args.redis_db}"
    env = support.service_env(
        db,
        "bench.soak_tasks.settings",
        var_dir,
        {
            **FAULT_TOLERANT_ENV,
            "CELERY_BROKER_URL": broker,
            "BENCH_CELERY_QUEUE": queue,
            "ASYNC_REST_ORDER_RATE": "1000000/min",
            "ASYNC_REST_CALLBACK_SECRETS": SECRET,
            "ASYNC_REST_CALLBACK_ALLOWED_NETWORKS": "127.0.0.1/32",
        },
    )
    support.migrate(env)
    token = create_token(env)
    port = support.free_port()
    receiver, tally = Receiver(SECRET), Tally()
    procs = Processes(env, var_dir, args)
    auth = {"Authorization": f"Token {token}"}
    started = time.monotonic()
    with procs.stack:
        procs.redis()
        procs.worker("celery-a", queue)
        procs.worker("celery-b", queue)
        web = procs.web(port)
        try:
            support.wait_http(f"http://{support.HOST}:{port}/bench/constant/", headers=auth)
        except RuntimeError:
            print(web.tail(), flush=True)
            raise
        sampler = threading.Thread(target=procs.sample_forever, daemon=True)
        sampler.start()
        start = time.monotonic()
        seconds = args.minutes * 60
        until, give_up = start + seconds, start + seconds + args.grace
        clients = [
            threading.Thread(
                target=Client(port, token, tally, receiver).run, args=(i, until, give_up)
            )
            for i in range(args.clients)
        ]
        for thread in clients:
            thread.start()
        done = faults(procs, start, seconds, port, queue, auth)
        for thread in clients:
            thread.join()
        print(f"# load over; clients done {time.monotonic() - until:.0f} s after", flush=True)
        # Callbacks of the last orders: a little longer, within the grace period.
        while time.monotonic() < give_up:
            stats = callback_counts(receiver, tally)
            if not stats.get("never delivered"):
                break
            time.sleep(1)
        procs.stop_sampling.set()
        sampler.join()
        verify = subprocess.run(
            [support.PYTHON, "manage.py", "orders", "verify", "--all"],
            cwd=support.ROOT, env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        verified = (verify.stdout.strip().splitlines() or ["(no output)"])[-1]
        if verify.returncode:
            verified += f" (exit {verify.returncode}: {verify.stderr.strip()[-300:]})"
        with contextlib.suppress(redis.RedisError):
            client = redis.Redis(host=support.HOST, port=args.redis_port, db=args.redis_db)
            keys = [
                *client.scan_iter(match=f"{queue}*"),
                *client.scan_iter(f"_kombu.binding*.{queue}*"),
            ]
            if keys:
                client.delete(*keys)
            print(f"# deleted the {len(keys)} Redis keys of queue {queue}", flush=True)
        extra: dict[str, Any] = {
            "faults": done,
            "read_model": read_model_statuses(db),
            "events": event_facts(db),
            "verify": verified,
            "callbacks": callback_counts(receiver, tally),
        }
    receiver.close()
    tracebacks = {
        log.stem: dict(found)
        for log in sorted(var_dir.glob("*.log"))
        if (found := exceptions_logged(log.read_text(errors="replace")))
    }
    extra.update(tracebacks=tracebacks, wall=time.monotonic() - started)
    return report(args, tally, procs, extra)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="minutes of load")
    parser.add_argument("--clients", type=int, default=6, help="polling client threads")
    parser.add_argument("--grace", type=float, default=120, help="seconds for orders to end")
    parser.add_argument("--redis-port", type=int, default=6391, help="the bench's own Redis")
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--keep-logs", type=Path, default=None, help="copy the logs here")
    args = parser.parse_args(argv)
    if not 0.5 <= args.minutes <= 240 or not 1 <= args.clients <= 32:
        parser.error("minutes must be 0.5..240 and clients 1..32")
    if args.redis_port == 6379:
        parser.error("the shared Redis on 6379 is never restarted: give another port")
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print a Markdown report."""
    args = parse_args(argv)
    support.install_signal_handlers()
    support.header()
    queue = f"bench-soak-{os.getpid()}-{int(time.time())}"
    with (
        support.temporary_directory() as var_dir,
        support.temporary_database("bench_asyncrest_soak") as db,
    ):
        text = soak(args, db, var_dir, queue)
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            for log in var_dir.glob("*.log"):
                (args.keep_logs / log.name).write_bytes(log.read_bytes())
    print()
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
