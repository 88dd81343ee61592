"""Query parameters read without trusting them: what str.isdigit() and int() let through."""

from __future__ import annotations


def int_between(raw: str, low: int, high: int) -> int | None:
    """``raw`` as an integer from ``low`` to ``high``; None unless it is ASCII digits in range.

    ``"²".isdigit()`` is true and ``int("²")`` raises; ``int()`` also raises past 4300
    digits: both would be a 500, so only plain digits of a plausible length are read.
    """
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > len(str(high)):
        return None
    value = int(raw)
    return value if low <= value <= high else None
