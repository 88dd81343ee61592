"""bench.soak's processes by role: start, SIGKILL, restart, and their RSS sampled every 5 s."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import redis

from bench import support


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
