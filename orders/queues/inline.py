"""The inline launcher: runs a plain callable at once, in the process that placed the order."""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

log = logging.getLogger(__name__)


class InlineLauncher:
    """Runs a plain callable at once, in this process (tests, scripts).

    Like a queue, it does not hand the task's error to whoever placed the order: the
    task helpers have already recorded it on the order.
    """

    def launch(self, task: Any, order_id: UUID, dispatch_id: str) -> None:
        try:
            task(str(order_id), dispatch_id)
        except Exception:
            log.exception("inline task for order %s raised", order_id)
