"""Hypothesis strategies for hostile requests: JSON of any depth, any code point, forgeries."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

# ------------------------------------------------------------------ code points

NUL = "\x00"
SURROGATES = ("\ud800", "\udbff", "\udc00", "\udfff")
RTL = ("\u200f", "\u202e", "\u2067", "\u061c")  # RLM, RLO, RLI, Arabic letter mark
NONCHARACTERS = ("\ufffe", "\uffff", "\ufdd0", "\U0001fffe", "\U0010ffff")
ODD = ("\ufeff", "\u2028", "\u2029", "\u0085", "\x7f", "\u00ad", "\u0301")
SPECIAL = (NUL, *SURROGATES, *RTL, *NONCHARACTERS, *ODD)

# Any code point at all, the awkward ones often.
code_points = st.one_of(
    st.sampled_from(SPECIAL), st.integers(0, 0x10FFFF).map(chr), st.characters(codec="ascii")
)
texts = st.text(alphabet=code_points, max_size=24)


def utf16(text: str) -> bytes:
    return text.encode("utf-16", "surrogatepass")


def paired(text: str) -> str:
    """``text`` as JSON reads its escapes: a high and a low surrogate make one character."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def has_surrogate(text: str) -> bool:
    """Whether ``text`` holds a surrogate that pairs with none (no Unicode character)."""
    return any("\ud800" <= c <= "\udfff" for c in paired(text))


# ------------------------------------------------------------------ JSON, written by hand


@dataclass(frozen=True)
class Raw:
    """A number token written as is: 1e400, 10000 digits, -0."""

    token: str


@dataclass(frozen=True)
class Pairs:
    """An object as written: its keys may repeat."""

    items: tuple[tuple[str, Any], ...]


def write(value: Any) -> str:
    """JSON text for ``value``; lone surrogates are written as \\uXXXX escapes."""
    if isinstance(value, Raw):
        return value.token
    if isinstance(value, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{write(v)}" for k, v in value.items) + "}"
    if isinstance(value, dict):
        return write(Pairs(tuple(value.items())))
    if isinstance(value, list):
        return "[" + ",".join(write(v) for v in value) + "]"
    return json.dumps(value)  # ensure_ascii: a surrogate becomes its escape


def place_body(context: Any) -> bytes:
    """A POST order's body around ``context``, written as is."""
    return ('{"context": ' + write(context) + "}").encode("utf-8", "surrogatepass")


def nested(depth: int, kinds: str) -> str:
    """A value nesting ``depth`` arrays and objects (``kinds``: a/o, cycled), iteratively."""
    opens = "".join("[" if kinds[i % len(kinds)] == "a" else '{"k":' for i in range(depth))
    closes = "".join("]" if kinds[i % len(kinds)] == "a" else "}" for i in reversed(range(depth)))
    return opens + "0" + closes


big_ints = st.one_of(
    st.integers(-(2**64), 2**64),
    st.integers(2**63, 2**300),
    st.integers(1, 4400).map(lambda n: "9" * n).map(Raw),
)
number_tokens = st.one_of(
    st.builds(
        lambda sign, digits, frac, exp: Raw(f"{sign}{digits}{frac}{exp}"),
        st.sampled_from(["", "-"]),
        st.sampled_from(["0", "1", "9" * 20, "123456789" * 40]),
        st.sampled_from(["", ".0", ".5", "." + "3" * 30]),
        st.one_of(st.just(""), st.integers(-400, 400).map(lambda e: f"e{e}")),
    ),
    st.sampled_from([Raw("-0"), Raw("-0.0"), Raw("1e400"), Raw("-1e400"), Raw("1e-400")]),
    big_ints.filter(lambda v: not isinstance(v, Raw)),
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = st.one_of(st.none(), st.booleans(), texts, number_tokens, big_ints)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)


def without_duplicates(items: list[tuple[str, Any]]) -> bool:
    return len({k for k, _ in items}) == len(items)


with_duplicate_keys = st.builds(
    lambda key, first, second, rest, where: Pairs(
        (*rest[:where], (key, first), *rest[where:], (key, second))
    ),
    texts.filter(lambda k: not has_surrogate(k)),
    json_values,
    json_values,
    st.lists(st.tuples(texts, json_values), max_size=3).filter(without_duplicates),
    st.integers(0, 3),
)

# ------------------------------------------------------------------ what may be refused


def surrogate_in(value: Any) -> bool:
    if isinstance(value, str):
        return has_surrogate(value)
    if isinstance(value, Pairs):
        return any(surrogate_in(k) or surrogate_in(v) for k, v in value.items)
    if isinstance(value, dict):
        return any(surrogate_in(k) or surrogate_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(surrogate_in(v) for v in value)
    return False


def as_read(value: Any) -> Any:
    """``value`` with its strings as the server reads them (surrogate pairs joined)."""
    if isinstance(value, str):
        return paired(value)
    if isinstance(value, dict):
        return {paired(k): as_read(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_read(v) for v in value]
    return value


def nul_in(value: Any) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, dict):
        return any(nul_in(k) or nul_in(v) for k, v in value.items())
    if isinstance(value, list):
        return any(nul_in(v) for v in value)
    return False


def out_of_range(value: Any) -> bool:
    """A number no store keeps: beyond a float (1e400) or past Python's 4300 digits."""
    if isinstance(value, Raw):
        token = value.token
        if any(c in token for c in ".eE"):
            return float(token) in (float("inf"), float("-inf"))
        return len(token.lstrip("-")) > 4300
    if isinstance(value, dict):
        return any(out_of_range(v) for v in value.values())
    if isinstance(value, list):
        return any(out_of_range(v) for v in value)
    return False


def read_back(value: Any) -> Any:
    """What the order should show for ``value``: numbers compared by their value."""
    from decimal import Decimal

    if isinstance(value, Raw):  # read as Python reads it: a float keeps 17 digits
        token = value.token
        return read_back(float(token) if any(c in token for c in ".eE") else int(token))
    if isinstance(value, bool) or value is None or isinstance(value, str | Decimal):
        return value
    if isinstance(value, int | float):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, dict):
        return {k: read_back(v) for k, v in value.items()}
    if isinstance(value, list):
        return [read_back(v) for v in value]
    raise TypeError(value)


# ------------------------------------------------------------------ query strings and headers

ascii_digits = st.text("0123456789", min_size=1, max_size=40)
other_digits = st.text("²³¹١٢٣०१𝟘𝟙٠", min_size=1, max_size=5)  # isdigit() true, int() varies
query_junk = st.one_of(
    texts,
    ascii_digits,
    other_digits,
    st.integers(1, 3000).map(lambda n: "9" * n),
    st.sampled_from(["", "-1", "0", "-0", "1e400", "1.5", "0x10", " 1", "nan", "%00", "+1"]),
    st.integers(-(2**70), 2**70).map(str),
)


def _offset(sign: str, hours: int, minutes: int, style: str) -> str:
    if style == "Z":
        return "Z"
    if style == "none":
        return ""
    if style == "compact":
        return f"{sign}{hours:02d}{minutes:02d}"
    return f"{sign}{hours:02d}:{minutes:02d}"


moments = st.one_of(
    st.builds(
        lambda y, mo, d, h, mi, s, frac, sep, offset: (
            f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{frac}{offset}"
        ),
        st.integers(0, 10000),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", ".5", ".999999", ".9999999999", "," + "1" * 12]),
        st.sampled_from(["T", " ", "t"]),
        st.builds(
            _offset,
            st.sampled_from(["+", "-"]),
            st.integers(0, 99),
            st.integers(0, 99),
            st.sampled_from(["Z", "none", "compact", "colon"]),
        ),
    ),
    texts,
)

# A header value HTTP lets through: visible ASCII, obs-text, inner spaces (RFC 9110 5.5).
header_chars = st.one_of(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E),
    st.characters(min_codepoint=0x80, max_codepoint=0xFF),
    st.just(" "),
)
header_values = (
    st.one_of(
        st.text(header_chars, min_size=1, max_size=64),
        st.integers(256, 6000).map(lambda n: "a" * n),
        st.sampled_from(['"', '""', "*", ",,,", 'W/"x", *', "Token", "Token  a b", "Basic !!!"]),
    )
    .map(str.strip)
    .filter(bool)
)
# Not HTTP at all: control characters in a value (the server refuses them itself).
control_characters = st.text(
    st.sampled_from([chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + ["\x7f"]),
    min_size=1,
    max_size=4,
)


def cursor_of(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


cursor_tokens = st.builds(
    lambda p, o, r: "&".join(part for part in (p, o, r) if part),
    st.one_of(st.just(""), st.builds("p={}".format, st.one_of(moments, texts, query_junk))),
    st.one_of(st.just(""), st.builds("o={}".format, query_junk)),
    st.one_of(st.just(""), st.builds("r={}".format, st.sampled_from(["0", "1", "2", "x", ""]))),
)
forged_cursors = st.one_of(
    st.binary(max_size=64).map(cursor_of),
    cursor_tokens.map(lambda t: cursor_of(t.encode("utf-8", "surrogatepass"))),
    st.text(st.characters(codec="ascii"), max_size=40),
)
