"""A webhook receiver for assina in Python: the standard library and `standardwebhooks`.

    pip install standardwebhooks
    ASSINA_WEBHOOK_SECRET=whsec_... ASSINA_VALIDATION_TOKEN=... python receiver.py 8080
"""

import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

webhook = Webhook(os.environ["ASSINA_WEBHOOK_SECRET"])
validation_token = os.environ["ASSINA_VALIDATION_TOKEN"].encode()
handled: set[str] = set()  # webhook-ids already handled: keep them in your database


class AssinaWebhooks(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        # Verify the raw bytes as received, never JSON parsed and serialised again.
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        headers = {name.lower(): value for name, value in self.headers.items()}
        token = headers.get("x-validation-token", "").encode()
        try:
            if not hmac.compare_digest(token, validation_token):
                raise WebhookVerificationError("wrong validation token")
            # Raises unless one signature matches and the timestamp is within 5 minutes.
            event = webhook.verify(body, headers)
        except WebhookVerificationError:
            self.send_response(401)
            self.end_headers()
            return
        # Every retry of a message carries the same webhook-id: handle it once.
        if headers["webhook-id"] not in handled:
            handled.add(headers["webhook-id"])
            handle(event)
        self.send_response(204)
        self.end_headers()


def handle(event: dict) -> None:
    """Your code: here it only prints what arrived."""
    print(json.dumps({"id": event["id"], "type": event["type"], "sequence": event["sequence"]}))
    sys.stdout.flush()


HTTPServer(("127.0.0.1", int(sys.argv[1])), AssinaWebhooks).serve_forever()
