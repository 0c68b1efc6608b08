"""Bench the intercom/visitor follow-ups on the console: the visitor's public phone page for an
invite (``/v/<token>``) and keyed-number resolution with panels mapped to buildings.

Scenarios (the console database on the real disk, no broker):
  phone_page     --invites signed invites, each with a phone link; GET /v/<token> over the Flask
                 test client (hash lookup, invite state, unit's building, QR SVG render) --runs
                 times for random valid tokens, and the same for unknown tokens (the 404 path,
                 each from its own address so the guess limiter does not cut in): p50/p99 ms
  call_resolve   --buildings buildings x --per-building units, all sharing the same numbers;
                 --calls intercom.call events stored through VisitorDesk.on_event from a panel
                 mapped to one building (each resolves to that building's unit): calls/s, and
                 p99 ms per call

    python bench/invite_link.py [--invites 2000] [--runs 300] [--buildings 20]
                                [--per-building 200] [--calls 3000]

Readable lines first, then one JSON object on the last line.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from mqtt_topics import EventEnvelope
from web import close_app, create_app
from web.config import parse_config
from web.services import ServicesConfig, build_services
from web.signing import SiteSigner
from web.units import parse_unit

SITE = "bench"
DAY_MS = 86_400_000


def quantiles(values_s: list[float]) -> dict[str, float]:
    s = sorted(values_s)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))] * 1000  # noqa: E731
    return {"p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3), "runs": len(s)}


def _services(tmp: Path) -> tuple[Any, Any]:
    cfg = parse_config({"console": {"site": SITE, "db": "console.db", "users_db": "users.json",
                                    "secret_key": "bench-secret-" + "b" * 40}}, base_dir=tmp)
    services = build_services(ServicesConfig(db_path=cfg.db_path, site=SITE, broker=None),
                              signer=SiteSigner.generate())
    services.start()
    return cfg, services


def phone_page(tmp: Path, n_invites: int, runs: int) -> dict[str, Any]:
    cfg, services = _services(tmp / "phone")
    services.units.save(parse_unit({"building": "A", "number": "1201", "residents": []}),
                        by="bench", create=True)
    desk, signer, now = services.visitors, services.signer(), int(time.time() * 1000)
    tokens = []
    for i in range(n_invites):
        inv = desk.create_invite(signer=signer, by="bench", name=f"访客{i}", phone="",
                                 unit="A-1201", purpose="", valid_from=now - 60_000,
                                 valid_until=now + DAY_MS, uses=2)
        tokens.append(desk.links.issue(inv.invite_id, by="bench"))
    app = create_app(cfg, services=services)
    client = app.test_client()
    rng = random.Random(6)
    ok: list[float] = []
    for _ in range(runs):
        t = time.perf_counter()
        resp = client.get(f"/v/{rng.choice(tokens)}")
        ok.append(time.perf_counter() - t)
        assert resp.status_code == 200, resp.status_code
    missing: list[float] = []
    for i in range(runs):
        t = time.perf_counter()
        resp = client.get(f"/v/{'Z' * 16}{i:06d}", environ_overrides={"REMOTE_ADDR": f"10.0.{i // 250}.{i % 250}"})
        missing.append(time.perf_counter() - t)
        assert resp.status_code == 404, resp.status_code
    close_app(app)
    services.stop()
    q_ok, q_404 = quantiles(ok), quantiles(missing)
    print(f"phone_page        {n_invites} invites with links: valid token p50 {q_ok['p50_ms']} ms, "
          f"p99 {q_ok['p99_ms']} ms; unknown token p50 {q_404['p50_ms']} ms, p99 {q_404['p99_ms']} ms")
    return {"invites": n_invites, "valid": q_ok, "unknown": q_404}


def call_resolve(tmp: Path, buildings: int, per_building: int, n_calls: int) -> dict[str, Any]:
    _cfg, services = _services(tmp / "calls")
    names = [f"B{b}" for b in range(buildings)]
    services.units.upsert_many([parse_unit({"building": b, "number": str(1001 + n), "residents": []})
                                for b in names for n in range(per_building)], by="bench")
    services.visitors.panels.set("lobby", "lobby-panel", names[-1], by="bench")
    times: list[float] = []
    now = int(time.time() * 1000)
    for i in range(n_calls):
        env = EventEnvelope(event_id=f"lobby:b1:{i + 1}", node="lobby", kind="intercom.call",
                            ts=now, seq=i + 1, data={"panel": "lobby-panel", "call_id": f"b1-{i}",
                                                     "unit": str(1001 + i % per_building),
                                                     "via": "keypad"})
        t = time.perf_counter()
        with services.db.transaction():
            services.visitors.on_event(services.events.add(env, received_at=now))
        times.append(time.perf_counter() - t)
    call = services.visitors.calls.require(f"lobby:b1-{n_calls - 1}")
    assert call.unit == f"{names[-1]}-{1001 + (n_calls - 1) % per_building}", call.unit
    services.stop()
    q = quantiles(times)
    per_s = round(n_calls / sum(times), 1)
    print(f"call_resolve      {n_calls} calls, {buildings} buildings x {per_building} units "
          f"(same numbers), mapped panel: {per_s} calls/s, p99 {q['p99_ms']} ms")
    return {"calls_per_s": per_s, "p99_ms": q["p99_ms"], "units": buildings * per_building}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invites", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--buildings", type=int, default=20)
    parser.add_argument("--per-building", type=int, default=200)
    parser.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-invite-link-") as d:
        tmp = Path(d)
        page = phone_page(tmp, args.invites, args.runs)
        calls = call_resolve(tmp, args.buildings, args.per_building, args.calls)
    rss = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(f"peak RSS {rss} MB")
    print(json.dumps({"phone_page": page, "call_resolve": calls, "rss_mb": rss}))


if __name__ == "__main__":
    main()
