"""The API's JSON body parser: what it refuses, and that it never recurses to find out."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.exceptions import ParseError

from api.parsers import nesting_depth, parse_body

LIMIT = 64


def refusal(raw: bytes) -> str:
    with pytest.raises(ParseError) as caught:
        parse_body(raw, LIMIT)
    return str(caught.value.detail)


def test_a_body_nested_as_deep_as_the_limit_is_read() -> None:
    value = parse_body(b'{"x": ' + b"[" * (LIMIT - 1) + b"]" * (LIMIT - 1) + b"}", LIMIT)
    assert isinstance(value["x"], list)


def test_a_body_nested_a_hundred_thousand_deep_is_refused_without_recursing() -> None:
    assert "deeper than 64" in refusal(b"[" * 100_000 + b"]" * 100_000)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    assert nesting_depth('{"a": "[[[[{{{{\\"]]]]", "b": [1]}') == 2


@given(st.recursive(st.integers(), lambda inner: st.lists(inner, max_size=3), max_leaves=20))
def test_nesting_depth_agrees_with_the_structure(value: object) -> None:
    def depth(v: object) -> int:
        return 1 + max(map(depth, v), default=0) if isinstance(v, list) else 0

    assert nesting_depth(json.dumps(value)) == depth(value)


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b'{"x": "\\ud800"}', "lone surrogate"),
        (b'{"\\udfff": 1}', "lone surrogate"),
        (b'{"x": "\xff"}', "not valid UTF-8"),
        (b'{"a": 1, "a": 2}', "appears twice"),
        (b'{"x": {"a": 1, "a": 1}}', "appears twice"),
        (b'{"x": 1e400}', "out of range"),
        (b'{"x": -1e400}', "out of range"),
        (b'{"x": NaN}', "not a JSON value"),
        (b'{"x": ' + b"9" * 5000 + b"}", "too many digits"),
        (b"[]", "must be a JSON object"),
        (b'"x"', "must be a JSON object"),
        (b'{"x": 1} x', "not valid JSON"),
    ],
    ids=["surrogate", "surrogate-key", "utf8", "duplicate", "nested-duplicate", "1e400",
         "-1e400", "nan", "digits", "array", "string", "trailing"],
)  # fmt: skip
def test_a_body_no_store_could_keep_is_refused_saying_why(raw: bytes, says: str) -> None:
    assert says in refusal(raw)


def test_a_surrogate_pair_is_one_character_and_is_read() -> None:
    assert parse_body(b'{"x": "\\ud83d\\ude00"}', LIMIT) == {"x": "\U0001f600"}


def test_numbers_json_allows_are_read_by_value() -> None:
    value = parse_body(b'{"a": -0, "b": 1e-400, "c": 1180591620717411303424}', LIMIT)
    assert value == {"a": 0, "b": 0.0, "c": 2**70}
