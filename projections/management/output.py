"""A command's output wrapper as a plain text stream, for progress bars and line-by-line output."""

from __future__ import annotations

from django.core.management.base import OutputWrapper


class RawStream:
    """Writes pass through as they are: tqdm redraws with ``\\r``, which a wrapper would end."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> None:
        self.wrapper.write(text, ending="")

    def flush(self) -> None:
        self.wrapper.flush()
