"""``manage.py metrics rebuild|catchup|show``: maintain the metrics projection, print a scrape."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from prometheus_client import CollectorRegistry, generate_latest

from metrics.collector import TallyCollector
from metrics.projection import catch_up, rebuild
from orders.infrastructure.runtime import get_tracker


class Command(BaseCommand):
    help = "Rebuild the metrics from the event log, catch them up with it, or print them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["rebuild", "catchup", "show"])
        parser.add_argument("--batch", type=int, default=500, help="events per transaction")

    def handle(self, *args: Any, action: str, batch: int, **options: Any) -> None:
        tracker = get_tracker()
        if action == "show":
            registry = CollectorRegistry(auto_describe=False)
            registry.register(TallyCollector(tracker))
            self.stdout.write(generate_latest(registry).decode(), ending="")
            return
        count = rebuild(tracker) if action == "rebuild" else catch_up(tracker, batch)
        self.stdout.write(f"{action}: {count} events counted")
