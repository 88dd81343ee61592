"""The archive file: gzip members of JSON Lines, one order per line, each member fsynced whole.

Layout: the first member holds a header line; every later member is one batch of orders,
written and fsynced before any of them is removed from the store. A crash can leave
only a partly written *last* member, which ``read_members`` reports (``Truncated``) and
``ArchiveWriter`` cuts off before appending again: everything before it is complete.
Each order line carries every event exactly as stored (topic, version, the state bytes
in base64, its old position) plus readable copies of its type, time and hashes; a
member is decompressed alone, so memory stays that of one batch however big the file.
"""

from __future__ import annotations

import base64
import fcntl
import gzip
import json
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from uuid import UUID

from orders.infrastructure.streams import StoredRow

FORMAT = "async-rest-archive/1"
_CHUNK = 1 << 20


class ArchiveError(Exception):
    """The file is not an archive, or is damaged before its last member."""


@dataclass(frozen=True)
class ArchivedOrder:
    """One ended order's whole stream, as it was stored."""

    order_id: UUID
    status: str
    ended: datetime
    rows: list[StoredRow]
    readable: list[dict[str, Any]]  # per event: type, timestamp, prev_hash, hash

    def line(self) -> dict[str, Any]:
        return {
            "order_id": str(self.order_id),
            "status": self.status,
            "ended": self.ended.isoformat(),
            "events": [
                {
                    "version": r.version,
                    "topic": r.topic,
                    "state": base64.b64encode(r.state).decode(),
                    "position": r.position,
                    **readable,
                }
                for r, readable in zip(self.rows, self.readable, strict=True)
            ],
        }

    @classmethod
    def from_line(cls, line: dict[str, Any]) -> ArchivedOrder:
        order_id = UUID(line["order_id"])
        events = line["events"]
        return cls(
            order_id=order_id,
            status=str(line["status"]),
            ended=datetime.fromisoformat(line["ended"]),
            rows=[
                StoredRow(
                    order_id,
                    int(e["version"]),
                    str(e["topic"]),
                    base64.b64decode(e["state"], validate=True),
                    int(e.get("position", 0)),
                )
                for e in events
            ],
            readable=[
                {k: e.get(k) for k in ("type", "timestamp", "prev_hash", "hash")} for e in events
            ],
        )


@dataclass(frozen=True)
class Member:
    """One complete gzip member: where it ends in the file and its lines."""

    end: int
    lines: list[dict[str, Any]]


@dataclass(frozen=True)
class Truncated:
    """The file ends inside a member that starts at ``start`` (a run was interrupted)."""

    start: int


def read_members(path: Path) -> Iterator[Member | Truncated]:
    """The file's members in order; a partly written last member ends it as ``Truncated``."""
    with open(path, "rb") as f:
        start, data = 0, b""
        while True:
            if not data:
                data = f.read(_CHUNK)
                if not data:
                    return
            inflater = zlib.decompressobj(wbits=31)  # one gzip member
            parts, fed = [], 0
            while True:
                try:
                    parts.append(inflater.decompress(data))
                except zlib.error as exc:
                    raise ArchiveError(f"{path}: damaged data in the member at byte {start}: "
                                       f"{exc}") from exc  # fmt: skip
                if inflater.eof:
                    fed += len(data) - len(inflater.unused_data)
                    data = inflater.unused_data
                    break
                fed += len(data)
                data = f.read(_CHUNK)
                if not data:
                    yield Truncated(start)
                    return
            start += fed
            text = b"".join(parts).decode()
            yield Member(start, [json.loads(line) for line in text.splitlines() if line])


def header(created: datetime | None = None) -> dict[str, Any]:
    return {"archive": FORMAT, "created": (created or datetime.now(UTC)).isoformat()}


def is_header(line: dict[str, Any]) -> bool:
    return line.get("archive") == FORMAT


def archived_orders(path: Path) -> Iterator[list[ArchivedOrder] | Truncated]:
    """The archive's orders a batch (member) at a time; a torn last member as ``Truncated``."""
    first = True
    for member in read_members(path):
        if isinstance(member, Truncated):
            yield member
            return
        lines = member.lines
        if first:
            if not lines or not is_header(lines[0]):
                raise ArchiveError(f"{path} is not an {FORMAT} file (no header)")
            lines, first = lines[1:], False
        if lines:
            yield [ArchivedOrder.from_line(line) for line in lines]
    if first:
        raise ArchiveError(f"{path} is not an {FORMAT} file (empty)")


def whole_batches(path: Path) -> Iterator[list[ArchivedOrder]]:
    """The archive's complete batches (a torn last member, never acted upon, is left out)."""
    for batch in archived_orders(path):
        if not isinstance(batch, Truncated):
            yield batch


class ArchiveWriter:
    """Appends batches to an archive, one fsynced gzip member each; one writer per file.

    Opening repairs a file left by a crash: a torn last member is cut off (it was never
    fsynced whole, so none of its orders was removed). The file is locked (``flock``)
    while open, so two runs never append to one archive at once.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        self.file: IO[bytes] = os.fdopen(fd, "r+b")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.file.close()
            raise ArchiveError(f"{path} is being written by another run") from None
        self.repaired_at: int | None = None
        size = os.fstat(fd).st_size
        if size == 0:
            self._append([header()])
            _fsync_dir(path.parent)  # the new file's name must survive a crash too
        else:
            for member in read_members(path):
                if isinstance(member, Truncated):
                    self.repaired_at = member.start
                    self.file.truncate(member.start)
                    os.fsync(fd)
            if self.repaired_at == 0:  # only a torn header: start the file again
                self._append([header()])

    def write(self, orders: list[ArchivedOrder]) -> None:
        """Append one batch and make it durable before the caller removes anything."""
        if orders:
            self._append([o.line() for o in orders])

    def _append(self, lines: list[dict[str, Any]]) -> None:
        self.file.seek(0, os.SEEK_END)
        payload = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        # mtime=0: a member's bytes depend only on its content.
        with gzip.GzipFile(fileobj=self.file, mode="wb", mtime=0) as member:
            member.write(payload.encode())
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()  # closing the file releases the lock

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
