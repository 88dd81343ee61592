"""The API's JSON body parser: every body it cannot store faithfully is a 400 naming ``body``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

# A JSON string (escapes included), or one bracket: enough to measure nesting without
# recursion. Possessive repeats keep an unterminated string from backtracking.
_TOKENS = re.compile(r'"(?:[^"\\]++|\\.)*+"|[\[\]{}]', re.DOTALL)


def refused(detail: str) -> ParseError:
    # Answered as a 400 problem naming ``body`` (api.problems); not a Problem itself, as
    # DRF imports this module while api.problems is still importing DRF.
    return ParseError(detail)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in ``text`` (0 for a scalar), without recursing."""
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # RFC 8259 leaves duplicate names to the parser; two parsers that pick different
    # values would read two different requests. I-JSON (RFC 7493) refuses them.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise refused(f"The key {ascii(key)[:80]} appears twice in one object.")
        result[key] = value
    return result


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise refused(f"The number {text[:40]} is out of range.")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        raise refused(f"A number in the body has too many digits ({len(text)}).") from None


def _constant(text: str) -> Any:
    raise refused(f"{text} is not a JSON value.")


def parse_body(raw: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object, or a 400 problem naming ``body`` that says what is wrong."""
    try:
        text = raw.decode("utf-8")  # RFC 8259: JSON between systems is UTF-8, whatever charset says
    except UnicodeDecodeError as exc:
        raise refused(f"The body is not valid UTF-8 (byte {exc.start}).") from None
    if nesting_depth(text) > max_depth:
        raise refused(f"The body nests arrays and objects deeper than {max_depth} levels.")
    try:
        value = json.loads(
            text,
            object_pairs_hook=_object,
            parse_float=_float,
            parse_int=_int,
            parse_constant=_constant,
        )
    except (ValueError, RecursionError) as exc:
        raise refused(f"The body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise refused("The body must be a JSON object.")
    try:
        # "\ud800" is valid JSON but no Unicode character: no store can encode it.
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise refused("The body holds a lone surrogate (\\ud800 to \\udfff).") from None
    return value


class StrictJSONParser(BaseParser):
    """``application/json`` bodies, checked by :func:`parse_body`."""

    media_type = "application/json"

    def parse(
        self,
        stream: IO[bytes] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        raw = stream.read() if stream is not None else b""
        return parse_body(raw, int(settings.ASYNC_REST["MAX_JSON_DEPTH"]))
