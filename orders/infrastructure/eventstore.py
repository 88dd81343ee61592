"""The event store's configuration: eventsourcing's environment for an ``EVENTSTORE_URL``."""

from __future__ import annotations

from urllib.parse import unquote, urlparse

from orders.application.tracker import OrderTracker


def event_store_env(
    url: str, *, create_table: bool = False, cache_size: int = 1000
) -> dict[str, str]:
    """eventsourcing's environment for an ``EVENTSTORE_URL``.

    ``sqlite:///path/events.sqlite3``, ``postgres://user:pass@host:port/db?schema=x``
    or ``memory://``. Tables are created only when asked (by ``migrate``): several
    processes creating them at once on PostgreSQL fail ("tuple concurrently updated").
    """
    parsed = urlparse(url)
    env = {
        "CREATE_TABLE": "y" if create_table else "n",
        # Recent orders each process keeps in memory, so that a command does not replay
        # the stream (OrderTracker._update; eventsourcing's own cache stays off).
        OrderTracker.LATEST_ORDERS_MAXSIZE: str(cache_size),
    }
    if parsed.scheme in ("memory", "popo"):
        env["PERSISTENCE_MODULE"] = "eventsourcing.popo"
        env["CREATE_TABLE"] = "y"
    elif parsed.scheme == "sqlite":
        env["PERSISTENCE_MODULE"] = "eventsourcing.sqlite"
        env["SQLITE_DBNAME"] = unquote(parsed.path)
        env["SQLITE_LOCK_TIMEOUT"] = "30"
    elif parsed.scheme in ("postgres", "postgresql"):
        query = dict(p.split("=", 1) for p in parsed.query.split("&") if "=" in p)
        env.update(
            PERSISTENCE_MODULE="eventsourcing.postgres",
            POSTGRES_DBNAME=parsed.path.lstrip("/"),
            POSTGRES_HOST=parsed.hostname or "127.0.0.1",
            POSTGRES_PORT=str(parsed.port or 5432),
            POSTGRES_USER=unquote(parsed.username or "postgres"),
            POSTGRES_PASSWORD=unquote(parsed.password or ""),
            # One statement per save that keeps commits in notification order
            # (orders/persistence.py); eventsourcing's stored function does not.
            APPLICATION_RECORDER_TOPIC="orders.infrastructure.postgres:OrderedPostgresRecorder",
            POSTGRES_ENABLE_DB_FUNCTIONS="n",
            POSTGRES_POOL_SIZE=query.get("pool_size", "5"),
            POSTGRES_CONNECT_TIMEOUT=query.get("connect_timeout", "5"),
        )
        if "schema" in query:
            env["POSTGRES_SCHEMA"] = query["schema"]
    else:
        raise ValueError(f"unsupported EVENTSTORE_URL scheme: {parsed.scheme!r}")
    return env
