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
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import redis

from bench import peer_systems, support
from bench.soak_clients import Client, Tally
from bench.soak_report import (
    callback_counts,
    event_facts,
    exceptions_logged,
    read_model_statuses,
    report,
)
from bench.soak_stack import Processes
from tests.e2e.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"soak" * 8).decode()
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
