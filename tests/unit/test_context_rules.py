"""What a context may hold: the event store's limits, checked before anything is written."""

from __future__ import annotations

import pytest

from orders.domain.context import ContextRejectedError, check_context


@pytest.mark.parametrize(
    "context",
    [{"a": "x\x00y"}, {"k\x00": 1}, {"rows": [{"s": "\x00"}]}],
    ids=["value", "key", "nested"],
)
def test_a_nul_character_anywhere_is_refused(context: dict) -> None:
    with pytest.raises(ContextRejectedError, match="NUL"):
        check_context(context, 65536)


def test_a_backslash_and_u0000_as_text_is_not_a_nul() -> None:
    check_context({"path": "C:\\u0000\\file"}, 65536)


def test_a_context_over_the_limit_is_refused_as_too_large() -> None:
    with pytest.raises(ContextRejectedError) as refused:
        check_context({"blob": "x" * 200}, 100)
    assert refused.value.too_large
