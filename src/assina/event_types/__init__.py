"""The event catalog as published (GET /v1/event-types, the OpenAPI `webhooks` section): each
event type of events/catalog.py with the shape of its `data`, which is the emitting domain's own
response schema. It reads every domain, so it stands above them."""
