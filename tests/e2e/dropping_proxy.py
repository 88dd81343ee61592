"""A TCP proxy on 127.0.0.1 that loses its first answer: the server acts, the client hears nothing.

The first connection's request is forwarded whole and the server's answer awaited, then both
sockets are closed without a byte sent back: to the client it is a connection dropped before
any answer, after the server has done the work. Later connections are forwarded both ways.
"""

from __future__ import annotations

import socket
import threading
from contextlib import suppress
from types import TracebackType


def _read_request(conn: socket.socket) -> bytes:
    """One HTTP request: its head, then as many body bytes as its Content-Length says."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _pump(source: socket.socket, target: socket.socket) -> None:
    with suppress(OSError):
        while chunk := source.recv(65536):
            target.sendall(chunk)
    with suppress(OSError):
        target.shutdown(socket.SHUT_WR)


class DroppingProxy:
    """``with DroppingProxy(port) as proxy:`` then talk to ``proxy.url``; ``dropped`` counts."""

    def __init__(self, upstream_port: int, drop: int = 1) -> None:
        self.upstream_port = upstream_port
        self.to_drop = drop
        self.dropped = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)  # accept() wakes up to see that it must stop
        self._stop = threading.Event()
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(30)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=30)
        self._sockets += [conn, upstream]
        with self._lock:
            drop = self.dropped < self.to_drop
            self.dropped += drop
        if drop:
            upstream.sendall(_read_request(conn))
            upstream.recv(65536)  # the server has answered: it has done what was asked
            upstream.close()
            conn.close()
            return
        self._spawn(_pump, upstream, conn)
        _pump(conn, upstream)

    def __enter__(self) -> DroppingProxy:
        self._spawn(self._accept)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._listener.close()
        for sock in self._sockets:
            with suppress(OSError):
                sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
