"""Django app config for orders (the event tables are created by ``config.bootstrap``)."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    label = "orders"
