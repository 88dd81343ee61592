"""Django app config for orders: creates the event tables after ``migrate``."""

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _create_event_tables(sender: AppConfig, **kwargs: Any) -> None:
    from orders.infrastructure.runtime import create_event_tables

    create_event_tables()


class OrdersConfig(AppConfig):
    name = "orders"
    label = "orders"

    def ready(self) -> None:
        post_migrate.connect(_create_event_tables, sender=self, dispatch_uid="orders-event-tables")
