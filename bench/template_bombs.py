"""Template bombs from one tenant, and another tenant's latency meanwhile (issue 13, point 1).

Starts a real `assina serve --no-worker` process (its own data dir; SQLite by default, or the
PostgreSQL database of --database-url, created anew) with three tenants:

- the attacker loops, one request after another, the issue's bombs: the loop and the 600
  `~`-joined `replace` calls on `POST /v1/email-templates/reminder/preview`, the loop saved
  with `PUT /v1/email-templates/reminder`, and `POST /v1/charges` for its customer "boom",
  whose `charge_created` template hides a bomb behind `{% if customer.name == 'boom' %}`
  (saved first: the save check's samples are not "boom");
- `--bombs compile`, nor this one: a new 95 KB source on every PUT, compiled anew;
- `--bombs deadline`, not one of the issue's: a loop of cheap steps that runs until the
  render deadline stops it, on the preview (the worst a template can cost now);
- the control attacker sends the same requests with harmless templates: what the attacker's
  traffic costs the victim, bombs or not;
- the victim sends `GET /v1/tenant`, one after another, timed (p50 / p99 / max).

Three phases in the same run: the victim alone (baseline), with the control attacker, with the
attacker. The server's RSS (VmRSS of /proc/<pid>/status) is sampled every 100 ms.

    .venv/bin/python bench/template_bombs.py [--seconds 30] [--bombs loop,joined,save,boom]
        [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/assina_bench_bombs]

Issue 13's target: with the attacker, the victim's p99 under 50 ms and the RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api import recreate_pg, run_cli, start_serve, wait_ready

MEGA = "(('x'*1000)|replace('x','y'*999))"
LOOP_BOMB = (
    "{% for c in customer.name|replace(customer.name, ('z'*1000)|replace('z','z'*999)) %}"
    "{% if " + MEGA + "|length > 0 %}{% endif %}{% endfor %}"
)
JOINED_BOMB = "{{ " + " ~ ".join([MEGA] * 600) + " }}"
# Slow rather than big: seconds of work on the code before the render budget.
SLOW_BOMB = (
    "{% for c in customer.name|replace(customer.name, 'z'*1000) %}"
    "{% if " + MEGA + "|length > 0 %}{% endif %}{% endfor %}"
)
# Not one of the issue's: cheap steps, many of them, until the 100 ms deadline stops it.
DEADLINE_BOMB = (
    "{% for c in customer.name|replace(customer.name, 'z'*1000)|replace('z','z'*9) %}"
    + "{% if c|length > 5 %}{% endif %}" * 120
    + "{% endfor %}"
)
# Not one of the either: a new 95 KB source every time, compiled anew (the cache
# never hits), which the budget does not count: compiling is bounded by the source's size.
BIG = "{{ customer.name }}" * 5000
GUARDED = "{% if customer.name == 'boom' %}" + SLOW_BOMB + "{% endif %}Olá {{ customer.name }}"
BOMBS = ("loop", "joined", "save", "boom", "deadline", "compile")
DEFAULT_BOMBS = "loop,joined,save,boom"
REMINDER = "/v1/email-templates/reminder"


def template(**parts: str) -> dict[str, str]:
    return {"subject": "Cobrança", "html": "<p>Cobrança</p>", "text": "Cobrança", **parts}


@dataclass
class Phase:
    name: str
    seconds: float
    requests: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    rss_start_mb: float
    rss_max_mb: float
    rss_end_mb: float
    attacker: dict[str, int] = field(default_factory=dict)  # "bomb status" -> count
    attacker_p50_ms: dict[str, float] = field(default_factory=dict)  # per bomb


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def sample_rss(pid: int, samples: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        samples.append(rss_mb(pid))
        await asyncio.sleep(0.1)


async def victim(
    http: aiohttp.ClientSession, base: str, key: str, stop: asyncio.Event
) -> list[float]:
    latencies = []
    headers = {"Authorization": f"Bearer {key}"}
    while not stop.is_set():
        started = time.perf_counter()
        async with http.get(f"{base}/v1/tenant", headers=headers) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"the victim got {response.status}")
        latencies.append(time.perf_counter() - started)
    return latencies


def attacks(boom_id: str, benign: bool) -> dict[str, tuple[str, str, Any]]:
    """Each bomb's request; `benign`: the same requests with harmless templates (the control
    phase: what the attacker's traffic costs the victim, bombs or not)."""
    loop, joined, slow = (LOOP_BOMB, JOINED_BOMB, DEADLINE_BOMB)
    if benign:
        loop, joined, slow = ("{{ customer.name }}", "<p>Oi</p>", "{{ customer.name }}")
    charge = {"items": [{"description": "x", "amount": 1000}], "due_date": "2030-01-10"}
    return {
        "loop": ("POST", f"{REMINDER}/preview", {"template": template(text=loop)}),
        "joined": ("POST", f"{REMINDER}/preview", {"template": template(html=joined)}),
        "save": ("PUT", REMINDER, template(text=loop)),
        "boom": ("POST", "/v1/charges", {"customer_id": boom_id, **charge}),
        "deadline": ("POST", f"{REMINDER}/preview", {"template": template(text=slow)}),
        "compile": ("PUT", REMINDER, None),  # a new source each time: see attacker
    }


async def attacker(
    http: aiohttp.ClientSession,
    base: str,
    key: str,
    boom_id: str,
    bombs: list[str],
    benign: bool,
    stop: asyncio.Event,
    counts: Counter[str],
    spent: dict[str, list[float]],
) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    requests = attacks(boom_id, benign)
    sent = 0
    while not stop.is_set():
        for bomb in bombs:
            method, path, body = requests[bomb]
            if bomb == "compile":  # a source never seen: the compile cache cannot help
                body = template(text=f"{sent} {'{{ customer.name }}' if benign else BIG}")
            sent += 1
            started = time.perf_counter()
            async with http.request(
                method, f"{base}{path}", json=body, headers=headers
            ) as response:
                await response.read()
                counts[f"{bomb} {response.status}"] += 1
            spent.setdefault(bomb, []).append(time.perf_counter() - started)
            if stop.is_set():
                return


async def run_phase(
    name: str,
    pid: int,
    base: str,
    keys: dict[str, str],
    boom_id: str,
    bombs: list[str],
    seconds: float,
    benign: bool = False,
) -> Phase:
    stop = asyncio.Event()
    rss: list[float] = []
    counts: Counter[str] = Counter()
    spent: dict[str, list[float]] = {}
    timeout = aiohttp.ClientTimeout(total=600)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        sampler = asyncio.create_task(sample_rss(pid, rss, stop))
        measured = asyncio.create_task(victim(http, base, keys["victim"], stop))
        attacking = None
        if bombs:
            attacking = asyncio.create_task(
                attacker(http, base, keys["attacker"], boom_id, bombs, benign, stop, counts, spent)
            )
        await asyncio.sleep(seconds)
        stop.set()
        latencies = await measured
        if attacking is not None:
            await attacking
        await sampler
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return Phase(
        name=name,
        seconds=seconds,
        requests=len(ordered),
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=p99 * 1000,
        max_ms=ordered[-1] * 1000,
        rss_start_mb=rss[0],
        rss_max_mb=max(rss),
        rss_end_mb=rss_mb(pid),
        attacker=dict(sorted(counts.items())),
        attacker_p50_ms={k: statistics.median(v) * 1000 for k, v in sorted(spent.items())},
    )


async def prepare(base: str, keys: dict[str, str]) -> dict[str, str]:
    """For each attacker, its customer "boom" and its guarded charge_created template (the
    control attacker saves a harmless one)."""
    boom_ids = {}
    for name, text in (("attacker", GUARDED), ("control", "Olá {{ customer.name }}")):
        headers = {"Authorization": f"Bearer {keys[name]}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            body = {"name": "boom", "email": "boom@example.com"}
            async with http.post(f"{base}/v1/customers", json=body) as response:
                assert response.status == 201, await response.text()
                boom_ids[name] = str((await response.json())["id"])
            saved = template(text=text)
            path = f"{base}/v1/email-templates/charge_created"
            async with http.put(path, json=saved) as response:
                assert response.status == 200, await response.text()
    return boom_ids


async def bench(database_url: str, data_dir: str, seconds: float, bombs: list[str]) -> list[Phase]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSINA_")}
    env |= {
        "ASSINA_DATABASE_URL": database_url,
        "ASSINA_DATA_DIR": data_dir,
        "ASSINA_LOG_LEVEL": "error",
        # What is measured is the renderings, not the rate limits (bench/rate_limits.py): no
        # key is ever refused 429.
        "ASSINA_API_RATE_LIMIT_BURST": "1000000000",
        "ASSINA_API_CONCURRENCY_PER_KEY": "1000",
    }
    run_cli(env, "migrate")
    keys = {
        name: json.loads(run_cli(env, "tenant", "create", name, "--json"))["api_key"]
        for name in ("attacker", "control", "victim")
    }
    server, base = start_serve(env)
    try:
        await wait_ready(base)
        boom_ids = await prepare(base, keys)
        await run_phase("warm-up", server.pid, base, keys, "", [], 2.0)
        phases = [await run_phase("baseline", server.pid, base, keys, "", [], seconds)]
        control = {**keys, "attacker": keys["control"]}
        phases.append(
            await run_phase(
                "benign traffic",
                server.pid,
                base,
                control,
                boom_ids["control"],
                bombs,
                seconds,
                True,
            )
        )
        phases.append(
            await run_phase("bombs", server.pid, base, keys, boom_ids["attacker"], bombs, seconds)
        )
        return phases
    finally:
        server.terminate()
        server.wait(timeout=60)


def report(backend: str, phases: list[Phase]) -> str:
    lines = [
        f"backend: {backend}",
        "| phase | victim GETs | p50 ms | p99 ms | max ms | RSS start / max / end MB |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for p in phases:
        lines.append(
            f"| {p.name} | {p.requests} | {p.p50_ms:.1f} | {p.p99_ms:.1f} | {p.max_ms:.1f} "
            f"| {p.rss_start_mb:.0f} / {p.rss_max_mb:.0f} / {p.rss_end_mb:.0f} |"
        )
    for p in phases:
        if p.attacker:
            answered = ", ".join(f"{k}: {v}" for k, v in p.attacker.items())
            lines.append(f"attacker's requests (bomb status: count): {answered}")
            each = ", ".join(f"{k}: {v:.1f}" for k, v in p.attacker_p50_ms.items())
            lines.append(f"attacker's p50 ms per bomb: {each}")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--bombs", default=DEFAULT_BOMBS, help="of " + ",".join(BOMBS))
    parser.add_argument("--database-url", default=None, help="PostgreSQL (created anew)")
    args = parser.parse_args()
    bombs = [bomb for bomb in args.bombs.split(",") if bomb]
    if unknown := set(bombs) - set(BOMBS):
        parser.error(f"unknown bombs: {sorted(unknown)}")
    backend = "sqlite" if args.database_url is None else "postgresql"
    if args.database_url is not None:
        await recreate_pg(args.database_url)
    with tempfile.TemporaryDirectory(prefix="assina-bombs-") as data_dir:
        url = args.database_url or f"sqlite+aiosqlite:///{data_dir}/bombs.db"
        phases = await bench(url, data_dir, args.seconds, bombs)
    print(json.dumps([asdict(p) for p in phases]))
    print(report(backend, phases))


if __name__ == "__main__":
    asyncio.run(main())
