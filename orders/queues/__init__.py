"""Launchers: how an order's task reaches a queue (Celery, RQ, Django's tasks), or runs inline."""
