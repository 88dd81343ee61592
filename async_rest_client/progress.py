"""The progress bar ``wait(progress=True)`` shows: a tqdm bar from 0 to 100 that follows an order.

The bar's description is the order's message (what the task says it is doing, or its status
when it says nothing), its position the order's ``progress`` percent, and its postfix
``current/total`` when the task reports items (``ProgressItems`` does). tqdm writes to stderr,
so a script can still read the client's answers from stdout.
"""

from __future__ import annotations

from typing import IO, Any

from tqdm import tqdm

from async_rest_client.models import Order

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}{postfix}]"


class ProgressBar:
    """A tqdm bar, opened at the first state shown and closed by ``close()``."""

    def __init__(self, file: IO[str] | None = None, **tqdm_options: Any) -> None:
        self._file = file
        self._options = tqdm_options
        self.bar: tqdm[Any] | None = None

    def show(self, order: Order) -> None:
        description = order.message or order.status
        known = order.current is not None and order.total is not None
        items = f"{order.current}/{order.total}" if known else ""
        if self.bar is None:
            # Everything given at once: tqdm draws the bar as soon as it is made.
            self.bar = tqdm(
                total=100,
                initial=order.progress,
                desc=description,
                postfix=items or None,
                file=self._file,
                bar_format=BAR_FORMAT,
                dynamic_ncols=True,
                **self._options,
            )
            return
        bar = self.bar
        bar.n = order.progress
        bar.set_description_str(description, refresh=False)
        bar.set_postfix_str(items, refresh=False)
        bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
