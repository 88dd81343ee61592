"""The two systems of bench.peer, each driven from outside: settings, commands, processes."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import support


@dataclass(frozen=True)
class Design:
    """One system as a black box: its settings module, entry points and URLs."""

    name: str
    settings: str
    wsgi: str
    celery_app: str
    django_command: tuple[str, ...]  # how its Django commands are run
    place_path: str
    constant_path: str
    env: dict[str, str] = field(default_factory=dict)
    etag: bool = False  # whether its status GET answers ETag / 304
    anonymous_place: bool = False  # whether an anonymous client may place (for the anon GET)

    def place_body(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"context": params} if self.name == OURS_NAME else params

    def progress(self, body: dict[str, Any]) -> tuple[int | None, str | None]:
        """``(current step, message)`` as the status GET shows them."""
        if self.name == OURS_NAME:
            return body.get("current"), body.get("message")
        info = body.get("info")
        if not isinstance(info, dict):
            return None, None
        return info.get("current"), info.get("message")


OURS_NAME = "async-rest"
OURS = Design(
    name=OURS_NAME,
    settings="bench.ours.settings",
    wsgi="config.wsgi:application",
    celery_app="config",
    django_command=(support.PYTHON, "manage.py"),
    place_path="/async/bench-steps/order/",  # bench.ours.tasks.RESOURCE_NAME
    constant_path="/bench/constant/",  # bench.baseline's ConstantView
    # The per-user order throttle (120/min) lifted, as bench.orders_e2e does; anonymous
    # reads allowed for the anonymous status GET (tokens still authenticate everything else).
    env={"ASYNC_REST_ORDER_RATE": "1000000/min", "ASYNC_REST_ALLOW_ANONYMOUS": "y"},
    etag=True,
    anonymous_place=True,
)
PEER = Design(
    name="peer",
    settings="bench.peer_dcr.settings",
    wsgi="bench.peer_dcr.wsgi:application",
    celery_app="bench.peer_dcr.celery:app",
    django_command=(support.PYTHON, "-m", "django"),
    place_path="/peer/tasks/",
    constant_path="/peer/constant/",
)
DESIGNS = (OURS, PEER)


@dataclass
class Deployment:
    """A system on its own fresh database and Celery queue, with a user and its token."""

    design: Design
    db: str
    queue: str
    env: dict[str, str]
    token: str = ""

    def django(self, *argv: str, timeout: float = 300) -> str:
        done = subprocess.run(
            [*self.design.django_command, *argv],
            cwd=support.ROOT, env=self.env, timeout=timeout, capture_output=True, text=True,
        )  # fmt: skip
        if done.returncode:
            raise RuntimeError(f"{self.design.name}: {argv[0]} failed:\n{done.stderr[-3000:]}")
        return done.stdout


TOKEN_SCRIPT = (
    "from django.contrib.auth.models import User; "
    "from rest_framework.authtoken.models import Token; "
    "print(Token.objects.create(user=User.objects.create_user('bench', password=None)).key)"
)


def deploy(design: Design, var_dir: Path) -> Deployment:
    """Create the database, migrate it, make the bench user and its token (all by commands)."""
    db = support.create_database(f"bench_asyncrest_peer_{design.name.replace('-', '_')}")
    queue = f"bench-peer-{design.name}-{os.getpid()}-{int(time.time())}"
    extra = {**design.env, "BENCH_CELERY_QUEUE": queue}
    dep = Deployment(design, db, queue, support.service_env(db, design.settings, var_dir, extra))
    try:
        dep.django("migrate", "--noinput", "-v", "0")
        dep.token = dep.django("shell", "-c", TOKEN_SCRIPT).strip().splitlines()[-1]
    except BaseException:
        remove(dep)
        raise
    return dep


def remove(dep: Deployment) -> None:
    """Drop the database and the Redis keys of the queue."""
    with contextlib.suppress(Exception):
        support.drop_database(dep.db)
        print(f"# dropped database {dep.db}", flush=True)
    support.delete_queue(dep.queue)


@contextlib.contextmanager
def web(dep: Deployment, port: int, workers: int, log_dir: Path) -> Iterator[support.Service]:
    argv = support.gunicorn_argv(port, workers, app=dep.design.wsgi)
    name = f"gunicorn-{dep.design.name}"
    with support.service(name, argv, dep.env, log_dir) as svc:
        base = f"http://{support.HOST}:{port}"
        try:
            support.wait_http(base + dep.design.constant_path, headers=auth(dep))
        except RuntimeError:
            print(svc.tail(), flush=True)
            raise
        yield svc


@contextlib.contextmanager
def worker(dep: Deployment, concurrency: int, log_dir: Path) -> Iterator[support.Service]:
    argv = [
        str(support.VENV_BIN / "celery"), "-A", dep.design.celery_app, "worker",
        "--concurrency", str(concurrency), "--loglevel", "WARNING", "-Q", dep.queue,
        "-n", f"{dep.queue}@%h", "--without-gossip", "--without-mingle",
    ]  # fmt: skip
    with support.service(f"celery-{dep.design.name}", argv, dep.env, log_dir) as svc:
        yield svc


def auth(dep: Deployment) -> dict[str, str]:
    return {"Authorization": f"Token {dep.token}"}


# ------------------------------------------------------------------ CPU of process groups


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU seconds of the live processes of a process group (from /proc)."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        # After "pid (comm) ": state ppid pgrp ... utime (14th field) stime (15th).
        fields = text[text.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu(*services: support.Service) -> float:
    return sum(group_cpu_seconds(s.proc.pid) for s in services)


def quiesce(*services: support.Service, below: float = 0.1, timeout: float = 30.0) -> float:
    """Wait until the services use less than ``below`` of a core over a second; the wait."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        before = cpu(*services)
        time.sleep(1.0)
        if cpu(*services) - before < below:
            break
    return time.monotonic() - start


def answer_json(body: bytes) -> dict[str, Any]:
    value = json.loads(body) if body else {}
    return value if isinstance(value, dict) else {}
