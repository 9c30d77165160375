"""Read queries of the alarm screens on SQLite and PostgreSQL: states, filters, banner counts, history paging,
one alarm's trail; the SQL state rules agree with the Python ones the live page uses; bad filters are refused."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlalchemy.exc import DBAPIError

from store.alarm_views import (
    ANNUNCIATED,
    STATES,
    AlarmFilter,
    alarm_history,
    alarm_state,
    alarm_trail,
    banner_summary,
    command_results,
    get_alarm,
    matches,
    open_alarms,
    sort_key,
)
from store.db import make_engine, migrate, session_scope
from store.models import Alarm, AlarmCommand, AlarmJournal

NOW = 1_800_000_000_000
MIN = 60_000
HOSTILE = "<img src=x onerror=alert(1)>"


def alarm(aid: str, **kw: Any) -> Alarm:
    tag, _, cond = aid.partition(":")
    values: dict[str, Any] = {
        "id": aid,
        "source_type": "process",
        "condition": cond or "HH",
        "source": tag,
        "priority": "high",
        "area": "smelting",
        "zone": "smelter-hall",
        "active": True,
        "acked": False,
        "suppressed": False,
        "out_of_service": False,
        "activated_at": NOW - 10 * MIN,
        "message": "",
        "updated_at": NOW - 10 * MIN,
    }
    values.update(kw)
    return Alarm(**values)


# Every display state once, in two areas, four priorities and three source types.
ROWS: list[dict[str, Any]] = [
    {"aid": "FF.T1:HH", "priority": "urgent", "activated_at": NOW - 2 * MIN, "value": 1350.0, "limit": 1300.0},
    {"aid": "FF.T1:H", "priority": "high", "acked": True, "acked_by": "li", "acked_at": NOW - MIN},
    {"aid": "FF.P2:LL", "priority": "medium", "active": False, "returned_at": NOW - MIN},
    {"aid": "AP.SO2:HH", "priority": "urgent", "area": "acid", "zone": "acid-plant", "activated_at": NOW - 30 * MIN},
    {"aid": "AP.L1:L", "priority": "low", "area": "acid", "shelved_until": NOW + 30 * MIN, "shelved_by": "wang"},
    {"aid": "AP.L2:L", "priority": "low", "area": "acid", "shelved_until": NOW - MIN},  # shelving expired
    {"aid": "CV1.T:H", "priority": "high", "suppressed": True, "equipment": "CV-1"},
    {"aid": "CV2.T:H", "priority": "medium", "out_of_service": True, "suppressed": True},
    {"aid": "FF.T9:H", "priority": "high", "active": False, "acked": True},  # normal: on no list
    {"aid": "violation:7", "priority": "high", "source_type": "personnel", "badge": "B-7", "message": HOSTILE},
    {"aid": "FF.Q:BAD", "priority": "low", "source_type": "quality", "activated_at": NOW - 3 * 24 * 60 * MIN},
]
EXPECTED_STATE = {
    "FF.T1:HH": "active_unacked",
    "FF.T1:H": "active_acked",
    "FF.P2:LL": "returned_unacked",
    "AP.SO2:HH": "active_unacked",
    "AP.L1:L": "shelved",
    "AP.L2:L": "active_unacked",
    "CV1.T:H": "suppressed",
    "CV2.T:H": "out_of_service",
    "FF.T9:H": "normal",
    "violation:7": "active_unacked",
    "FF.Q:BAD": "active_unacked",
}


@pytest.fixture
def engine(db_url: str) -> Engine:
    migrate(db_url)
    eng = make_engine(db_url)
    with session_scope(eng) as s:
        for row in ROWS:
            kw = dict(row)
            s.add(alarm(kw.pop("aid"), **kw))
    yield eng
    eng.dispose()


def ids(rows: list[Any]) -> set[str]:
    return {r.id for r in rows}


def test_states_follow_isa_precedence(engine: Engine) -> None:
    with session_scope(engine) as s:
        everything = open_alarms(s, NOW, AlarmFilter(states=STATES))
        views = {a.id: a for a in everything}
        assert {a: v.state for a, v in views.items()} == {k: v for k, v in EXPECTED_STATE.items() if v != "normal"}
        for aid, state in EXPECTED_STATE.items():
            got = get_alarm(s, aid, NOW)
            assert got is not None and got.state == state
        assert get_alarm(s, "no such alarm", NOW) is None
        # shelving expires by the clock alone: an hour later the shelved alarm is annunciated again
        later = {a.id: a.state for a in open_alarms(s, NOW + 60 * MIN)}
        assert later["AP.L1:L"] == "active_unacked"
    assert alarm_state(
        active=True, acked=True, shelved_until=None, suppressed=False, out_of_service=False, now_ms=1
    ) == ("active_acked")


def test_default_list_is_annunciated_most_urgent_then_newest(engine: Engine) -> None:
    with session_scope(engine) as s:
        rows = open_alarms(s, NOW)
    assert {r.state for r in rows} <= set(ANNUNCIATED)
    assert ids(rows) == {a for a, st in EXPECTED_STATE.items() if st in ANNUNCIATED}
    order = [r.id for r in rows]
    assert order[:2] == ["FF.T1:HH", "AP.SO2:HH"]  # urgent, newest first
    assert order[-1] == "FF.Q:BAD"  # low and three days old
    assert order == [r.id for r in sorted(rows, key=sort_key)]
    hostile = next(r for r in rows if r.id == "violation:7")
    assert hostile.message == HOSTILE  # stored and returned as text, unchanged


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        (AlarmFilter(areas=("acid",)), {"AP.SO2:HH", "AP.L2:L"}),
        (AlarmFilter(priorities=("urgent",)), {"FF.T1:HH", "AP.SO2:HH"}),
        (AlarmFilter(states=("returned_unacked",)), {"FF.P2:LL"}),
        (AlarmFilter(states=("shelved", "suppressed")), {"AP.L1:L", "CV1.T:H"}),
        (AlarmFilter(states=("out_of_service",)), {"CV2.T:H"}),
        (AlarmFilter(source_types=("personnel", "quality")), {"violation:7", "FF.Q:BAD"}),
        (AlarmFilter(start_ms=NOW - 5 * MIN), {"FF.T1:HH"}),
        (
            AlarmFilter(start_ms=NOW - 40 * MIN, end_ms=NOW - 5 * MIN),
            {"AP.SO2:HH", "FF.T1:H", "FF.P2:LL", "AP.L2:L", "violation:7"},
        ),
        (AlarmFilter(areas=("acid",), priorities=("low",), states=STATES), {"AP.L1:L", "AP.L2:L"}),
        (AlarmFilter(areas=("nowhere",)), set()),
    ],
)
def test_filters_in_sql_and_in_python_agree(engine: Engine, flt: AlarmFilter, expected: set[str]) -> None:
    with session_scope(engine) as s:
        got = ids(open_alarms(s, NOW, flt))
        everything = open_alarms(s, NOW, AlarmFilter(states=STATES))
    assert got == expected
    assert {a.id for a in everything if matches(a, flt)} == expected


def test_banner_counts_only_annunciated_unacked(engine: Engine) -> None:
    with session_scope(engine) as s:
        b = banner_summary(s, NOW)
        assert b.counts == {"urgent": 2, "high": 1, "medium": 1, "low": 2}
        assert b.unacked == 6
        assert b.active == 6  # FF.T1:H acked but active counts; FF.P2:LL returned does not
        assert b.shelved == 1 and b.suppressed == 2
        assert b.newest is not None and b.newest.id == "FF.T1:HH"
        assert b.tone() == "urgent"
        d = b.as_dict()
        assert d["tone"] == "urgent" and d["newest"]["value"] == 1350.0
        # acknowledging the urgent ones leaves high as the loudest
        s.execute(update(Alarm).where(Alarm.priority == "urgent").values(acked=True))
        s.flush()
        b2 = banner_summary(s, NOW)
        assert b2.counts["urgent"] == 0 and b2.tone() == "high"
        assert b2.newest is not None and b2.newest.id == "violation:7"  # newest; of equal times the most urgent


def test_banner_on_an_empty_store(db_url: str) -> None:
    migrate(db_url)
    eng = make_engine(db_url)
    try:
        with session_scope(eng) as s:
            b = banner_summary(s, NOW)
        assert b.unacked == 0 and b.newest is None and b.tone() is None
        assert b.as_dict()["counts"] == {"urgent": 0, "high": 0, "medium": 0, "low": 0}
    finally:
        eng.dispose()


def journal(aid: str, ts: int, kind: str, **kw: Any) -> AlarmJournal:
    values: dict[str, Any] = {
        "ts": ts,
        "alarm_id": aid,
        "kind": kind,
        "source_type": "process",
        "priority": "high",
        "area": "smelting",
        "zone": "smelter-hall",
        "active": kind not in ("return",),
        "acked": kind in ("ack",),
    }
    values.update(kw)
    return AlarmJournal(**values)


def test_history_filters_pages_and_trail(engine: Engine) -> None:
    with session_scope(engine) as s:
        for i in range(120):  # a chattering tag: 60 cycles
            ts = NOW - 200 * MIN + i * 1000
            s.add(journal("FF.T1:HH", ts, "active" if i % 2 == 0 else "return", priority="urgent"))
        s.add(
            journal("FF.T1:HH", NOW - 50 * MIN, "ack", priority="urgent", user="li", address="10.0.0.7", comment="ok")
        )
        s.add(
            journal("AP.L1:L", NOW - 40 * MIN, "shelve", area="acid", priority="low", user="wang", comment="bad probe")
        )
        s.add(journal("violation:7", NOW - 30 * MIN, "active", source_type="personnel", comment=HOSTILE))
        s.add(journal("gone:1", NOW - 20 * MIN, "active"))  # alarm row no longer exists: still listed
    with session_scope(engine) as s:
        page1 = alarm_history(s, AlarmFilter(), page=1, page_size=50)
        assert page1.total == 124 and page1.pages == 3 and len(page1.rows) == 50
        assert [r.alarm_id for r in page1.rows[:4]] == ["gone:1", "violation:7", "AP.L1:L", "FF.T1:HH"]
        assert page1.rows[0].source is None and page1.rows[3].source == "FF.T1"
        assert page1.rows[1].comment == HOSTILE
        last = alarm_history(s, AlarmFilter(), page=99, page_size=50)  # clamped to the last page
        assert last.page == 3 and len(last.rows) == 24
        seen = [r.id for p in (1, 2, 3) for r in alarm_history(s, page=p, page_size=50).rows]
        assert len(seen) == len(set(seen)) == 124  # paging neither repeats nor skips
        assert alarm_history(s, AlarmFilter(areas=("acid",))).total == 1
        assert alarm_history(s, AlarmFilter(states=("shelved",))).rows[0].user == "wang"
        assert alarm_history(s, AlarmFilter(source_types=("personnel",))).total == 1
        assert alarm_history(s, AlarmFilter(kinds=("ack",))).rows[0].address == "10.0.0.7"
        assert alarm_history(s, AlarmFilter(states=("returned_unacked",))).total == 60
        window = alarm_history(s, AlarmFilter(start_ms=NOW - 45 * MIN, end_ms=NOW - 25 * MIN))
        assert {r.alarm_id for r in window.rows} == {"AP.L1:L", "violation:7"}
        trail = alarm_trail(s, "FF.T1:HH", limit=5)
        assert [r.kind for r in trail][:2] == ["ack", "return"]
        assert trail[0].user == "li" and trail[0].comment == "ok"
        assert alarm_trail(s, "no such alarm") == []
        with pytest.raises(ValueError):
            alarm_history(s, page_size=0)
        with pytest.raises(ValueError):
            alarm_history(s, page="2")  # type: ignore[arg-type]


def test_journal_stays_append_only(engine: Engine) -> None:
    with session_scope(engine) as s:
        s.add(journal("FF.T1:HH", NOW, "active"))
    with pytest.raises(DBAPIError), session_scope(engine) as s:
        s.execute(update(AlarmJournal).values(comment="edited"))


def test_command_results(engine: Engine) -> None:
    with session_scope(engine) as s:
        a = AlarmCommand(ts=NOW, alarm_id="FF.T1:HH", action="ack", user="li", address="10.0.0.7")
        b = AlarmCommand(
            ts=NOW, alarm_id="nope", action="ack", user="li", done_at=NOW + 500, result="rejected: unknown"
        )
        s.add_all([a, b])
        s.flush()
        done = command_results(s, [a.id, b.id, 999_999, "x"])  # type: ignore[list-item]
        assert [(c.alarm_id, c.done_at, c.ok) for c in done] == [("FF.T1:HH", None, False), ("nope", NOW + 500, False)]
        assert command_results(s, []) == []


@pytest.mark.parametrize(
    "bad",
    [
        {"priorities": ["critical"]},
        {"states": ["<script>"]},
        {"source_types": ["javascript:alert(1)"]},
        {"start_ms": math.nan},
        {"start_ms": "yesterday"},
        {"start_ms": 10, "end_ms": 5},
        {"areas": [""]},
        {"colour": "red"},
    ],
)
def test_bad_filters_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        AlarmFilter.from_dict(bad)


def test_filter_from_json() -> None:
    flt = AlarmFilter.from_dict({"areas": ["acid"], "priorities": ["urgent", "urgent"], "start_ms": 5.0})
    assert flt.areas == ("acid",) and flt.priorities == ("urgent",) and flt.start_ms == 5
