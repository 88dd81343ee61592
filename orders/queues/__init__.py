"""Queues other than Celery that run orders: RQ (``rq``) and Django's tasks framework."""
