"""A webhook receiver for the benchmarks, in its own process: answers 204 to POST /hook and
remembers when each event arrived (GET /stats). Run: python bench/receiver.py PORT"""

from __future__ import annotations

import json
import sys
import time

from aiohttp import web

arrivals: dict[str, float] = {}
count = 0


async def hook(request: web.Request) -> web.Response:
    global count
    body = await request.read()
    count += 1
    if request.headers.get("Content-Type", "").startswith("application/json"):
        event_id = json.loads(body).get("id")
        if event_id and event_id not in arrivals:
            arrivals[event_id] = time.time()
    return web.Response(status=204)


async def stats(_request: web.Request) -> web.Response:
    return web.json_response({"count": count, "arrivals": arrivals})


async def reset(_request: web.Request) -> web.Response:
    global count
    count = 0
    arrivals.clear()
    return web.Response(status=204)


app = web.Application()
app.router.add_post("/hook", hook)
app.router.add_get("/stats", stats)
app.router.add_post("/reset", reset)

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
