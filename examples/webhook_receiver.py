"""A minimal callback receiver: verifies each delivery (Standard Webhooks) and prints it.

    ASYNC_REST_CALLBACK_SECRETS=whsec_... python examples/webhook_receiver.py 9100

It answers 204 to a verified delivery, 401 to anything else, and de-duplicates on
``webhook-id`` as receivers should (a retry of a delivery already seen is answered 204
and not printed again).
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

# The receiver knows one secret; during a rotation the server signs with both.
webhook = Webhook(os.environ["ASYNC_REST_CALLBACK_SECRETS"].replace(",", " ").split()[-1])
seen: set[str] = set()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            payload = webhook.verify(raw, dict(self.headers.items()))
        except WebhookVerificationError as exc:
            print("refused:", exc, flush=True)
            self.send_response(401)
        else:
            msg_id = self.headers["webhook-id"]
            if msg_id not in seen:
                seen.add(msg_id)
                order, event = payload["data"]["order"], payload["data"]["event"]
                print(
                    f"verified {msg_id} {payload['type']} status={order['status']} "
                    f"progress={order['progress']} event={json.dumps(event)}",
                    flush=True,
                )
            self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


if __name__ == "__main__":
    HTTPServer(
        ("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 9100), Handler
    ).serve_forever()
