"""Video alarm feed and reviews (store/video.py) on a real SQLite file and a real PostgreSQL database: filters,
newest-first order, keyset pages, on-call scope by area, the join with the alarm, class counts with the
false-positive share, append-only reviews where the latest wins; migration 0005 up and down."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.exc import DBAPIError

from plant import load_plant
from store.db import alembic_config, make_engine, migrate, session_scope
from store.events import add_event
from store.models import Alarm, VideoReview
from store.video import (
    CONFIRMED,
    FALSE_POSITIVE,
    NotInScopeError,
    ReviewError,
    Scope,
    VideoFilter,
    class_counts,
    get_item,
    record_review,
    review_history,
    video_feed,
)
from tests.webutil import MINI_PLANT

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SEC = 1000

# (camera, zone, class, seconds after T0); zones: smelter-hall/converter-aisle (area smelting), tank-farm (acid)
DETECTIONS = [
    ("CAM-A", "smelter-hall", "flame", 10),
    ("CAM-A", "smelter-hall", "smoke", 20),
    ("CAM-B", "converter-aisle", "intrusion", 30),
    ("CAM-C", "tank-farm", "spill", 40),
    ("CAM-B", "converter-aisle", "no_hardhat", 50),
    ("CAM-A", "smelter-hall", "flame", 50),  # same start as the previous one: the id breaks the tie
    ("CAM-C", "tank-farm", "intrusion", 60),
]


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    migrate(db_url)
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


def seed(engine: Engine) -> list[int]:
    """The detections as event rows in the contract's format (oldest first), and an alarm for some."""
    ids = []
    with session_scope(engine) as s:
        for i, (cam, zone, cls, sec) in enumerate(DETECTIONS):
            eid = add_event(
                s,
                "video",
                cam,
                T0 + sec * SEC,
                severity="high",
                zone=zone,
                message=f"{cls} on {cam}",
                data={
                    "camera": cam,
                    "class": cls,
                    "confidence": 0.5 + i / 20,
                    "box": [10, 20, 30, 40],
                    "frame": [640, 360],
                    "media": {"snapshot": True, "thumb": i != 1, "clip": True},
                },
            )
            ids.append(eid)
        add_event(s, "violation", "forbidden_zone", T0 + 45 * SEC, zone="smelter-hall")  # not video
        for eid, acked in ((ids[0], True), (ids[2], False)):
            s.add(
                Alarm(
                    id=f"video:{eid}",
                    source_type="video",
                    condition="flame",
                    source="CAM-A",
                    area="smelting",
                    zone="smelter-hall",
                    camera="CAM-A",
                    priority="urgent",
                    active=True,
                    acked=acked,
                    acked_by="alice" if acked else None,
                    suppressed=False,
                    out_of_service=False,
                    activated_at=T0,
                    message="",
                    updated_at=T0,
                )
            )
    return ids


def test_feed_order_filters_and_pages(engine: Engine) -> None:
    ids = seed(engine)
    now = T0 + 100 * SEC
    with session_scope(engine) as s:
        page = video_feed(s, now_ms=now)
        assert [i.event_id for i in page.items] == [ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]]
        assert page.before is None
        first = page.items[-1]
        assert (first.cls, first.camera, first.zone, first.alarm_id) == (
            "flame",
            "CAM-A",
            "smelter-hall",
            f"video:{ids[0]}",
        )
        assert first.alarm_state == "active_acked" and first.acked and first.acked_by == "alice"
        assert first.priority == "urgent" and first.confidence == pytest.approx(0.5)
        assert page.items[2].alarm_state is None and page.items[2].acked is None  # no alarm yet
        assert page.items[4].alarm_state == "active_unacked"
        assert page.items[5].media == {"snapshot": True, "thumb": False, "clip": True}

        # keyset pages of 3 cover everything once, in order, across the tie at +50 s
        seen, before = [], None
        while True:
            p = video_feed(s, now_ms=now, limit=3, before=before)
            seen += [i.event_id for i in p.items]
            if p.before is None:
                break
            before = p.before
        assert seen == [i.event_id for i in page.items]

        def of(**kw: object) -> list[int]:
            return [i.event_id for i in video_feed(s, VideoFilter(**kw), now_ms=now).items]  # type: ignore[arg-type]

        assert of(cameras=("CAM-C",)) == [ids[6], ids[3]]
        assert of(zones=("converter-aisle",)) == [ids[4], ids[2]]
        assert of(classes=("flame",)) == [ids[5], ids[0]]
        assert of(classes=("intrusion",), cameras=("CAM-B",)) == [ids[2]]
        assert of(start_ms=T0 + 30 * SEC, end_ms=T0 + 50 * SEC) == [ids[3], ids[2]]
        assert of(cameras=("CAM-Z",)) == []
        with pytest.raises(ValueError):
            VideoFilter(classes=("dragon",))
        with pytest.raises(ValueError):
            video_feed(s, now_ms=now, before=("x", 1))  # type: ignore[arg-type]


def test_scope_of_areas(engine: Engine) -> None:
    ids = seed(engine)
    plant = load_plant(MINI_PLANT)
    now = T0 + 100 * SEC
    acid = Scope.of_areas(plant, ["acid"])
    assert acid is not None and acid.zones == {"acid-plant", "tank-farm"}
    assert Scope.of_areas(plant, None) is None
    with session_scope(engine) as s:
        assert [i.event_id for i in video_feed(s, now_ms=now, scope=acid).items] == [ids[6], ids[3]]
        assert video_feed(s, now_ms=now, scope=Scope()).items == []  # no areas: nothing
        assert get_item(s, ids[0], now_ms=now, scope=acid) is None  # another area's event does not exist
        got = get_item(s, ids[3], now_ms=now, scope=acid)
        assert got is not None and got.cls == "spill"
        assert set(class_counts(s, scope=acid).per_class) == {"spill", "intrusion"}
        with pytest.raises(NotInScopeError):
            record_review(s, ids[0], FALSE_POSITIVE, "oncall-acid", now_ms=now, scope=acid)
        record_review(s, ids[3], FALSE_POSITIVE, "oncall-acid", now_ms=now, scope=acid)


def test_reviews_append_only_latest_wins_and_counts(engine: Engine, db_url: str) -> None:
    ids = seed(engine)
    now = T0 + 100 * SEC
    with session_scope(engine) as s:
        record_review(s, ids[0], FALSE_POSITIVE, "alice", "false positive", now_ms=now, address="10.0.0.1")
        record_review(s, ids[5], FALSE_POSITIVE, "alice", now_ms=now)
        record_review(s, ids[5], CONFIRMED, "bob", "<script>alert(1)</script> it was real", now_ms=now + 1)
        record_review(s, ids[2], CONFIRMED, "bob", now_ms=now)
        for bad in (
            dict(event_id=ids[0], verdict="maybe", user="x"),
            dict(event_id=ids[0], verdict=CONFIRMED, user=""),
            dict(event_id=ids[0], verdict=CONFIRMED, user="x", comment="a\x00b"),
            dict(event_id=ids[0], verdict=CONFIRMED, user="x", comment="x" * 501),
            dict(event_id="1", verdict=CONFIRMED, user="x"),
        ):
            with pytest.raises(ReviewError):
                record_review(s, now_ms=now, **bad)  # type: ignore[arg-type]
        with pytest.raises(NotInScopeError):
            record_review(s, 999_999, CONFIRMED, "x", now_ms=now)
    with session_scope(engine) as s:
        violation = s.scalar(text("SELECT id FROM event WHERE kind = 'violation'"))
        with pytest.raises(NotInScopeError):
            record_review(s, int(violation), CONFIRMED, "x", now_ms=now)  # not a video event
    with session_scope(engine) as s:
        items = {i.event_id: i for i in video_feed(s, now_ms=now).items}
        assert items[ids[0]].verdict == FALSE_POSITIVE and items[ids[0]].review_comment == "false positive"
        assert items[ids[5]].verdict == CONFIRMED and items[ids[5]].reviewed_by == "bob"  # the latest wins
        assert items[ids[5]].review_comment == "<script>alert(1)</script> it was real"  # kept as typed
        assert items[ids[1]].verdict is None
        assert [r.verdict for r in review_history(s, ids[5])] == [CONFIRMED, FALSE_POSITIVE]
        counts = class_counts(s)
        flame = counts.per_class["flame"]
        assert (flame.events, flame.false_positive, flame.confirmed) == (2, 1, 1)
        assert flame.false_positive_share == pytest.approx(0.5)
        assert counts.per_class["intrusion"].confirmed == 1 and counts.per_class["spill"].reviewed == 0
        assert counts.total.events == len(DETECTIONS) and counts.total.false_positive == 1
        only = class_counts(s, VideoFilter(cameras=("CAM-A",)))
        assert set(only.per_class) == {"flame", "smoke"}
    # the table refuses edits and deletions, whatever the client
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE video_review SET verdict = 'confirmed'"))
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM video_review"))
    with session_scope(engine) as s:
        assert len(s.scalars(select(VideoReview)).all()) == 4


def test_migration_0005_down_and_up(engine: Engine, db_url: str) -> None:
    from alembic import command

    cfg = alembic_config(db_url)
    command.downgrade(cfg, "0004_users")
    with engine.connect() as conn:
        assert "video_review" not in inspect(conn).get_table_names()
    command.upgrade(cfg, "head")
    with engine.connect() as conn:
        assert "video_review" in inspect(conn).get_table_names()
    with session_scope(engine) as s:
        eid = add_event(s, "video", "CAM-A", T0, zone="smelter-hall", data={"camera": "CAM-A", "class": "smoke"})
        record_review(s, eid, CONFIRMED, "alice", now_ms=T0)
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text("DELETE FROM video_review"))
