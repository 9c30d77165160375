"""``/metrics``: the web tier's request and cache figures and the data path's figures from the store, in
Prometheus' text format; only for the bearer token, or without one for local callers not behind a proxy."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from store.db import make_engine, session_scope
from store.events import GAP, add_event
from store.models import AlarmJournal, Notification
from tests.webutil import ROUTER_KEY, logged_in_client, router_body, seed_store


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition: (name, labels) -> value."""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def _seed_operations(settings_url: str, now: int) -> None:
    engine = make_engine(settings_url)
    with session_scope(engine) as session:
        add_event(session, GAP, "dcs", now - 60_000, now - 50_000, severity="warning", message="lost")
        add_event(session, GAP, "dcs", now - 40_000, now - 30_000, severity="warning", message="lost")
        add_event(session, "quality", "dcs", now - 40_000)  # not a gap
        for ts in (now - 30 * 60_000, now - 5 * 60_000, now - 60_000):  # two inside the 10 minutes
            session.add(
                AlarmJournal(
                    ts=ts,
                    alarm_id="T:HH",
                    kind="active",
                    source_type="process",
                    priority="high",
                    active=True,
                    acked=False,
                )
            )
        session.add(
            AlarmJournal(
                ts=now, alarm_id="T:HH", kind="ack", source_type="process", priority="high", active=True, acked=True
            )
        )
        for status in ("sent", "failed", "failed"):
            session.add(Notification(ts=now, channel="email", recipient="a@b.c", kind="alarm", status=status))
    engine.dispose()


def test_metrics_show_requests_cache_and_the_data_path(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    now = int(time.time() * 1000)
    _seed_operations(settings.db_url, now)
    app = create_app(settings)
    client = logged_in_client(app, settings)
    before = samples(client.get("/metrics").get_data(as_text=True))  # the registry is the process's: count from here
    for _ in range(3):
        assert client.get("/api/health").status_code == 200
    assert client.post("/_dash-update-component", json=router_body("/")).status_code == 200

    resp = client.get("/metrics")
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    found = samples(resp.get_data(as_text=True))

    def grew(name: str, **labels: str) -> float:
        return value(found, name, **labels) - value(before, name, **labels)

    assert grew("sw_web_request_seconds_count", route="/api/health", method="GET") == 3
    assert grew("sw_web_responses_total", route="/api/health", status="2xx") == 3
    assert grew("sw_web_callback_seconds_count", output=ROUTER_KEY) == 1
    key = "webapp.live.snapshot.snapshot"
    assert grew("sw_web_cache_total", key=key, result="miss") + grew("sw_web_cache_total", key=key, result="hit") >= 3
    # the data path, as seeded (tests.webutil.seed_store: written 990, rejected 3, backfilled 12 for each endpoint)
    endpoints = {dict(labels)["endpoint"] for name, labels in found if name == "sw_collector_written_total"}
    assert endpoints and "dcs" in endpoints
    assert value(found, "sw_collector_written_total", endpoint="dcs") == 990
    assert value(found, "sw_collector_rejected_total", endpoint="dcs") == 3
    assert value(found, "sw_collector_backfilled_total", endpoint="dcs") == 12
    assert value(found, "sw_collector_connected", endpoint="dcs") == 1
    assert value(found, "sw_collector_outages_total", endpoint="dcs") == 2
    assert value(found, "sw_alarms_raised_10m") == 2
    assert value(found, "sw_notifications_total", channel="email", status="failed") == 2
    assert value(found, "sw_notifications_total", channel="email", status="sent") == 1


def test_metrics_are_for_the_token_or_local_callers_only(tmp_path: Path) -> None:
    from webapp.app import create_app

    settings = seed_store(tmp_path)
    app = create_app(settings)
    client = app.server.test_client()
    assert client.get("/metrics").status_code == 200  # this machine, no proxy, no token set
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 403
    assert client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"}).status_code == 403  # via a proxy

    token = "s3cret-token"
    guarded = create_app(settings.model_copy(update={"metrics_token": token})).server.test_client()
    remote = {"REMOTE_ADDR": "10.1.2.3"}
    assert guarded.get("/metrics").status_code == 403  # with a token set, local callers need it too
    assert guarded.get("/metrics", environ_base=remote, headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert guarded.get("/metrics", environ_base=remote, headers={"Authorization": token}).status_code == 403
    ok = guarded.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200 and b"sw_collector_written_total" in ok.data
