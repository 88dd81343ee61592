"""The peer's task: one ``update_state(state="PROGRESS")`` per step, the result path returned."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from bench import steps

PROGRESS = "PROGRESS"
RESULT_PATH = "/peer/constant/"  # what the task made, for the 201's Location


@shared_task(bind=True, name="peer_dcr.steps")
def run_steps(self: Any, params: dict[str, Any]) -> str:
    """What a Django team writes: the progress goes to the result backend (django-db)."""

    def report(step: int, total: int, message: str) -> None:
        meta = {"progress": step * 100 // total, "message": message, "current": step}
        self.update_state(state=PROGRESS, meta=meta | {"total": total})

    steps.run(params, report)
    return RESULT_PATH
