"""A year of an assina sandbox tenant, walked over HTTP, every webhook verified.

    pip install httpx standardwebhooks
    ASSINA_URL=http://127.0.0.1:8000 ASSINA_API_KEY=sk_test_... python year.py [--months 12]

It starts a webhook receiver on 127.0.0.1 (the server must run with
ASSINA_ALLOW_PRIVATE_TARGETS=true to deliver there) and registers it for every event type.
Then it creates a product and three customers with contracts starting on the 10th of next
month: Ana pays, Bruno never pays, Carla starts with a 30-day trial and pays. It advances the
test clock month by month, to the 5th at 09:00 (after each charge is issued, before it is
due), settling what Ana and Carla owe. At the end it waits until every event of the tenant
has arrived and verifies every delivery with `standardwebhooks`.
"""

import argparse
import json
import os
import sys
import threading
import time
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import httpx
from standardwebhooks.webhooks import Webhook

ZONE = ZoneInfo("America/Sao_Paulo")
received: list[tuple[dict[str, str], bytes]] = []  # every delivery: headers, raw body
lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with lock:
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def months_later(day: date, months: int) -> date:
    index = day.month - 1 + months
    return day.replace(year=day.year + index // 12, month=index % 12 + 1)


api = httpx.Client(
    base_url=os.environ.get("ASSINA_URL", "http://127.0.0.1:8000"),
    headers={"Authorization": f"Bearer {os.environ['ASSINA_API_KEY']}"},
    timeout=600,  # an advance runs every day on the way: give it time
)


def call(method: str, path: str, body: dict | None = None) -> dict:
    response = api.request(method, path, json=body)
    if response.is_error:
        sys.exit(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


def every(path: str, **params: str) -> list[dict]:
    """Every item of a list, page after page."""
    items: list[dict] = []
    while True:
        page = api.get(path, params={**params, "limit": 100}).raise_for_status().json()
        items += page["data"]
        if not page["has_more"]:
            return items
        params["starting_after"] = items[-1]["id"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--months", type=int, default=12)
    months = parser.parse_args().months

    receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
    endpoint = call(
        "POST",
        "/v1/webhook-endpoints",
        {"url": hook_url, "event_types": ["*"], "ordering": "per_customer"},
    )

    today = date.fromisoformat(call("GET", "/v1/test-clock")["today"])
    start = months_later(today.replace(day=10), 1)
    product = call("POST", "/v1/products", {"name": "Mensalidade", "amount": 45000})
    payers = []
    for name, email, trial_days in (
        ("Ana Pagadora", "ana@example.com", 0),
        ("Bruno Devedor", "bruno@example.com", 0),
        ("Carla Experimental", "carla@example.com", 30),
    ):
        customer = call("POST", "/v1/customers", {"name": name, "email": email})
        contract = {
            "customer_id": customer["id"],
            "items": [{"product_id": product["id"]}],
            "start_date": start.isoformat(),
            "trial_days": trial_days,
        }
        call("POST", "/v1/contracts", contract)
        if name != "Bruno Devedor":
            payers.append(customer["id"])

    for month in range(months + 1):
        landing = months_later(start.replace(day=5), month)
        to = datetime(landing.year, landing.month, landing.day, 9, tzinfo=ZONE).isoformat()
        advanced = call("POST", "/v1/test-clock/advance", {"to": to})
        settled = 0
        for customer_id in payers:
            for charge in every("/v1/charges", customer_id=customer_id, status="open"):
                call("POST", f"/v1/charges/{charge['id']}/settle", {})
                settled += 1
        print(
            f"{advanced['clock']['today']}: {advanced['days']} days run, "
            f"{advanced['charges_issued']} charges issued, {settled} settled, "
            f"{advanced['dunning']['status_changes']} dunning moves"
        )

    events = {event["id"] for event in every("/v1/events")}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with lock:
            arrived = {json.loads(body)["id"] for _, body in received}
        if events <= arrived:
            break
        time.sleep(0.5)
    secret = call("GET", f"/v1/webhook-endpoints/{endpoint['id']}/secret")["secret"]
    webhook = Webhook(secret)
    with lock:
        for headers, body in received:
            webhook.verify(body, headers)  # raises WebhookVerificationError if forged
    missing = events - arrived
    print(f"{len(received)} webhooks verified, {len(events)} events, {len(missing)} missing")
    sys.exit(1 if missing else 0)


if __name__ == "__main__":
    main()
