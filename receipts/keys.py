"""The deployment's receipt keys: PEM files, or one generated once for the embedded default."""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    load_pem_private_key,
    load_pem_public_key,
)

from receipts.signing import KeyRing


class KeyConfigError(RuntimeError):
    """A receipt key that is missing, unreadable or not Ed25519: the process must not start."""


def generate_key_file(path: Path) -> None:
    """Write a new Ed25519 private key to ``path`` (0600), unless another process just did.

    Written to a private temporary file, then linked into place: linking fails when the
    file exists, so of two processes starting at once, one key wins and both use it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    )
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".receipt-key-")  # 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        with contextlib.suppress(FileExistsError):  # another process's key won
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _read_pem(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyConfigError(f"cannot read receipt key {path}: {exc.strerror}") from None


def load_private(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(_read_pem(path), password=None)
    except (ValueError, TypeError) as exc:
        raise KeyConfigError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyConfigError(f"{path} is not an Ed25519 key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    """A retired key: its PEM public key, or the public half of its PEM private key."""
    pem = _read_pem(path)
    if b"PRIVATE KEY" in pem:
        return load_private(path).public_key()
    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise KeyConfigError(f"{path} is not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyConfigError(f"{path} is not an Ed25519 key")
    return key


def load_ring(
    key_file: str | Path, retired: Iterable[str | Path] = (), generate: bool = False
) -> KeyRing:
    """The key ring the settings describe; with ``generate``, a missing key file is created."""
    path = Path(key_file)
    if generate and not path.exists():
        generate_key_file(path)
    return KeyRing(load_private(path), [load_public(Path(p)) for p in retired])


_ring: KeyRing | None = None
_lock = threading.Lock()


def ring_from_settings(conf: Mapping[str, Any]) -> KeyRing:
    return load_ring(
        conf["RECEIPT_KEY_FILE"], conf["RECEIPT_RETIRED_KEYS"], conf["RECEIPT_KEY_GENERATE"]
    )


def install(conf: Mapping[str, Any]) -> KeyRing:
    """Load this process's key ring now (at start-up: a bad key stops the process)."""
    global _ring
    with _lock:
        _ring = ring_from_settings(conf)
        return _ring


def key_ring() -> KeyRing:
    """This process's key ring (loaded from the settings on first use if not installed)."""
    if _ring is not None:
        return _ring
    from django.conf import settings

    return install(settings.ASYNC_REST)


def uninstall() -> None:
    """Forget the process's key ring (tests that change the settings)."""
    global _ring
    _ring = None
