"""Standard Webhooks signatures with the deployment's secrets (the first signs, all are sent).

``CALLBACK_SECRETS`` holds one or more ``whsec_…`` secrets from the environment. To rotate,
put the new one first and keep the old one until receivers have switched: each delivery
then carries both signatures in ``webhook-signature`` (space-separated), and a receiver
that knows either secret verifies it. The secrets live only here: never in an event.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from standardwebhooks.webhooks import Webhook


class CallbacksDisabledError(RuntimeError):
    """No callback secret is configured: nothing can be signed."""


def secrets() -> list[str]:
    raw = str(settings.ASYNC_REST["CALLBACK_SECRETS"])
    return raw.replace(",", " ").split()


def enabled() -> bool:
    return bool(secrets())


def signed_headers(msg_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` sent now as message ``msg_id``."""
    keys = secrets()
    if not keys:
        raise CallbacksDisabledError("no ASYNC_REST_CALLBACK_SECRETS configured")
    now = now or datetime.now(UTC)
    signatures = [Webhook(key).sign(msg_id, now, body) for key in keys]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
