"""Shared helpers of the benchmarks: databases, subprocesses, wrk, statistics."""

from __future__ import annotations

import contextlib
import http.client
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg
from psycopg import sql

from receipts.keys import generate_key_file

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/5"
HOST = "127.0.0.1"


def machine() -> str:
    """A one-line description of this machine and of the software versions in use."""
    from importlib.metadata import version

    import django
    import psycopg as pg

    cpu = "?"
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}{' -O' if sys.flags.optimize else ''}, "
        f"Django {django.__version__}, "
        f"eventsourcing {version('eventsourcing')}, psycopg {pg.__version__}, "
        f"PostgreSQL {server_version()}"
    )


def server_version() -> str:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error:
        return "?"
    return str(row[0]) if row else "?"


# ------------------------------------------------------------------ databases


def database_url(name: str) -> str:
    return f"postgres://postgres@{HOST}:5432/{name}"


def create_database(prefix: str) -> str:
    """Create a fresh, uniquely named PostgreSQL database and return its name."""
    name = f"{prefix}_{os.getpid()}_{int(time.time())}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(name: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


@contextlib.contextmanager
def temporary_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database that exists for the duration of the block."""
    name = create_database(prefix)
    try:
        yield name
    finally:
        drop_database(name)
        print(f"# dropped database {name}", flush=True)


@contextlib.contextmanager
def temporary_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="async-rest-bench-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def service_env(
    db: str, settings_module: str, var_dir: Path, extra: dict[str, str] | None = None
) -> dict[str, str]:
    """Environment of a web or worker process of the project on database ``db``."""
    env = dict(os.environ)
    for name in list(env):
        if name.startswith(("ASYNC_REST_", "DJANGO_", "CELERY_")):
            del env[name]
    url = database_url(db)
    receipt_key = var_dir / "receipt-key.pem"  # config.production wants its key given
    generate_key_file(receipt_key)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=url,
        EVENTSTORE_URL=url,
        CELERY_BROKER_URL=REDIS_URL,
        DJANGO_SECRET_KEY="x",
        DJANGO_DEBUG="0",
        DATABASE_CONN_MAX_AGE="600",
        ASYNC_REST_VAR_DIR=str(var_dir),
        ASYNC_REST_RECEIPT_KEY_FILE=str(receipt_key),
        PYTHONPATH=str(ROOT),
        PYTHONDONTWRITEBYTECODE="1",
        LOG_LEVEL="WARNING",
    )
    env.update(extra or {})
    return env


def migrate(env: dict[str, str]) -> None:
    """Run ``manage.py migrate`` (which also creates the event tables) in a subprocess."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )


# ------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    """A subprocess in a session of its own, stopped with its whole process group."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        # Children left behind in the group (none expected): end them too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        print(f"# stopped {self.name} (pid {self.proc.pid})", flush=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def service(
    name: str, argv: Sequence[str], env: dict[str, str], log_dir: Path
) -> Iterator[Service]:
    """Run ``argv`` in the background for the duration of the block."""
    log = log_dir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(argv), cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    svc = Service(name, proc, log)
    print(f"# started {name} (pid {proc.pid}): {' '.join(argv)}", flush=True)
    try:
        yield svc
    finally:
        svc.stop()


def gunicorn_argv(port: int, workers: int = 2, app: str = "config.wsgi:application") -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        app,
        "--workers", str(workers),
        "--worker-class", "sync",
        "--bind", f"{HOST}:{port}",
        "--log-level", "warning",
        "--backlog", "2048",
    ]  # fmt: skip


def wait_http(url: str, timeout: float = 30.0, headers: dict[str, str] | None = None) -> None:
    """Wait until ``url`` answers a 2xx; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as response:
                if 200 <= response.status < 300:
                    return
                last = response.status
        except (urllib.error.URLError, OSError) as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s (last: {last})")


def get_status(url: str, headers: dict[str, str] | None = None) -> int:
    """The HTTP status of a GET, without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def install_signal_handlers() -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so that every ``finally`` cleans up."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


# ------------------------------------------------------------------ wrk


@dataclass
class WrkResult:
    requests_per_second: float
    requests: int
    non_2xx_3xx: int
    socket_errors: int
    latency_p50_ms: float
    latency_p99_ms: float


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def parse_wrk(output: str) -> WrkResult:
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    if not rps or not total:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    non = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    return WrkResult(
        requests_per_second=float(rps.group(1)),
        requests=int(total.group(1)),
        non_2xx_3xx=int(non.group(1)) if non else 0,
        socket_errors=sum(int(g) for g in sock.groups()) if sock else 0,
        latency_p50_ms=_ms(p50.group(1)) if p50 else float("nan"),
        latency_p99_ms=_ms(p99.group(1)) if p99 else float("nan"),
    )


def wrk(
    url: str,
    *,
    threads: int = 2,
    connections: int = 16,
    duration: int = 10,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
) -> WrkResult:
    if not url.startswith(f"http://{HOST}:"):
        raise ValueError(f"only {HOST} is benchmarked, not {url}")
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency"]
    if script is not None:  # a Lua script, e.g. one that makes every request a POST
        argv += ["-s", str(script)]
    for name, value in (headers or {}).items():
        argv += ["-H", f"{name}: {value}"]
    argv.append(url)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, check=True)
    return parse_wrk(done.stdout)


# ------------------------------------------------------------------ statistics


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def spread(values: Sequence[float]) -> str:
    """``min..max`` of a series, for the report."""
    return f"{min(values):.3g}..{max(values):.3g}"


def command_line() -> str:
    """How this benchmark was started, as one would type it from the project root."""
    spec = getattr(sys.modules["__main__"], "__spec__", None)
    module = spec.name if spec is not None else sys.argv[0]
    return " ".join([".venv/bin/python", "-m", module, *sys.argv[1:]])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of a GET (any status, no redirect followed)."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname != HOST:
        raise ValueError(f"only {HOST} is benchmarked, not {url}")
    conn = http.client.HTTPConnection(HOST, parsed.port, timeout=10)
    try:
        conn.request(
            "GET", parsed.path + (f"?{parsed.query}" if parsed.query else ""), headers=headers or {}
        )
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


MEASURED_PACKAGES = ("orders", "projections", "api", "config")


def code_version() -> str:
    """The commit, and a digest of the measured packages as they are in the working tree.

    Read-only git commands only (``--no-optional-locks``): others edit the tree meanwhile.
    """
    import hashlib

    def git(*argv: str) -> str:
        done = subprocess.run(
            ["git", "--no-optional-locks", *argv], cwd=ROOT, capture_output=True, text=True
        )
        return done.stdout.rstrip("\n") if done.returncode == 0 else "?"

    digest = hashlib.sha256()
    for package in MEASURED_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    changed = [
        line[3:]
        for line in git("status", "--porcelain", "--", *MEASURED_PACKAGES).splitlines()
        if line
    ]
    state = f"uncommitted changes in {', '.join(changed)}" if changed else "clean"
    head = git("rev-parse", "--short", "HEAD")
    return f"HEAD {head} ({state}); sources sha256 {digest.hexdigest()[:12]}"


def header() -> None:
    """Print the command, the machine and the code measured."""
    print(f"# command: {command_line()}", flush=True)
    print(f"# machine: {machine()}", flush=True)
    print(f"# code: {code_version()}", flush=True)
    print(f"# load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)


def delete_queue(queue: str) -> None:
    """Remove the bench's own Redis keys (its queue and exchange binding), nothing else."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [
            *client.scan_iter(match=f"{queue}*", count=1000),
            # kombu's binding keys: _kombu.binding.<q> and, in recent kombu, also
            # _kombu.binding_permanent.<q>.
            *client.scan_iter(match=f"_kombu.binding*.{queue}*", count=1000),
        ]
        if keys:
            client.delete(*keys)
    finally:
        client.close()
