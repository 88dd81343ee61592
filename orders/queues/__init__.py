"""Launchers: how an order's task is handed to a queue (Celery), or run in this process."""
