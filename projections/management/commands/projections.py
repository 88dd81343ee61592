"""``manage.py projections rebuild|catchup|follow``: maintain the read models."""

from __future__ import annotations

import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from config.supervision import follow
from orders.infrastructure.runtime import get_tracker
from projections.management.output import RawStream
from projections.projector import catch_up, position, rebuild


class Command(BaseCommand):
    help = "Rebuild the read models from the event store, or catch them up with it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "catchup", "follow"])
        parser.add_argument("--interval", type=float, default=None, help="seconds, for follow")

    def handle(self, *args: Any, action: str, interval: float | None, **options: Any) -> None:
        tracker = get_tracker()
        if action == "follow":
            follow(threading.Event(), interval)
            return
        start = 0 if action == "rebuild" else position()
        with tqdm(
            total=max(0, tracker.last_position() - start), unit="event", file=RawStream(self.stderr)
        ) as bar:
            if action == "rebuild":
                count = rebuild(tracker, on_batch=bar.update)
            else:
                count = catch_up(tracker, on_batch=bar.update)
        self.stdout.write(f"{action}: {count} events projected")
