"""The demo's materials and spare parts: a stock list of a copper smelter's spares and consumables, and their
ledger over the backfilled history, played from what the plant made.

- The opening stock list is imported at the start of the history (``store.stock.import_rows``, as a storekeeper
  would import it), by the demo's storekeeper.
- **Issues follow production**: each item's use per day is its usual use times the ratio of what its driving
  product's counters counted that day (``store.plan.daily_amounts``) to their mean day, drawn at random around
  it, issued at the start of the day and evening shifts to a work order; a day the smelter stands (the planned
  shutdown of the 20th) uses almost nothing of the smelter's consumables.
- **Deliveries arrive**: when an item's projected stock (on hand + ordered - reserved) falls under its reorder
  level plus its use over the lead time, the buyer orders (the item's ordered quantity grows); the delivery
  arrives after the lead time as a receipt against the order, at a price drifting a few per cent.
- **One item falls below its reorder level**: the oxygen lance tips; the last days of the history a furnace
  campaign takes extra tips and their delivery is late, so the demo ends with one low-stock alarm.

Played once: a store that already has stock items is left alone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import to_local
from engine.stock import Kind, ListRow, StockError
from plant.schema import Plant, TagKind
from store.models import StockItem
from store.plan import DAY_MS, daily_amounts
from store.stock import append, import_rows, item_by_code, position, set_planning
from store.tags import tag_ids

logger = logging.getLogger(__name__)

STOREKEEPER = "demo-store"
BUYER = "demo-buyer"
LOW_ITEM = "OL-TIP"  # the scripted one below its reorder level at the end


@dataclass(frozen=True)
class DemoItem:
    code: str
    name: str
    name_zh: str
    unit: str
    cost: float
    reorder: float
    opening: float
    daily: float  # usual use per day
    order: float  # quantity per order
    lead_days: int
    driver: str  # the product whose counters drive its use ("" : none)
    warehouse: str
    reserved: float = 0.0


ITEMS: tuple[DemoItem, ...] = (
    DemoItem("OL-TIP", "Oxygen lance tip", "氧枪喷头", "pcs", 2300, 4, 10, 0.3, 8, 6, "conc_fed", "备件库"),
    DemoItem("REF-MCB", "Magnesia-chrome brick", "镁铬砖", "t", 6800, 20, 52, 1.1, 30, 10, "anode_cast", "耐材库"),
    DemoItem("REF-CAST", "Refractory castable", "耐火浇注料", "t", 3900, 8, 20, 0.4, 12, 7, "conc_fed", "耐材库"),
    DemoItem("AN-MOULD", "Anode mould", "阳极模", "pcs", 18500, 6, 14, 0.2, 8, 14, "anode_cast", "备件库", 2),
    DemoItem(
        "SS-CATH",
        "Stainless cathode plate",
        "不锈钢阴极板",
        "pcs",
        460,
        200,
        640,
        9,
        300,
        10,
        "cathode_copper",
        "电解备件库",
    ),
    DemoItem("THIOUREA", "Thiourea", "硫脲", "kg", 14.5, 300, 950, 28, 800, 5, "cathode_copper", "化学品库"),
    DemoItem("GLUE", "Bone glue", "骨胶", "kg", 32, 250, 720, 22, 600, 5, "cathode_copper", "化学品库"),
    DemoItem("LIME", "Quicklime", "石灰", "t", 520, 40, 120, 6.5, 100, 3, "acid_produced", "化学品库"),
    DemoItem("V2O5-CAT", "Vanadium catalyst", "钒催化剂", "t", 38000, 2, 5.5, 0.02, 3, 30, "acid_produced", "化学品库"),
    DemoItem(
        "BRG-22340",
        "Spherical roller bearing 22340",
        "调心滚子轴承 22340",
        "pcs",
        6200,
        4,
        10,
        0.12,
        6,
        12,
        "conc_fed",
        "备件库",
        1,
    ),
    DemoItem(
        "BELT-1200",
        "Conveyor belt EP200 1200 mm",
        "输送带 EP200 1200mm",
        "m",
        780,
        60,
        190,
        4.5,
        150,
        8,
        "conc_fed",
        "备件库",
    ),
    DemoItem("FILT-BAG", "Bag filter bag", "布袋除尘滤袋", "pcs", 185, 150, 440, 11, 400, 7, "conc_fed", "备件库"),
    DemoItem("GR-ELEC", "Graphite electrode", "石墨电极", "t", 24000, 3, 8.5, 0.22, 6, 10, "slag_treated", "备件库"),
    DemoItem("WELD-J422", "Welding rod J422", "焊条 J422", "kg", 9.8, 100, 360, 8, 300, 4, "", "五金库"),
)
COUNTABLE = {"pcs", "set", "pair", "box", "drum", "bag", "roll"}


def _d(x: float, unit: str) -> Decimal:
    return Decimal(round(x)) if unit in COUNTABLE else Decimal(f"{x:.3f}")


def _production(session: Session, plant: Plant, start: int, end: int, offset_ms: int) -> dict[str, dict[int, float]]:
    """product key -> plant day number -> amount the product's counters counted."""
    ids = tag_ids(session)
    by_product: dict[str, list[int]] = {}
    for tag in plant.tags:
        if tag.kind == TagKind.COUNTER and tag.id in ids:
            by_product.setdefault(tag.id.rsplit(".", 1)[-1].lower(), []).append(ids[tag.id])
    amounts = daily_amounts(session, [i for v in by_product.values() for i in v], start, end, offset_ms)
    out: dict[str, dict[int, float]] = {}
    for product, tids in by_product.items():
        days: dict[int, float] = {}
        for tid in tids:
            for day, amount in amounts.get(tid, {}).items():
                days[day] = days.get(day, 0.0) + amount
        out[product] = days
    return out


def _campaign(
    session: Session, item: StockItem, it: DemoItem, ts: int, arrivals: dict[str, tuple[int, Decimal, int]]
) -> int:
    """The scripted shortage: a furnace campaign takes the item down to two under its reorder level, and the
    supplier's delivery slips a month."""
    if it.code in arrivals:
        when, qty, no = arrivals[it.code]
        arrivals[it.code] = (when + 30 * DAY_MS, qty, no)
    extra = position(session, item.id).on_hand - _d(it.reorder - 2, it.unit)
    if extra <= 0:
        return 0
    append(session, item, Kind.ISSUE, extra, user=STOREKEEPER, ts=ts, reference="WO-CAMPAIGN", note="furnace campaign")
    return 1


def play_stock(session: Session, plant: Plant, start_ms: int, end_ms: int, seed: int = 7) -> int:
    """Write the demo's stock list and its ledger over ``[start_ms, end_ms)`` unless the store has stock items.
    Returns the number of ledger entries written."""
    if session.scalar(select(func.count()).select_from(StockItem)):
        return 0
    rng = np.random.default_rng(seed)
    tz = plant.tz()
    offset_ms = int((to_local(start_ms, tz).utcoffset() or timedelta(0)).total_seconds() * 1000)
    rows = [
        ListRow(
            i + 2,
            it.code,
            it.name,
            it.name_zh,
            it.unit,
            _d(it.opening, it.unit),
            Decimal(str(it.cost)),
            _d(it.reorder, it.unit),
            it.warehouse,
        )
        for i, it in enumerate(ITEMS)
    ]
    import_rows(session, rows, source="期初库存.xlsx", user=STOREKEEPER, now_ms=start_ms)
    n = len(rows)
    items = {it.code: item_by_code(session, it.code) for it in ITEMS}
    for it in ITEMS:
        if it.reserved:
            set_planning(session, it.code, reserved=Decimal(str(it.reserved)))
    made = _production(session, plant, start_ms, end_ms, offset_ms)
    mean = {p: (sum(d.values()) / len(d) if d else 0.0) for p, d in made.items()}
    first_day = (start_ms + offset_ms) // DAY_MS + 1
    last_day = (end_ms - 1 + offset_ms) // DAY_MS  # the day of the history's last moment
    arrivals: dict[str, tuple[int, Decimal, int]] = {}  # code -> (arrival ms, qty, order number)
    order_no = 0
    for day in range(first_day, last_day + 1):
        day_ms = day * DAY_MS - offset_ms  # plant midnight
        for it in ITEMS:
            item = items[it.code]
            assert item is not None
            done = made.get(it.driver, {})
            if mean.get(it.driver):  # a day the counters counted nothing (a shutdown) is a day of no use
                part = min(1.0, (end_ms - day_ms) / DAY_MS)  # the history's last day may be cut short
                factor = done.get(day, 0.0) / (mean[it.driver] * part)
            else:
                factor = 1.0
            use = it.daily * max(factor, 0.0)
            if it.code == LOW_ITEM and day == last_day - 2:  # a furnace campaign takes extra tips, the order is late
                n += _campaign(session, item, it, day_ms + 10 * 3_600_000, arrivals)
            for k, hour in enumerate((8.6, 16.6)):  # the day and evening shifts draw their share
                ts = day_ms + int(hour * 3_600_000) + int(rng.integers(0, 40)) * 60_000
                if ts >= end_ms:
                    break
                arrival = arrivals.get(it.code)
                if arrival is not None and arrival[0] <= ts:
                    price = Decimal(f"{it.cost * float(rng.uniform(0.96, 1.06)):.2f}")
                    append(
                        session,
                        item,
                        Kind.RECEIPT,
                        arrival[1],
                        unit_cost=price,
                        user=STOREKEEPER,
                        ts=arrival[0],
                        reference=f"PO-{arrival[2]:05d}",
                        against_order=True,
                    )
                    n += 1
                    del arrivals[it.code]
                share = use / 2
                qty = float(rng.poisson(share)) if it.unit in COUNTABLE else share * float(rng.lognormal(0, 0.25))
                want = _d(qty, it.unit)
                have = position(session, item.id).on_hand
                take = min(want, have)
                if take <= 0:
                    continue
                try:
                    append(
                        session,
                        item,
                        Kind.ISSUE,
                        take,
                        user=STOREKEEPER,
                        ts=ts,
                        reference=f"WO-{day % 1000:03d}{k}{it.code[:2]}",
                    )
                    n += 1
                except StockError:  # nothing to take: a stock-out, the work waits
                    continue
            # the buyer's look at the end of the day: order when the projected stock will not last the lead time
            pos = position(session, item.id)
            projected = pos.on_hand + Decimal(item.ordered_milli) / 1000 - Decimal(item.reserved_milli) / 1000
            point = Decimal(str(it.reorder + it.daily * it.lead_days * 1.5))
            if it.code not in arrivals and projected < point:
                order_no += 1
                qty = _d(it.order, it.unit)
                set_planning(session, it.code, ordered=Decimal(item.ordered_milli) / 1000 + qty)
                lead = it.lead_days + (30 if it.code == LOW_ITEM and day >= last_day - 2 else 0)  # the late one
                arrivals[it.code] = (day_ms + lead * DAY_MS + 10 * 3_600_000, qty, order_no)
    session.flush()
    logger.info("stock: %d items, %d ledger entries", len(ITEMS), n)
    return n
