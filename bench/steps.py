"""The work of both systems' bench tasks (bench.peer): N progress reports, paced, stamped, held."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MAX_STEPS = 1000
MAX_INTERVAL = 1.0
# A held task waits at most this long for its release file (the bench normally releases it).
MAX_HOLD = 600.0
_TOKEN = re.compile(r"[0-9a-f]{8,64}")


class BadParameters(ValueError):
    """The parameters of a bench task are out of range."""


def release_file(token: str) -> Path:
    """Where the bench creates the file that lets a held task end (a temp dir both can see)."""
    if not _TOKEN.fullmatch(token):
        raise BadParameters(f"hold token must be 8 to 64 hex digits, not {token!r}")
    return Path(tempfile.gettempdir()) / f"async-rest-bench-release-{token}"


def parse(params: Mapping[str, Any]) -> dict[str, Any]:
    """The checked parameters: steps, interval (s), stamp, hold (a token) and hold_max (s)."""
    steps, interval = params.get("steps", 10), params.get("interval", 0)
    if type(steps) is not int or not 0 <= steps <= MAX_STEPS:
        raise BadParameters(f"steps must be an integer 0..{MAX_STEPS}")
    if type(interval) not in (int, float) or not 0 <= interval <= MAX_INTERVAL:
        raise BadParameters(f"interval must be 0..{MAX_INTERVAL} s")
    hold, hold_max = params.get("hold"), params.get("hold_max", 60)
    if hold is not None:
        release_file(str(hold))
    if type(hold_max) not in (int, float) or not 0 <= hold_max <= MAX_HOLD:
        raise BadParameters(f"hold_max must be 0..{MAX_HOLD} s")
    return {
        "steps": steps,
        "interval": float(interval),
        "stamp": bool(params.get("stamp", False)),
        "hold": hold,
        "hold_max": float(hold_max),
    }


def run(params: Mapping[str, Any], report: Callable[[int, int, str], None]) -> None:
    """Call ``report(step, steps, message)`` once per step.

    With ``stamp`` the message is the wall-clock time just before the report is written
    (the visibility benchmark reads it back). With ``hold`` the task then stays running,
    its last report visible, until the bench creates the release file (or ``hold_max``).
    """
    checked = parse(params)
    steps, interval = checked["steps"], checked["interval"]
    for step in range(1, steps + 1):
        if interval:
            time.sleep(interval)
        report(step, steps, f"{time.time():.6f}" if checked["stamp"] else f"step {step}")
    if checked["hold"] is not None:
        release = release_file(str(checked["hold"]))
        deadline = time.monotonic() + checked["hold_max"]
        while not release.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
