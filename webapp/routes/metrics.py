"""``GET /metrics``: Prometheus metrics of the web tier (all gunicorn workers added up) and of the plant's data
path read from the store at each scrape (collectors, alarms, notifications).

No login session (a scraper has none): the route admits a request that carries ``Authorization: Bearer
<SW_METRICS_TOKEN>`` when that setting is set, and otherwise only a request from this machine (loopback) that
came through no proxy. Everything else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator

import flask
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store.db import session_scope
from store.operations import read_operations
from webapp import context as web
from webapp.metrics import multiprocess_dir

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
FORWARDED = ("X-Forwarded-For", "X-Real-IP", "Forwarded")


def admitted(request: flask.Request, token: str) -> bool:
    """Whether ``request`` may read the metrics: the bearer token when one is set, else a local caller."""
    if token:
        sent = request.headers.get("Authorization", "")
        return sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode())
    if any(h in request.headers for h in FORWARDED):
        return False  # came through a proxy: its caller is not this machine, whatever the socket says
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


class StoreCollector(Collector):
    """The data path's figures, read from the store at scrape time (``store.operations``)."""

    def collect(self) -> Iterator[Metric]:
        now = web.now_ms()
        with session_scope(web.engine()) as session:
            ops = read_operations(session, now)
        counters = {
            "received": "Values received from the endpoint by its collector since the collector started",
            "written": "Values written to the store since the collector started",
            "spooled": "Values written to the disk spool (store unreachable) since the collector started",
            "replayed": "Spooled values replayed into the store since the collector started",
            "backfilled": "Values read back from the server's history after an outage and stored, since the"
            " collector started",
            "rejected": "Values refused by validation since the collector started",
            "duplicates": "Duplicate values dropped since the collector started",
        }
        families = {
            name: CounterMetricFamily(f"sw_collector_{name}", text, labels=["endpoint"])
            for name, text in counters.items()
        }
        connected = GaugeMetricFamily(
            "sw_collector_connected", "1 while the endpoint is connected", labels=["endpoint"]
        )
        lag = GaugeMetricFamily(
            "sw_collector_lag_seconds", "Store commit time minus source time (p50, max)", labels=["endpoint", "stat"]
        )
        queue = GaugeMetricFamily("sw_collector_queue_values", "Values waiting for the writer", labels=["endpoint"])
        spool = GaugeMetricFamily("sw_collector_spool_bytes", "Size of the disk spool", labels=["endpoint"])
        data_age = GaugeMetricFamily(
            "sw_collector_data_age_seconds", "Seconds since the endpoint's last value", labels=["endpoint"]
        )
        report_age = GaugeMetricFamily(
            "sw_collector_report_age_seconds", "Seconds since the collector last reported", labels=["endpoint"]
        )
        for h in ops.health:
            for name, family in families.items():
                family.add_metric([h.endpoint], float(getattr(h, name)))
            connected.add_metric([h.endpoint], 1.0 if h.connected else 0.0)
            lag.add_metric([h.endpoint, "p50"], h.lag_ms_p50 / 1000)
            lag.add_metric([h.endpoint, "max"], h.lag_ms_max / 1000)
            queue.add_metric([h.endpoint], float(h.queue_depth))
            spool.add_metric([h.endpoint], float(h.spool_bytes))
            if h.last_data_at is not None:
                data_age.add_metric([h.endpoint], max(0.0, (now - h.last_data_at) / 1000))
            report_age.add_metric([h.endpoint], max(0.0, (now - h.updated_at) / 1000))
        yield from families.values()
        yield from (connected, lag, queue, spool, data_age, report_age)
        gaps = CounterMetricFamily(
            "sw_collector_outages", "Outage gaps recorded (lost connections, stopped collectors)", labels=["endpoint"]
        )
        for endpoint, n in sorted(ops.gaps.items()):
            gaps.add_metric([endpoint], float(n))
        yield gaps
        yield GaugeMetricFamily(
            "sw_alarms_raised_10m", "Alarm activations in the last 10 minutes", ops.alarms_raised_10m
        )
        yield GaugeMetricFamily("sw_alarms_active", "Alarms standing now", ops.alarms_active)
        yield GaugeMetricFamily("sw_alarms_unacknowledged", "Alarms not acknowledged", ops.alarms_unacked)
        notes = CounterMetricFamily(
            "sw_notifications",
            "On-call notifications by channel and outcome (sent, failed)",
            labels=["channel", "status"],
        )
        for (channel, status), n in sorted(ops.notifications.items()):
            notes.add_metric([channel, status], float(n))
        yield notes


def metrics() -> flask.Response:
    if not admitted(flask.request, web.settings().metrics_token):
        return flask.Response("forbidden\n", status=403, mimetype="text/plain")
    path = multiprocess_dir()
    if path is not None:
        web_registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(web_registry, path=path)  # type: ignore[no-untyped-call]
        body = generate_latest(web_registry)
    else:
        body = generate_latest(REGISTRY)
    store_registry = CollectorRegistry()
    store_registry.register(StoreCollector())
    body += generate_latest(store_registry)
    resp = flask.Response(body, status=200, content_type=CONTENT_TYPE)
    resp.headers["Cache-Control"] = "no-store"
    return resp
