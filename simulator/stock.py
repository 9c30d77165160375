"""The demo's materials and spare parts: a stock list of a copper smelter's spares and consumables, and their
ledger, played from what the plant made by the demo's storekeeper and buyer (:class:`Storekeeper`) over the
backfilled history (:func:`play_stock`) and on in the live simulator (``python -m simulator --stock-db URL``),
through the same code, writing to the store as a site's ERP interface or storekeeper would (``store.stock``).

- The opening stock list is imported at the start of the history (``store.stock.import_rows``).
- **Issues follow production**: each shift's use of an item is issued to the shift's work order after the shift,
  backflushed from what its driving product's counters counted in the shift (``store.plan.daily_amounts`` by
  the hour) against the mean day of the week before, drawn at random around it; the smelter's planned shutdown
  day (the 20th) uses almost nothing of the smelter's consumables.
- **Deliveries arrive**: when an item's projected stock (on hand + ordered - reserved) falls under its reorder
  level plus its use over the lead time, the buyer orders (the item's ordered quantity grows); the delivery
  arrives after the lead time as a receipt against the order, at a price drifting a few per cent.
- **One item falls below its reorder level**: the oxygen lance tips; two days before the history's end a
  furnace campaign takes extra tips (halfway through a shorter history) and their delivery is a month late, so
  the demo has one low-stock alarm.

The backfill plays once: a store that already has stock items is left alone. The live keeper continues from the
storekeeper's newest entry (a restart issues nothing twice) and finds the open orders again in the ledger.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.clock import to_local
from engine.shifts import day_windows, shift_windows
from engine.stock import Kind, ListRow, StockError
from plant.schema import Plant, TagKind
from store.models import StockItem, StockLedger
from store.plan import DAY_MS, daily_amounts
from store.stock import append, import_rows, position, set_planning
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
H = 3_600_000
MIN = 60_000
DRAW_AFTER_MS = 36 * MIN  # a shift's use is issued 36-75 minutes after it ended
DRAW_SPREAD_MIN = 40
LOOK = time(18, 0)  # the buyer's look, after the day's draws
ARRIVES = time(10, 0)  # deliveries and the campaign's extra draw
MEAN_OVER_MS = 7 * DAY_MS  # the production a draw is measured against: the mean day of the week before
CATCH_UP_MS = 7 * DAY_MS  # a live keeper started after a pause plays at most this much of it
LATE_DAYS = 30
CAMPAIGN_REF = "WO-CAMPAIGN"


def _d(x: float, unit: str) -> Decimal:
    return Decimal(round(x)) if unit in COUNTABLE else Decimal(f"{x:.3f}")


def opening_rows() -> list[ListRow]:
    """The opening stock list, as the storekeeper imports it."""
    return [
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


def _order_point(it: DemoItem) -> Decimal:
    return Decimal(str(it.reorder + it.daily * it.lead_days * 1.5))


@dataclass
class Order:
    """An open order of the simulated ERP: placed at the buyer's look of ``placed``, due at ``due_ms``."""

    placed: date
    qty: Decimal
    due_ms: int

    def reference(self, code: str) -> str:
        return f"PO-{self.placed:%y%m%d}-{code}"


class Storekeeper:
    """The demo's storekeeper and buyer, in simulated time; the backfill and the live simulator play the ledger
    through :meth:`play`, which plays what falls due in ``(cursor, until]`` in time order:

    - **draws**: each shift's use is issued to its work order (``WO-<yymmdd>-<shift>``) 36 to 75 minutes after
      the shift ended, backflushed from what its driving product's counters counted in the shift
      (``store.plan.daily_amounts`` by the hour) against the mean day of the week before; an item without a
      driver, or whose product was not counted, uses its usual share of the day;
    - **deliveries** at 10:00 on their due day, a receipt against the order;
    - **the buyer's look** at 18:00: an item whose projected stock (on hand + ordered - reserved) is under its
      reorder level plus 1.5 times its use over the lead time, with no open order, is ordered (its ordered
      quantity grows), due after the lead time;
    - ``campaign`` (the backfill's, at that moment): the furnace campaign of :data:`LOW_ITEM`.

    Every draw's quantity and minute is drawn from the seed, the item and the shift, so the same shift gives the
    same issue. The open orders live in the simulated ERP (this object); a keeper that starts on a store someone
    else played (a restart) finds its cursor (the newest entry of the demo's storekeeper) and the open orders
    again from the ledger (:meth:`resume`), so it continues without a second issue for the same shift."""

    def __init__(self, plant: Plant, seed: int = 7, *, campaign: int | None = None) -> None:
        self.plant = plant
        self.seed = seed
        self.tz = plant.tz()
        self.campaign = campaign
        self.cursor: int | None = None  # events at or before this are played
        self.since = 0  # the opening stock list's import: nothing was used before it
        self.orders: dict[str, Order] = {}
        self.index = {it.code: i for i, it in enumerate(ITEMS)}
        self._tags: dict[str, list[int]] = {}

    # --- time -----------------------------------------------------------------------------------------------

    def _at(self, day: date, clock: time) -> int:
        return int(datetime.combine(day, clock, tzinfo=self.tz).timestamp() * 1000)

    def _day(self, ms: int) -> date:
        return to_local(ms, self.tz).date()

    def _due(self, session: Session, item: StockItem, it: DemoItem, placed: date) -> int:
        """Due after the lead time; 30 days late when the item's furnace campaign came within 3 days before the
        order or while it was open (the supplier's slip)."""
        due = self._at(placed + timedelta(days=it.lead_days), ARRIVES)
        look = self._at(placed, LOOK)
        hit = session.scalar(
            select(func.count())
            .select_from(StockLedger)
            .where(
                StockLedger.item_id == item.id,
                StockLedger.reference == CAMPAIGN_REF,
                StockLedger.ts >= look - 3 * DAY_MS,
                StockLedger.ts <= due,
            )
        )
        return due + LATE_DAYS * DAY_MS if hit else due

    # --- resuming ---------------------------------------------------------------------------------------------

    def resume(self, session: Session, now_ms: int) -> None:
        """Find the cursor and the open orders in the store (the opening list is imported at ``now_ms`` when the
        store has no stock items at all)."""
        if not session.scalar(select(func.count()).select_from(StockItem)):
            open_stock(session, now_ms)
        items = self._items(session)
        ids = [item.id for item in items.values()]
        mine = (StockLedger.item_id.in_(ids), StockLedger.user == STOREKEEPER)
        last, first = session.execute(select(func.max(StockLedger.ts), func.min(StockLedger.ts)).where(*mine)).one()
        self.cursor = max(int(last if last is not None else now_ms), now_ms - CATCH_UP_MS)
        self.since = int(first if first is not None else now_ms)
        self.orders = {}
        for code, item in items.items():
            if item.ordered_milli > 0:
                self.orders[code] = self._find_order(session, item, ITEMS[self.index[code]], self.cursor)

    def _find_order(self, session: Session, item: StockItem, it: DemoItem, until: int) -> Order:
        """The open order of ``item``: placed at the first look after its last delivery (or the opening list)
        that saw the projected stock under the order point, as :meth:`_look` placed it."""
        qty = Decimal(item.ordered_milli) / 1000
        received = session.scalar(
            select(func.max(StockLedger.ts)).where(
                StockLedger.item_id == item.id,
                StockLedger.kind == Kind.RECEIPT.value,
                StockLedger.reference.like("PO-%"),
            )
        )
        rows = session.execute(
            select(StockLedger.ts, StockLedger.on_hand_milli)
            .where(StockLedger.item_id == item.id, StockLedger.ts >= (received or 0))
            .order_by(StockLedger.ts, StockLedger.id)
        ).all()
        if rows:
            point = _order_point(it)
            reserved = Decimal(item.reserved_milli) / 1000
            day = self._day(int(rows[0][0]))
            k = 0
            on_hand = Decimal(0)
            while (look := self._at(day, LOOK)) <= until:
                while k < len(rows) and rows[k][0] <= look:
                    on_hand = Decimal(rows[k][1]) / 1000
                    k += 1
                if look > rows[0][0] and on_hand - reserved < point:
                    return Order(day, qty, self._due(session, item, it, day))
                day += timedelta(days=1)
        day = self._day(until)  # an order this keeper did not place: due after the lead time from now
        return Order(day, qty, self._at(day + timedelta(days=it.lead_days), ARRIVES))

    # --- playing ------------------------------------------------------------------------------------------------

    def _items(self, session: Session) -> dict[str, StockItem]:
        rows = session.scalars(select(StockItem).where(StockItem.code.in_([it.code for it in ITEMS]))).all()
        return {r.code: r for r in rows}

    def _draws(self, t0: int, t1: int) -> list[tuple[int, int, str, int, int, str]]:
        """(ts, item index, work order, shift start, shift end, code) of the draws due in ``(t0, t1]``."""
        out: list[tuple[int, int, str, int, int, str]] = []
        shifts = shift_windows(self.plant, t0 - 2 * DAY_MS, t1 + DAY_MS)
        if not self.plant.site.shifts:
            days = day_windows(self.plant, t0 - 2 * DAY_MS, t1 + DAY_MS)
            shifts = [("D", d, s, e) for d, s, e in days]
        for shift_id, began, s, e in shifts:
            wo = f"WO-{date.fromisoformat(began):%y%m%d}-{shift_id}"
            for i, it in enumerate(ITEMS):
                minute = int(self._rng(e // MIN, i).integers(0, DRAW_SPREAD_MIN))
                ts = e + DRAW_AFTER_MS + minute * MIN
                if t0 < ts <= t1:
                    out.append((ts, i, wo, s, e, it.code))
        return out

    def _rng(self, *key: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, *key])

    def _production(self, session: Session, t0: int, t1: int) -> dict[str, dict[int, float]]:
        """product key -> hour number (``ts // H``) -> amount its counters counted in ``[t0, t1)``."""
        if not self._tags:  # read again until the store has the plant's tags
            ids = tag_ids(session)
            self._tags = {}
            for tag in self.plant.tags:
                if tag.kind == TagKind.COUNTER and tag.id in ids:
                    self._tags.setdefault(tag.id.rsplit(".", 1)[-1].lower(), []).append(ids[tag.id])
        tids = [i for v in self._tags.values() for i in v]
        amounts = daily_amounts(session, tids, t0 - H, t1, 0, period_ms=H)
        out: dict[str, dict[int, float]] = {}
        for product, ps in self._tags.items():
            hours: dict[int, float] = {}
            for tid in ps:
                for hour, amount in amounts.get(tid, {}).items():
                    if hour * H >= t0:
                        hours[hour] = hours.get(hour, 0.0) + amount
            out[product] = hours
        return out

    def _use(self, it: DemoItem, made: dict[str, dict[int, float]], s: int, e: int) -> float:
        """What the shift ``[s, e)`` used: its usual share of the day, or backflushed from its product."""
        s = max(s, self.since)
        if e <= s:
            return 0.0
        hours = made.get(it.driver, {})
        week = [v for h, v in hours.items() if max(self.since, e - MEAN_OVER_MS) <= h * H < e]
        mean_day = sum(week) / len(week) * 24 if week else 0.0
        if mean_day <= 0:
            return it.daily * (e - s) / DAY_MS
        counted = sum(v for h, v in hours.items() if s <= h * H < e)
        return it.daily * counted / mean_day

    def play(self, session: Session, until_ms: int) -> int:
        """Play what falls due in ``(cursor, until_ms]``; the number of ledger entries written."""
        if self.cursor is None:
            self.resume(session, until_ms)
        assert self.cursor is not None
        t0, t1 = self.cursor, until_ms
        if t1 <= t0:
            return 0
        events: list[tuple[int, int, int, Any]] = []  # (ts, order at the same ts, item index, what)
        for ts, i, wo, s, e, _code in self._draws(t0, t1):
            events.append((ts, 2, i, (wo, s, e)))
        day = self._day(t0)
        while self._at(day, time(0)) <= t1:
            look = self._at(day, LOOK)
            if t0 < look <= t1:
                events.extend((look, 3, i, "look") for i in range(len(ITEMS)))
            day += timedelta(days=1)
        if self.campaign is not None and t0 < self.campaign <= t1:
            events.append((self.campaign, 0, self.index[LOW_ITEM], "campaign"))
        if not events and not any(o.due_ms <= t1 for o in self.orders.values()):
            self.cursor = t1
            return 0
        items = self._items(session)
        n = 0
        if events:
            draws = [w for _, _, _, w in events if isinstance(w, tuple)]
            made: dict[str, dict[int, float]] = {}
            if draws:
                first = min(s for _, s, _ in draws)
                made = self._production(session, max(self.since, first - MEAN_OVER_MS), max(e for _, _, e in draws))
            events.sort(key=lambda ev: (ev[0], ev[1], ev[2]))
            for ts, _o, i, what in events:
                n += self._deliver(session, items, ts)  # deliveries due before this event
                it, item = ITEMS[i], items.get(ITEMS[i].code)
                if item is None:
                    continue
                if what == "campaign":
                    n += self._campaign(session, item, it, ts)
                elif what == "look":
                    self._look(session, item, it, ts)
                else:
                    wo, s, e = what
                    n += self._draw(session, item, it, ts, wo, self._use(it, made, s, e), e)
        n += self._deliver(session, items, t1)
        self.cursor = t1
        session.flush()
        return n

    def _deliver(self, session: Session, items: dict[str, StockItem], until: int) -> int:
        n = 0
        for code, order in sorted(self.orders.items(), key=lambda kv: (kv[1].due_ms, kv[0])):
            item = items.get(code)
            if order.due_ms > until or item is None:
                continue
            it = ITEMS[self.index[code]]
            price = Decimal(
                f"{it.cost * float(self._rng(order.placed.toordinal(), self.index[code]).uniform(0.96, 1.06)):.2f}"
            )
            append(
                session,
                item,
                Kind.RECEIPT,
                order.qty,
                unit_cost=price,
                user=STOREKEEPER,
                ts=order.due_ms,
                reference=order.reference(code),
                against_order=True,
            )
            del self.orders[code]
            n += 1
        return n

    def _draw(self, session: Session, item: StockItem, it: DemoItem, ts: int, wo: str, use: float, e: int) -> int:
        rng = self._rng(e // MIN, self.index[it.code], 1)
        qty = float(rng.poisson(use)) if it.unit in COUNTABLE else use * float(rng.lognormal(0, 0.25))
        take = min(_d(max(qty, 0.0), it.unit), position(session, item.id).on_hand)
        if take <= 0:
            return 0
        try:
            append(session, item, Kind.ISSUE, take, user=STOREKEEPER, ts=ts, reference=wo)
        except StockError:  # nothing to take: a stock-out, the work waits
            return 0
        return 1

    def _look(self, session: Session, item: StockItem, it: DemoItem, ts: int) -> None:
        """The buyer: order when the projected stock will not last the lead time."""
        if it.code in self.orders:
            return
        pos = position(session, item.id)
        ordered = Decimal(item.ordered_milli) / 1000
        if pos.on_hand + ordered - Decimal(item.reserved_milli) / 1000 >= _order_point(it):
            return
        qty = _d(it.order, it.unit)
        set_planning(session, it.code, ordered=ordered + qty)
        day = self._day(ts)
        self.orders[it.code] = Order(day, qty, self._due(session, item, it, day))

    def _campaign(self, session: Session, item: StockItem, it: DemoItem, ts: int) -> int:
        """The scripted shortage: a furnace campaign takes the item down to two under its reorder level, and the
        supplier's delivery slips a month."""
        extra = position(session, item.id).on_hand - _d(it.reorder - 2, it.unit)
        n = 0
        if extra > 0:
            append(
                session,
                item,
                Kind.ISSUE,
                extra,
                user=STOREKEEPER,
                ts=ts,
                reference=CAMPAIGN_REF,
                note="furnace campaign",
            )
            n = 1
        order = self.orders.get(it.code)
        if order is not None:
            order.due_ms = self._due(session, item, it, order.placed)
        return n


def open_stock(session: Session, now_ms: int) -> int:
    """The storekeeper imports the opening stock list; the planners reserve what is set aside. Entries written."""
    got = import_rows(session, opening_rows(), source="期初库存.xlsx", user=STOREKEEPER, now_ms=now_ms)
    for it in ITEMS:
        if it.reserved:
            set_planning(session, it.code, reserved=Decimal(str(it.reserved)))
    return got.entries


def play_stock(session: Session, plant: Plant, start_ms: int, end_ms: int, seed: int = 7) -> int:
    """Write the demo's stock list and its ledger over ``[start_ms, end_ms)`` unless the store has stock items
    (the furnace campaign at 10:00 two days before the end, or halfway through a history shorter than that).
    Returns the number of ledger entries written."""
    if session.scalar(select(func.count()).select_from(StockItem)):
        return 0
    opened = open_stock(session, start_ms)
    tz = plant.tz()
    day = to_local(end_ms - 1, tz).date() - timedelta(days=2)
    campaign = int(datetime.combine(day, ARRIVES, tzinfo=tz).timestamp() * 1000)
    if campaign <= start_ms:
        campaign = start_ms + (end_ms - start_ms) // 2 // MIN * MIN
    keeper = Storekeeper(plant, seed, campaign=campaign)
    keeper.cursor = keeper.since = start_ms
    n = opened + keeper.play(session, end_ms - 1)
    logger.info("stock: %d items, %d ledger entries", len(ITEMS), n)
    return n
