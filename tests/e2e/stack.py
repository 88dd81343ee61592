"""A real running stack for end-to-end tests: migrate, a Celery worker and gunicorn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from receipts.keys import generate_key_file
from tests.services import (
    ROOT,
    free_port,
    fresh_postgres_database,
    require_postgres,
    require_redis,
    venv_bin,
    wait_for_port,
)

# Redis database the production stack flushes and uses as its broker; two test runs at once
# on one machine (two checkouts) each need their own.
REDIS_DB = int(os.environ.get("ASYNC_REST_TEST_REDIS_DB", "13"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


class Answer:
    def __init__(self, status: int, headers: dict[str, str], body: Any) -> None:
        self.status, self.headers, self.body = status, headers, body


class LiveStack:
    """Processes started with ``env`` on top of this one's; stopped by ``stop()``."""

    def __init__(self, var_dir: Path, env: dict[str, str], eventstore_url: str = "") -> None:
        self.var_dir = var_dir
        self.eventstore_url = eventstore_url or f"sqlite:///{var_dir / 'events.sqlite3'}"
        self.env = {**os.environ, "ASYNC_REST_VAR_DIR": str(var_dir), **env}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.update({k: v for k, v in env.items() if k == "DJANGO_SETTINGS_MODULE"})
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.headers: dict[str, str] = {}
        self.procs: list[subprocess.Popen[bytes]] = []
        self.migrated = False

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
        if args[:1] == ("migrate",):
            self.migrated = True
        return done.stdout

    def migrate(self) -> None:
        """``manage.py migrate`` unless this stack's databases were migrated already."""
        if not self.migrated:
            self.manage("migrate", "--noinput")

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = open(self.var_dir / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        # A process group of its own: stop() kills it with the children it forked.
        proc = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def start(self, worker: bool = True) -> LiveStack:
        self.migrate()  # tables must exist before the processes start
        if worker:
            self.start_worker()
        web = self._spawn(
            "web",
            # No control socket: its default path is shared by every gunicorn of the user.
            [
                venv_bin("gunicorn"),
                "config.wsgi",
                "-b",
                f"127.0.0.1:{self.port}",
                "-w",
                "2",
                "--no-control-socket",
            ],
        )
        wait_for_port(self.port, proc=web)
        return self

    def start_worker(self, name: str = "worker") -> subprocess.Popen[bytes]:
        return self._spawn(
            name,
            [venv_bin("celery"), "-A", "config", "worker", "--concurrency=1", "--loglevel=INFO",
             "--without-mingle", "--without-gossip", "-n", f"{name}-{self.port}@%h"],
        )  # fmt: skip

    def create_token(self, username: str = "carla") -> str:
        """A user with an API token; its header is sent on every later request."""
        key = self.manage(
            "shell",
            "-c",
            "from django.contrib.auth.models import User;"
            "from rest_framework.authtoken.models import Token;"
            f"u = User.objects.create_user({username!r});"
            "print(Token.objects.create(user=u).key)",
        ).split()[-1]
        self.headers["Authorization"] = f"Token {key}"
        return key

    def stop(self) -> None:
        """Kill every process of the stack with the ones it forked (pool, horses, workers).

        No test looks at a stack after it is stopped, and its databases and broker are
        thrown away: a graceful stop would only cost time (a Celery worker on the
        file-system broker takes about 7 s to leave by SIGTERM, on Redis about 3 s).
        """
        for proc in self.procs:
            if proc.poll() is None:
                try:
                    if os.getpgid(proc.pid) == proc.pid:
                        os.killpg(proc.pid, signal.SIGKILL)
                    else:
                        proc.kill()
                except ProcessLookupError:
                    pass
        for proc in self.procs:
            proc.wait(timeout=15)

    def log(self, name: str) -> str:
        return (self.var_dir / f"{name}.log").read_text(errors="replace")

    def request(self, method: str, path_or_url: str, body: Any = None) -> Answer:
        url = path_or_url if path_or_url.startswith("http") else self.base + path_or_url
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        for key, value in self.headers.items():
            req.add_header(key, value)
        try:
            resp = _opener.open(req, timeout=10)
        except urllib.error.HTTPError as err:
            resp = err
        raw = resp.read()
        return Answer(resp.status, dict(resp.headers), json.loads(raw) if raw else None)

    def poll_until_done(self, url: str, timeout: float = 90.0) -> tuple[Answer, list[int]]:
        """Poll like a client: until the answer is no longer 202. Returns it and the codes."""
        codes: list[int] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            answer = self.request("GET", url)
            codes.append(answer.status)
            if answer.status != 202:
                return answer, codes
            time.sleep(0.1)
        raise TimeoutError(
            f"{url} still 202 after {timeout}s\n--- worker log ---\n{self.log('worker')[-4000:]}"
        )


@contextmanager
def embedded_stack(var_dir: Path, env: dict[str, str] | None = None) -> Iterator[LiveStack]:
    """The embedded default: SQLite files and a file-system broker in ``var_dir``."""
    live = LiveStack(var_dir, {"DJANGO_SETTINGS_MODULE": "config.settings", **(env or {})})
    try:
        yield live
    finally:
        live.stop()


@contextmanager
def production_stack(
    var_dir: Path, env: dict[str, str] | None = None, broker_url: str = ""
) -> Iterator[LiveStack]:
    """config.production on a fresh PostgreSQL database and a Redis broker, with a token."""
    require_postgres()
    if not broker_url:
        require_redis()
        import redis

        redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB).flushdb()
        broker_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
    receipt_key = var_dir / "receipt-key.pem"  # production is given its key, never makes one
    generate_key_file(receipt_key)
    with fresh_postgres_database("asyncrest_e2e") as db_url:
        live = LiveStack(
            var_dir,
            {
                "DJANGO_SETTINGS_MODULE": "config.production",
                "DJANGO_SECRET_KEY": "e2e-secret",
                "ASYNC_REST_RECEIPT_KEY_FILE": str(receipt_key),
                "DATABASE_URL": db_url,
                "EVENTSTORE_URL": db_url,
                "CELERY_BROKER_URL": broker_url,
                **(env or {}),
            },
            eventstore_url=db_url,
        )
        try:
            live.manage("migrate", "--noinput")
            live.create_token()
            yield live
        finally:
            live.stop()
