"""The demo's stock goes on after the backfill: the live storekeeper (``simulator.stock.Storekeeper``) continues the
ledger from the backfill's newest entry, shift by shift, the buyer orders and deliveries arrive (the late one of the
oxygen lance tips a month after the furnace campaign), and a keeper restarted any number of times (or whose
transaction failed) writes exactly the ledger one uninterrupted keeper writes: no second issue for a shift. Through
the running simulator (``--stock-db``) the ledger grows past the backfill's end."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from plant.loader import load_plant
from settings import ROOT
from simulator.server import run_simulator
from simulator.stock import CAMPAIGN_REF, ITEMS, LOW_ITEM, STOREKEEPER, Storekeeper, play_stock
from store.db import make_engine, migrate, session_scope
from store.models import StockLedger
from store.stock import ledger, stock_list
from tests.conftest import free_port
from tests.fakeclock import plant_ms
from tests.webutil import MINI_PLANT

PLANT = load_plant(ROOT / "plant" / "demo_smelter.yaml")
H = 3_600_000
DAY = 24 * H
SEED = 7


def _store(tmp_path: Path, name: str, start: int, end: int) -> str:
    url = f"sqlite:///{tmp_path / name}"
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            assert play_stock(s, PLANT, start, end, seed=SEED) > 100
    finally:
        engine.dispose()
    return url


def _rows(url: str) -> list[tuple[str, int, str, int, int, str]]:
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            return sorted(
                (c, r.ts, r.kind, r.qty_milli, r.stock_value_cents, r.reference) for r, c in ledger(s, limit=1_000_000)
            )
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_restarted_keeper_continues_the_ledger_as_one_that_never_stopped(tmp_path: Path) -> None:
    end = plant_ms(PLANT, 2026, 3, 22, 13, 20)
    start = end - 20 * DAY
    one, many = _store(tmp_path, "one.db", start, end), _store(tmp_path, "many.db", start, end)
    backfilled = _rows(one)
    assert backfilled == _rows(many)
    last = max(r[1] for r in backfilled)
    assert last < end

    # the keeper the live simulator starts finds the backfill's open orders, the tips' a month late
    engine = make_engine(one)
    try:
        with session_scope(engine) as s:
            keeper = Storekeeper(PLANT, SEED)
            keeper.resume(s, end)
            assert keeper.cursor == last
            assert LOW_ITEM in keeper.orders and keeper.orders[LOW_ITEM].due_ms > end + 28 * DAY
            campaign = s.scalar(select(func.count()).where(StockLedger.reference == CAMPAIGN_REF))
            assert campaign == 1
        # one keeper, an hour at a time, for 40 days
        with session_scope(engine) as s:
            keeper = Storekeeper(PLANT, SEED)
        for t in range(end, end + 40 * DAY, H):
            with session_scope(engine) as s:
                keeper.play(s, t)
    finally:
        engine.dispose()

    # restarted every five hours, one transaction in seven failing (rolled back: the keeper starts again)
    engine = make_engine(many)
    try:
        keeper = Storekeeper(PLANT, SEED)
        for k, t in enumerate(range(end, end + 40 * DAY, H)):
            if k % 5 == 0:
                keeper = Storekeeper(PLANT, SEED)
            if k % 7 == 3:
                with pytest.raises(RuntimeError), session_scope(engine) as s:
                    keeper.play(s, t + H // 2)
                    raise RuntimeError("the store went away")
                keeper.cursor = None  # as the simulator does after a failed write
            with session_scope(engine) as s:
                keeper.play(s, t)
    finally:
        engine.dispose()

    live = _rows(one)
    assert live == _rows(many)
    after = [r for r in live if r[1] > last]
    kinds = Counter(r[2] for r in after)
    assert kinds["issue"] > 40 * 3 * 5 and kinds["receipt"] >= 5  # every shift draws; deliveries arrive
    issues = Counter((r[0], r[5]) for r in live if r[2] == "issue")
    assert max(issues.values()) == 1  # one issue per item and shift's work order
    tips = [r for r in after if r[0] == LOW_ITEM and r[2] == "receipt"]
    assert tips and tips[0][1] > end + 28 * DAY  # the late delivery
    engine = make_engine(one)
    try:
        with session_scope(engine) as s:
            stock = {it.code: it for it in stock_list(s)}
            users = set(s.scalars(select(StockLedger.user).where(StockLedger.ts > last)))
    finally:
        engine.dispose()
    assert users == {STOREKEEPER}
    assert set(stock) == {it.code for it in ITEMS}
    assert not any(it.low for it in stock.values())  # the tips came back at their level with the late delivery
    for code, it in stock.items():  # each item's ledger adds up to its position
        mine = [r for r in live if r[0] == code]
        assert sum(r[3] for r in mine) == it.on_hand * 1000


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_the_running_simulator_writes_the_ledger(tmp_path: Path) -> None:
    import yaml

    from plant.schema import Plant

    raw = yaml.safe_load(Path(MINI_PLANT).read_text())
    ports = (free_port(), free_port())
    raw["endpoints"] = [
        {"id": "dcs", "name": "DCS", "url": f"opc.tcp://127.0.0.1:{ports[0]}/smeltwatch/dcs"},
        {"id": "rtls", "name": "RTLS", "url": f"opc.tcp://127.0.0.1:{ports[1]}/smeltwatch/rtls"},
    ]
    plant = Plant.model_validate(raw)
    end = plant_ms(plant, 2026, 3, 22, 7, 30)
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with session_scope(engine) as s:
            play_stock(s, plant, end - 3 * DAY, end, seed=SEED)
            last = s.scalar(select(func.max(StockLedger.ts)))
        assert last is not None

        async def run() -> int:
            async with run_simulator(
                plant, seed=SEED, speed=1800.0, rate_hz=2.0, start_ms=end, dcs_port=ports[0], rtls_port=ports[1],
                stock_db=url,
            ) as sim:  # fmt: skip
                while sim.sim_now_ms < end + 2 * H:  # past the draws of the shift that ends at 08:00
                    await sim.wait_ticks(1)
                return sim.stock_entries

        written = asyncio.run(run())
        with session_scope(engine) as s:
            new = [r for r, _c in ledger(s, since_ms=last + 1, limit=10_000)]
    finally:
        engine.dispose()
    assert written == len(new) > 0
    assert {r.reference for r in new if r.kind == "issue"} == {"WO-260322-C"}  # the night shift, ended at 08:00
