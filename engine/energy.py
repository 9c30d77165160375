"""Energy: the metering hierarchy as a tree, periods in the plant's local time, reconciliation of each parent
meter against its children, and the flows of a Sankey diagram (pure, no I/O).

A node of the tree is *metered* when it reads a tag; an unmetered node is the sum of its children. A metered
parent is reconciled against the sum of its children: what its own meter read beyond them is the node
"losses / unmetered" under it, flagged when it is more than ``threshold`` (default 3 %) of the parent.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from typing import Any

import numpy as np

from engine.clock import to_local
from plant.schema import EnergySettings, EnergyThreshold, Medium, Meter, MeterLevel, Plant, Tag, TagKind, TouBand

logger = logging.getLogger(__name__)

HOUR_MS = 3_600_000
DEFAULT_THRESHOLD = 0.03
LOSSES = "losses"  # suffix of a losses node's id: "<parent id>/losses"


class PeriodKind(StrEnum):
    HOUR = "hour"
    SHIFT = "shift"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


# ------------------------------------------------------------------------------------------------ periods


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def period_start(kind: PeriodKind, ms: int, tz: tzinfo, shift_starts: Sequence[int] = (0,)) -> datetime:
    """The local start of the period of ``kind`` holding ``ms`` (shift starts in minutes after midnight)."""
    local = to_local(ms, tz)
    if kind == PeriodKind.HOUR:
        return datetime.fromtimestamp((ms - ms % HOUR_MS) / 1000, tz)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if kind == PeriodKind.SHIFT:
        minute = local.hour * 60 + local.minute
        starts = sorted(shift_starts)
        before = [s for s in starts if s <= minute]
        if before:
            return day.replace(hour=before[-1] // 60, minute=before[-1] % 60)
        prev = day - timedelta(days=1)
        return prev.replace(hour=starts[-1] // 60, minute=starts[-1] % 60)
    if kind == PeriodKind.DAY:
        return day
    if kind == PeriodKind.WEEK:
        return day - timedelta(days=day.weekday())
    if kind == PeriodKind.MONTH:
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _next(kind: PeriodKind, start: datetime, shift_starts: Sequence[int]) -> datetime:
    tz = start.tzinfo
    naive = start.replace(tzinfo=None)
    if kind == PeriodKind.HOUR:
        return datetime.fromtimestamp(start.timestamp() + 3600, tz)
    if kind == PeriodKind.SHIFT:
        starts = sorted(shift_starts)
        minute = naive.hour * 60 + naive.minute
        later = [s for s in starts if s > minute]
        day = naive.replace(hour=0, minute=0)
        nxt = day + timedelta(minutes=later[0]) if later else day + timedelta(days=1, minutes=starts[0])
    elif kind == PeriodKind.DAY:
        nxt = naive + timedelta(days=1)
    elif kind == PeriodKind.WEEK:
        nxt = naive + timedelta(days=7)
    elif kind == PeriodKind.MONTH:
        nxt = naive.replace(year=naive.year + naive.month // 12, month=naive.month % 12 + 1)
    else:
        nxt = naive.replace(year=naive.year + 1)
    return nxt.replace(tzinfo=tz)


def period_of(kind: PeriodKind, ms: int, tz: tzinfo, shift_starts: Sequence[int] = (0,)) -> tuple[int, int]:
    """The whole period of ``kind`` holding ``ms``, as ``[start, end)`` UTC epoch ms."""
    start = period_start(kind, ms, tz, shift_starts)
    return _ms(start), _ms(_next(kind, start, shift_starts))


def periods(
    kind: PeriodKind, t0_ms: int, t1_ms: int, tz: tzinfo, shift_starts: Sequence[int] = (0,)
) -> list[tuple[int, int]]:
    """The periods of ``kind`` from the one holding ``t0_ms`` to the one holding ``t1_ms - 1``, as ``[start,
    end)`` UTC epoch ms; the last one ends at ``t1_ms`` when that is inside it (a period still running)."""
    out: list[tuple[int, int]] = []
    start = period_start(kind, t0_ms, tz, shift_starts)
    while _ms(start) < t1_ms:
        end = _next(kind, start, shift_starts)
        out.append((_ms(start), min(_ms(end), t1_ms)))
        start = end
    return out


def shift_starts(plant: Plant) -> list[int]:
    return sorted(s.start.hour * 60 + s.start.minute for s in plant.site.shifts) or [0]


# --------------------------------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    name_zh: str | None
    level: MeterLevel | None  # None: a losses node
    medium: Medium
    unit: str
    parent: str | None
    tag: str | None
    children: tuple[str, ...]


@dataclass(frozen=True)
class MeterTree:
    """One medium's hierarchy (one or more site roots)."""

    medium: Medium
    unit: str
    nodes: dict[str, Node]
    roots: tuple[str, ...]

    def tags(self) -> list[str]:
        return [n.tag for n in self.nodes.values() if n.tag]

    def depth(self) -> int:
        def d(nid: str) -> int:
            kids = self.nodes[nid].children
            return 1 + max((d(c) for c in kids), default=0)

        return max((d(r) for r in self.roots), default=0)


def media(plant: Plant) -> list[Medium]:
    """The media of the plant's metering hierarchy, in the product's order."""
    present = {m.medium for m in plant.meters}
    return [m for m in Medium if m in present]


def meter_tree(plant: Plant, medium: Medium) -> MeterTree:
    tags: dict[str, Tag] = {t.id: t for t in plant.tags if t.kind == TagKind.ENERGY}
    meters: list[Meter] = [m for m in plant.meters if m.medium == medium]
    kids: dict[str, list[str]] = {}
    for m in meters:
        if m.parent:
            kids.setdefault(m.parent, []).append(m.id)
    units = [tags[m.tag].unit for m in meters if m.tag in tags]
    unit = units[0] if units else ""
    nodes = {
        m.id: Node(m.id, m.name, m.name_zh, m.level, medium, unit, m.parent, m.tag, tuple(kids.get(m.id, ())))
        for m in meters
    }
    roots = tuple(m.id for m in meters if m.parent is None)
    return MeterTree(medium, unit, nodes, roots)


def max_rates(plant: Plant) -> dict[str, float]:
    """The fastest each meter can count (units per hour): three times its nominal rate, a parent's from its
    children's. A rise beyond it between two readings is a meter exchange, not consumption."""
    tags = {t.id: t for t in plant.tags if t.kind == TagKind.ENERGY}
    out: dict[str, float] = {}
    for medium in media(plant):
        tree = meter_tree(plant, medium)

        def rate(nid: str, tree: MeterTree = tree) -> float:
            n = tree.nodes[nid]
            own = tags[n.tag].nominal if n.tag in tags else None
            if own is not None and own > 0:
                return 3.0 * float(own)
            return sum(rate(c) for c in n.children)

        for nid, n in tree.nodes.items():
            if n.tag:
                r = rate(nid)
                if r > 0:
                    out[n.tag] = r
    return out


# ------------------------------------------------------------------------------------------ reconciliation


@dataclass(frozen=True)
class Balance:
    """One metered parent in one period: its meter, the sum of its children, what is unaccounted."""

    parent: str
    metered: float | None
    children: float | None
    unaccounted: float | None
    share: float | None  # unaccounted / metered
    flagged: bool
    missing: tuple[str, ...] = ()  # children (or their meters) without a known value


@dataclass
class Flows:
    """Node values of one medium over one period: metered or summed, losses nodes added."""

    tree: MeterTree
    values: dict[str, float | None] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)


def reconcile(tree: MeterTree, readings: Mapping[str, float | None], threshold: float = DEFAULT_THRESHOLD) -> Flows:
    """Node values from ``readings`` (per tag, ``None``: unknown) and the balance of every metered parent.

    An unmetered node is the sum of its children (unknown when one of them is). A metered parent's losses
    node (``<id>/losses``) holds its meter minus its children; a negative remainder (children read more than
    the parent) is kept as it is, for the balance, and flagged the same way when beyond the threshold.
    """
    out = Flows(tree)

    def value(nid: str) -> float | None:
        if nid in out.values:
            return out.values[nid]
        n = tree.nodes[nid]
        kid_values = [value(c) for c in n.children]
        kids_sum = None if any(v is None for v in kid_values) else math.fsum(v for v in kid_values if v is not None)
        if n.tag:
            own = readings.get(n.tag)
            if n.children:
                missing = tuple(c for c, v in zip(n.children, kid_values, strict=True) if v is None)
                if own is None or kids_sum is None:
                    out.balances[nid] = Balance(nid, own, kids_sum, None, None, False, missing)
                else:
                    diff = own - kids_sum
                    share = diff / own if own > 0 else None
                    flagged = share is not None and abs(share) > threshold
                    out.balances[nid] = Balance(nid, own, kids_sum, diff, share, flagged)
                    out.values[f"{nid}/{LOSSES}"] = diff
            v = own
        else:
            v = kids_sum
        out.values[nid] = v
        return v

    for r in tree.roots:
        value(r)
    return out


# -------------------------------------------------------------------------------------------------- sankey


@dataclass(frozen=True)
class Link:
    source: str
    target: str
    value: float


def sankey_links(flows: Flows, max_depth: int = 4) -> list[Link]:
    """Parent -> child flows of known, positive value, down to ``max_depth`` levels below the roots; a metered
    parent's positive losses go to its losses node."""
    links: list[Link] = []

    def walk(nid: str, depth: int) -> None:
        if depth >= max_depth:
            return
        n = flows.tree.nodes[nid]
        for c in n.children:
            v = flows.values.get(c)
            if v is not None and v > 0:
                links.append(Link(nid, c, v))
                walk(c, depth + 1)
        loss = flows.values.get(f"{nid}/{LOSSES}")
        if loss is not None and loss > 0:
            links.append(Link(nid, f"{nid}/{LOSSES}", loss))

    for r in flows.tree.roots:
        walk(r, 0)
    return links


# ------------------------------------------------------------------------------------------ energy per tonne


@dataclass(frozen=True)
class IntensityValue:
    """One intensity of the plant file over one period."""

    id: str
    name: str
    name_zh: str | None
    unit: str  # "kWh/t", "kgce/t", ...
    energy: float | None  # in the intensity's own unit times t: kWh, kgce, ...
    production: float | None  # t
    value: float | None  # energy / production; None when either is unknown or nothing was made
    limit: float | None
    limit_source: str
    over: bool
    basis: str | None  # the kgce basis for kgce intensities


def node_values(plant: Plant, readings: Mapping[str, float | None]) -> dict[str, float | None]:
    """Every meter node's value (metered, or the sum of its children) from readings per tag, all media."""
    out: dict[str, float | None] = {}
    for medium in media(plant):
        out.update(reconcile(meter_tree(plant, medium), readings).values)
    return out


def intensities(
    plant: Plant, values: Mapping[str, float | None], production: Mapping[str, float | None]
) -> list[IntensityValue]:
    """The plant file's intensities from meter node values (:func:`node_values`) and counter amounts (t)."""
    meters = {m.id: m for m in plant.meters}
    tags = {t.id: t for t in plant.tags}
    cfg = plant.energy
    out: list[IntensityValue] = []
    for ki in cfg.intensities:
        parts: list[float | None] = []
        for mid in ki.meters:
            v = values.get(mid)
            if ki.measure == "kgce":
                factor = cfg.kgce.get(meters[mid].medium)
                v = None if v is None or factor is None else v * factor
            parts.append(v)
        energy = None if any(p is None for p in parts) else math.fsum(p for p in parts if p is not None)
        made = [production.get(c) for c in ki.counters]
        tonnes = None if any(p is None for p in made) else math.fsum(p for p in made if p is not None)
        if ki.measure == "kgce":
            unit = "kgce/t"
        else:
            first = meters[ki.meters[0]]
            tag = tags.get(first.tag or "")
            unit = f"{tag.unit if tag else meter_tree(plant, first.medium).unit}/t"
        value = energy / tonnes if energy is not None and tonnes else None
        over = value is not None and ki.limit is not None and value > ki.limit
        basis = cfg.kgce_basis if ki.measure == "kgce" else None
        out.append(
            IntensityValue(
                ki.id, ki.name, ki.name_zh, unit, energy, tonnes, value, ki.limit, ki.limit_source, over, basis
            )
        )
    return out


# ------------------------------------------------------------------------------------------------ thresholds

THRESHOLD_DEADBAND = 0.03  # an alarm returns when its value is this share below the limit


def threshold_unit(plant: Plant, th: EnergyThreshold) -> str:
    """The unit a threshold's value is in: the meter's per hour (kWh per hour as kW), or the intensity's."""
    if th.intensity is not None:
        ki = next((k for k in plant.energy.intensities if k.id == th.intensity), None)
        if ki is None:
            return ""
        if ki.measure == "kgce":
            return "kgce/t"
        first = next((m for m in plant.meters if m.id == ki.meters[0]), None)
        return f"{meter_tree(plant, first.medium).unit}/t" if first else "/t"
    meter = next((m for m in plant.meters if m.id == th.meter), None)
    tag = next((t for t in plant.tags if meter is not None and t.id == meter.tag), None)
    unit = tag.unit if tag else ""
    return "kW" if unit == "kWh" else f"{unit}/h"


def threshold_value(
    plant: Plant,
    th: EnergyThreshold,
    readings: Mapping[str, float | None],
    production: Mapping[str, float | None],
    window_h: float,
) -> float | None:
    """A threshold's value over its window: the meter's amount per hour, or the intensity (None: unknown)."""
    if th.intensity is not None:
        found = [v for v in intensities(plant, node_values(plant, readings), production) if v.id == th.intensity]
        return found[0].value if found else None
    meter = next((m for m in plant.meters if m.id == th.meter), None)
    amount = readings.get(meter.tag or "") if meter is not None else None
    return None if amount is None or window_h <= 0 else amount / window_h


def threshold_active(value: float | None, limit: float, active: bool) -> bool:
    """Whether a threshold's alarm stands: above the limit to start, until below it by the deadband; an
    unknown value changes nothing."""
    if value is None:
        return active
    return value > limit * (1 - THRESHOLD_DEADBAND) if active else value > limit


# ------------------------------------------------------------------------------------------ cost plan variance


@dataclass(frozen=True)
class CostVariance:
    """Plan against actual cost of one area and month: the variance split into a volume and a price effect.

    ``variance = actual_cost - plan_cost = volume + price`` with ``volume = (actual_qty - plan_qty) x
    plan_price`` (what the quantity alone changed) and ``price = (actual_price - plan_price) x actual_qty``
    (what the price paid changed on what was used); the actual price is the actual cost over the actual
    quantity. Positive: above plan."""

    plan_qty: float
    plan_price: float
    plan_cost: float
    actual_qty: float
    actual_price: float | None  # None: nothing was used
    actual_cost: float
    variance: float
    volume: float
    price: float


def cost_variance(plan_qty: float, plan_price: float, actual_qty: float, actual_cost: float) -> CostVariance:
    """The plan against actual of one area and month (see :class:`CostVariance`)."""
    plan_cost = plan_qty * plan_price
    actual_price = actual_cost / actual_qty if actual_qty else None
    volume = (actual_qty - plan_qty) * plan_price
    price = (actual_cost - plan_price * actual_qty) if actual_qty else actual_cost  # (ap - pp) x aq
    return CostVariance(
        plan_qty,
        plan_price,
        plan_cost,
        actual_qty,
        actual_price,
        actual_cost,
        actual_cost - plan_cost,
        volume,
        price,
    )


# ------------------------------------------------------------------------------------------------ time of use


def tou_split(
    hours: Sequence[int], kwh: Sequence[float | None], bands: Sequence[TouBand], tz: tzinfo, groups: Sequence[int] = ()
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Electricity priced hour by hour at its time-of-use band: ``hours`` are the hours' starts (UTC ms) and
    ``kwh`` what was used in each (None: unknown). Returns the bands (id, names, price, hours, kWh, cost,
    unknown hours) and, for ``groups`` (sorted starts of periods: an hour belongs to the last one starting at
    or before it), each group's kWh and cost per band and in all (None when none of its hours is known), with
    its unknown hours. The one pricing of
    time-of-use electricity: the time-of-use table, the cost table and the split by shift, day or month."""
    band_of = {h: b for b in bands for h in b.hour_set()}
    totals: dict[str, dict[str, Any]] = {
        b.id: {
            "id": b.id,
            "name": b.name,
            "name_zh": b.name_zh,
            "price": b.price,
            "hours": ", ".join(b.hours),
            "kwh": 0.0,
            "cost": 0.0,
            "unknown_h": 0,
        }
        for b in bands
    }
    rows: list[dict[str, Any]] = [
        {
            "start": g,
            "bands": {b.id: {"kwh": 0.0, "cost": 0.0} for b in bands},
            "kwh": 0.0,
            "cost": 0.0,
            "unknown_h": 0,
            "known_h": 0,
        }
        for g in groups
    ]
    for a, v in zip(hours, kwh, strict=True):
        band = band_of[to_local(a, tz).hour]
        gi = bisect.bisect_right(groups, a) - 1 if groups else -1
        target = [totals[band.id]] + ([rows[gi]] if gi >= 0 else [])
        if v is None:
            for x in target:
                x["unknown_h"] += 1
            continue
        totals[band.id]["kwh"] += v
        totals[band.id]["cost"] += v * band.price
        if gi >= 0:
            g = rows[gi]
            g["bands"][band.id]["kwh"] += v
            g["bands"][band.id]["cost"] += v * band.price
            g["kwh"] += v
            g["cost"] += v * band.price
            g["known_h"] += 1
    for g in rows:  # a group with no known hour is unknown (a gap is not a zero)
        if not g.pop("known_h") and g["unknown_h"]:
            g |= {"kwh": None, "cost": None, "bands": {b: {"kwh": None, "cost": None} for b in g["bands"]}}
    return list(totals.values()), rows


def hour_prices(es: EnergySettings, medium: Medium, hours: Sequence[int], tz: tzinfo) -> list[float | None]:
    """The price of each hour (``hours``: their starts, UTC ms): electricity with time-of-use bands at its band's
    price (as :func:`tou_split` prices it), any other medium (or electricity without bands) at the price of the
    hour's plant day (``EnergySettings.price_on``: its price period's, else the flat price); None: no price."""
    band_price = {h: b.price for b in es.tou for h in b.hour_set()} if medium == Medium.ELECTRICITY else {}
    out: list[float | None] = []
    for a in hours:
        local = to_local(a, tz)
        out.append(band_price[local.hour] if band_price else es.price_on(medium, local.date()))
    return out


@dataclass(frozen=True)
class GroupCost:
    """What one period used and cost, priced hour by hour (:func:`group_costs`); ``cost`` is None when a known
    hour has no price or when every hour of it is unknown (a gap is not a zero), ``unknown_h`` counts the hours
    whose use is unknown (left out of both sums)."""

    start: int
    qty: float
    cost: float | None
    unknown_h: int


def group_costs(
    hours: Sequence[int], values: Sequence[float | None], prices: Sequence[float | None], groups: Sequence[int]
) -> list[GroupCost]:
    """Hourly use priced at each hour's price (:func:`hour_prices`) and summed per group (``groups``: sorted
    starts of periods; an hour belongs to the last one starting at or before it; hours before the first are
    left out). The one pricing of every cost column: shifts, trend, top consumers and the period's total."""
    qty = [0.0] * len(groups)
    cost: list[float | None] = [0.0] * len(groups)
    unknown = [0] * len(groups)
    known = [0] * len(groups)
    for a, v, pr in zip(hours, values, prices, strict=True):
        gi = bisect.bisect_right(groups, a) - 1
        if gi < 0:
            continue
        if v is None:
            unknown[gi] += 1
            continue
        known[gi] += 1
        qty[gi] += v
        c = cost[gi]
        cost[gi] = None if c is None or pr is None else c + v * pr
    return [
        GroupCost(g, q, c if k else None, u) for g, q, c, u, k in zip(groups, qty, cost, unknown, known, strict=True)
    ]


def reconcile_series(tree: MeterTree, readings: Mapping[str, Sequence[float | None]], n: int) -> dict[str, Any]:
    """:func:`reconcile` of ``n`` periods at once (each tag's readings, None: unknown): node id (and losses node
    id) -> a numpy array of its values, NaN where :func:`reconcile` gives None or leaves the losses node out."""
    out: dict[str, Any] = {}

    def value(nid: str) -> Any:
        if nid in out:
            return out[nid]
        node = tree.nodes[nid]
        kids = [value(c) for c in node.children]
        kids_sum = np.sum(kids, axis=0) if kids else np.zeros(n)  # a NaN child makes the sum NaN
        if node.tag:
            own = np.array([np.nan if v is None else v for v in readings.get(node.tag) or [None] * n], dtype=float)
            if node.children:
                out[f"{nid}/{LOSSES}"] = own - kids_sum
            v = own
        else:
            v = kids_sum
        out[nid] = v
        return v

    for r in tree.roots:
        value(r)
    return out


def series_cost(values: Any, prices: Any) -> float | None:
    """What the known periods of ``values`` cost at ``prices`` (arrays, NaN: unknown or no price), as one group
    of :func:`group_costs`: None when none is known or a known one has no price."""
    known = ~np.isnan(values)
    if not known.any() or np.isnan(prices[known]).any():
        return None
    return float(np.sum(values[known] * prices[known]))
