"""Read and review side of video detections: the alarm feed of ``/video`` and false-positive reviews.

A detection is an ``event`` row of kind ``video`` (written by the video service: ``source`` is the camera,
``zone`` its zone, ``data`` carries ``camera``, ``class``, ``confidence``, ``box``, ``frame`` and which
``media`` exist); the alarm service turns it into the alarm ``video:<event id>``.

* :func:`video_feed` - detections newest first (start time, then id), filtered by camera, zone, class and
  time (:class:`VideoFilter`), a page at a time by keyset (``before`` the last item shown), each joined with
  its alarm (state, acknowledged, priority; None while the alarm service has not taken it yet) and its
  latest review;
* :func:`class_counts` - per class: detections, and how many the latest review calls false positive or
  confirmed (the false-positive share);
* :func:`model_fallbacks` - the models the video service refused at its start (open events of kind
  ``video_model``, written by ``video.events``), for the health warning;
* :func:`record_review` - a verdict (``false_positive`` or ``confirmed``) by a user, appended to the
  ``video_review`` table, which the database keeps append-only; the latest review of an event counts.

Who sees what: every function takes a :class:`Scope` (None: everything - dispatchers, administrators,
services and tests). An on-call user's scope is the zones of their areas (:meth:`Scope.of_areas`), the same
rule as the media routes: an event whose zone is in none of their areas does not exist for them.

Like every repository here these functions take a session and never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import Session

from plant.schema import Plant, VideoClass
from store.alarm_views import alarm_row_state, epoch_ms_arg
from store.alarms import checked_text
from store.models import Alarm, Event, VideoReview

logger = logging.getLogger(__name__)

VIDEO = "video"  # the event kind
FALLBACK_KIND = "video_model"  # a model refused at start: the class runs on a fallback (a health warning)
ALARM_PREFIX = "video:"
FALSE_POSITIVE = "false_positive"
CONFIRMED = "confirmed"
VERDICTS: tuple[str, ...] = (FALSE_POSITIVE, CONFIRMED)
CLASSES: tuple[str, ...] = tuple(c.value for c in VideoClass)
MEDIA: tuple[str, ...] = ("snapshot", "thumb", "clip")
MAX_PAGE = 200
MAX_COMMENT = 500
MAX_USER_LEN = 64
MAX_ADDRESS_LEN = 64


class ReviewError(ValueError):
    """A review that cannot be recorded; the message says why."""


class NotInScopeError(ReviewError):
    """The event is not one the user may see (another area's, or no video event at all)."""


# --- who sees what ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """The zones whose detections a viewer may see and act on."""

    zones: frozenset[str] = frozenset()

    @classmethod
    def of_areas(cls, plant: Plant, areas: Iterable[str] | None) -> Scope | None:
        """The zones of ``areas`` in ``plant``; None (every zone) when ``areas`` is None."""
        if areas is None:
            return None
        if isinstance(areas, str):
            raise ValueError("areas must be a list")
        mine = {str(a) for a in areas}
        return cls(frozenset(z.id for z in plant.zones if z.area in mine))

    def admits(self, zone: str | None) -> bool:
        return zone is not None and zone in self.zones


def _scope_sql(scope: Scope | None) -> list[ColumnElement[bool]]:
    if scope is None:
        return []
    return [Event.zone.in_(sorted(scope.zones))] if scope.zones else [literal(False)]


# --- filters ------------------------------------------------------------------------------------------------


def _names(name: str, values: Iterable[Any] | None, allowed: Sequence[str] | None = None) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, str):
        values = [values]
    out: list[str] = []
    for v in values:
        if not isinstance(v, str) or not v or len(v) > 64:
            raise ValueError(f"{name} must be ids of at most 64 characters, got {v!r}")
        if allowed is not None and v not in allowed:
            raise ValueError(f"unknown {name} {v!r}; expected one of {', '.join(allowed)}")
        if v not in out:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class VideoFilter:
    """Which detections: empty tuples mean any; ``start_ms``/``end_ms`` bound the start time (end exclusive).
    Unknown classes and malformed values raise ``ValueError``."""

    cameras: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    start_ms: int | None = None
    end_ms: int | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "cameras", _names("camera", self.cameras))
        set_(self, "zones", _names("zone", self.zones))
        set_(self, "classes", _names("class", self.classes, CLASSES))
        set_(self, "start_ms", epoch_ms_arg("start_ms", self.start_ms))
        set_(self, "end_ms", epoch_ms_arg("end_ms", self.end_ms))


def _class_sql() -> ColumnElement[str]:
    expr: ColumnElement[str] = Event.data["class"].as_string()  # JSON's comparator is untyped
    return expr


def _conditions(flt: VideoFilter, scope: Scope | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = [Event.kind == VIDEO, *_scope_sql(scope)]
    if flt.cameras:
        conds.append(Event.source.in_(flt.cameras))
    if flt.zones:
        conds.append(Event.zone.in_(flt.zones))
    if flt.classes:
        conds.append(_class_sql().in_(flt.classes))
    if flt.start_ms is not None:
        conds.append(Event.ts_start >= flt.start_ms)
    if flt.end_ms is not None:
        conds.append(Event.ts_start < flt.end_ms)
    return conds


# --- views --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReviewView:
    id: int
    event_id: int
    ts: int
    verdict: str
    user: str
    comment: str | None


@dataclass(frozen=True)
class FeedItem:
    """One detection as the feed shows it. ``alarm_state`` is a display state of ``store.alarm_views``
    (``normal`` once returned and acknowledged), None while the detection has no alarm yet."""

    event_id: int
    ts_start: int
    ts_end: int | None
    camera: str
    zone: str | None
    cls: str
    confidence: float | None
    severity: str
    message: str
    media: dict[str, bool]
    alarm_id: str
    alarm_state: str | None = None
    acked: bool | None = None
    acked_by: str | None = None
    priority: str | None = None
    verdict: str | None = None
    reviewed_by: str | None = None
    reviewed_at: int | None = None
    review_comment: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class FeedPage:
    """A page of the feed; ``before`` is the keyset of the next, older page (None: this is the last)."""

    items: list[FeedItem]
    before: tuple[int, int] | None = None


@dataclass
class ClassCount:
    events: int = 0
    false_positive: int = 0
    confirmed: int = 0

    @property
    def reviewed(self) -> int:
        return self.false_positive + self.confirmed

    @property
    def false_positive_share(self) -> float | None:
        """False positives among the class's detections (None without detections)."""
        return self.false_positive / self.events if self.events else None


@dataclass(frozen=True)
class Counts:
    per_class: dict[str, ClassCount] = field(default_factory=dict)

    @property
    def total(self) -> ClassCount:
        out = ClassCount()
        for c in self.per_class.values():
            out.events += c.events
            out.false_positive += c.false_positive
            out.confirmed += c.confirmed
        return out


def _with_alarms() -> Select[tuple[Event, Alarm]]:
    """Video events, each with its alarm ``video:<event id>`` (None while the alarm service has not taken it)."""
    return select(Event, Alarm).outerjoin(Alarm, Alarm.id == literal(ALARM_PREFIX, String) + cast(Event.id, String))


def _item(e: Event, a: Alarm | None, r: VideoReview | None, now_ms: int) -> FeedItem:
    data = e.data if isinstance(e.data, dict) else {}
    conf = data.get("confidence")
    media = data.get("media")
    media_raw = media if isinstance(media, dict) else {}
    return FeedItem(
        event_id=e.id,
        ts_start=e.ts_start,
        ts_end=e.ts_end,
        camera=str(data.get("camera") or e.source),
        zone=e.zone,
        cls=str(data.get("class") or ""),
        confidence=float(conf) if isinstance(conf, int | float) and not isinstance(conf, bool) else None,
        severity=e.severity,
        message=e.message or "",
        media={k: bool(media_raw.get(k)) for k in MEDIA},
        alarm_id=f"{ALARM_PREFIX}{e.id}",
        alarm_state=None if a is None else alarm_row_state(a, now_ms),
        acked=None if a is None else bool(a.acked),
        acked_by=None if a is None else a.acked_by,
        priority=None if a is None else a.priority,
        verdict=None if r is None else r.verdict,
        reviewed_by=None if r is None else r.user,
        reviewed_at=None if r is None else r.ts,
        review_comment=None if r is None else r.comment,
    )


def _latest_reviews(session: Session, event_ids: Sequence[int]) -> dict[int, VideoReview]:
    out: dict[int, VideoReview] = {}
    ids = sorted(set(event_ids))
    for i in range(0, len(ids), 500):
        stmt = (
            select(VideoReview)
            .where(VideoReview.event_id.in_(ids[i : i + 500]))
            .order_by(VideoReview.event_id, VideoReview.id.desc())
        )
        for r in session.scalars(stmt):
            out.setdefault(r.event_id, r)
    return out


# --- queries ------------------------------------------------------------------------------------------------


def video_feed(
    session: Session,
    flt: VideoFilter | None = None,
    *,
    now_ms: int,
    scope: Scope | None = None,
    limit: int = 50,
    before: Sequence[int] | None = None,
) -> FeedPage:
    """Detections passing ``flt`` in ``scope``, newest first; ``before`` (``(ts_start, id)`` of the last item
    of the previous page, :attr:`FeedPage.before`) gives the next older page."""
    flt = flt or VideoFilter()
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise ValueError("limit must be an integer")
    limit = max(1, min(limit, MAX_PAGE))
    conds = _conditions(flt, scope)
    if before is not None:
        if (
            isinstance(before, str)
            or len(before) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in before)
        ):
            raise ValueError("before must be (ts_start, id)")
        ts, eid = int(before[0]), int(before[1])
        conds.append(or_(Event.ts_start < ts, and_(Event.ts_start == ts, Event.id < eid)))
    stmt = _with_alarms().where(*conds).order_by(Event.ts_start.desc(), Event.id.desc()).limit(limit + 1)
    rows = session.execute(stmt).tuples().all()
    more = len(rows) > limit
    rows = rows[:limit]
    reviews = _latest_reviews(session, [e.id for e, _ in rows])
    items = [_item(e, a, reviews.get(e.id), now_ms) for e, a in rows]
    last = items[-1] if items else None
    return FeedPage(items, (last.ts_start, last.event_id) if more and last else None)


def get_item(session: Session, event_id: int, *, now_ms: int, scope: Scope | None = None) -> FeedItem | None:
    """One detection as the feed shows it; None when there is none (or it is outside ``scope``)."""
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        return None
    stmt = _with_alarms().where(Event.id == event_id, *_conditions(VideoFilter(), scope))
    row = session.execute(stmt).tuples().first()
    if row is None:
        return None
    e, a = row
    return _item(e, a, _latest_reviews(session, [e.id]).get(e.id), now_ms)


def class_counts(session: Session, flt: VideoFilter | None = None, *, scope: Scope | None = None) -> Counts:
    """Per detection class: how many detections pass ``flt`` in ``scope`` and how many of them their latest
    review calls false positive or confirmed."""
    flt = flt or VideoFilter()
    latest = (
        select(VideoReview.event_id.label("event_id"), func.max(VideoReview.id).label("rid"))
        .group_by(VideoReview.event_id)
        .subquery()
    )
    inner = (
        select(_class_sql().label("cls"), VideoReview.verdict.label("verdict"))
        .select_from(Event)
        .outerjoin(latest, latest.c.event_id == Event.id)
        .outerjoin(VideoReview, VideoReview.id == latest.c.rid)
        .where(*_conditions(flt, scope))
        .subquery()
    )
    stmt = select(
        inner.c.cls,
        func.count(),
        func.sum(case((inner.c.verdict == FALSE_POSITIVE, 1), else_=0)),
        func.sum(case((inner.c.verdict == CONFIRMED, 1), else_=0)),
    ).group_by(inner.c.cls)
    out: dict[str, ClassCount] = {}
    for name, n, fp, ok in session.execute(stmt):
        out[str(name or "")] = ClassCount(int(n or 0), int(fp or 0), int(ok or 0))
    return Counts(dict(sorted(out.items())))


@dataclass(frozen=True)
class ModelFallback:
    """A model the video service refused at start (``video.types.Fallback``, as its event keeps it)."""

    event_id: int
    since_ms: int
    camera: str
    zone: str | None
    what: str
    cls: str | None
    path: str | None
    reason: str
    detail: str


def model_fallbacks(session: Session, *, scope: Scope | None = None) -> list[ModelFallback]:
    """The fallbacks the running video service reported (open ``video_model`` events), by camera and class."""
    stmt = select(Event).where(Event.kind == FALLBACK_KIND, Event.ts_end.is_(None), *_scope_sql(scope))
    out = []
    for e in session.scalars(stmt.order_by(Event.source, Event.id)):
        d = e.data if isinstance(e.data, dict) else {}
        out.append(
            ModelFallback(
                event_id=int(e.id),
                since_ms=int(e.ts_start),
                camera=str(e.source),
                zone=e.zone,
                what=str(d.get("what") or ""),
                cls=str(d["class"]) if d.get("class") else None,
                path=str(d["path"]) if d.get("path") else None,
                reason=str(d.get("reason") or "other"),
                detail=str(d.get("detail") or ""),
            )
        )
    return out


def review_history(session: Session, event_id: int, *, limit: int = 50) -> list[ReviewView]:
    """The reviews of one event, newest first."""
    stmt = (
        select(VideoReview)
        .where(VideoReview.event_id == int(event_id))
        .order_by(VideoReview.id.desc())
        .limit(max(1, min(int(limit), MAX_PAGE)))
    )
    return [ReviewView(r.id, r.event_id, r.ts, r.verdict, r.user, r.comment) for r in session.scalars(stmt)]


# --- reviews ------------------------------------------------------------------------------------------------


def record_review(
    session: Session,
    event_id: int,
    verdict: str,
    user: str,
    comment: str | None = None,
    *,
    now_ms: int,
    address: str | None = None,
    scope: Scope | None = None,
) -> int:
    """Append a review of the video event ``event_id`` and return its id (flushes, does not commit).

    ``verdict`` is ``false_positive`` or ``confirmed``; the comment is optional text of at most
    :data:`MAX_COMMENT` characters without control characters (markup is kept as typed: it is text).
    Raises :class:`ReviewError`, or :class:`NotInScopeError` for an event that is not a video event in
    ``scope``."""
    if verdict not in VERDICTS:
        raise ReviewError(f"unknown verdict {str(verdict)[:32]!r}; expected one of {', '.join(VERDICTS)}")
    who = checked_text("user", user, MAX_USER_LEN, required=True, error=ReviewError)
    text = checked_text("comment", comment, MAX_COMMENT, required=False, error=ReviewError)
    where = checked_text("address", address, MAX_ADDRESS_LEN, required=False, error=ReviewError)
    if isinstance(event_id, bool) or not isinstance(event_id, int):
        raise ReviewError("event id must be an integer")
    if isinstance(now_ms, bool) or not isinstance(now_ms, int):
        raise ReviewError("now_ms must be epoch milliseconds")
    row = session.execute(select(Event.kind, Event.zone).where(Event.id == event_id)).first()
    if row is None or row.kind != VIDEO or (scope is not None and not scope.admits(row.zone)):
        raise NotInScopeError(f"no video event {event_id}")
    assert who is not None
    review = VideoReview(event_id=event_id, ts=now_ms, verdict=verdict, user=who, address=where, comment=text)
    session.add(review)
    session.flush()
    logger.info("%s reviewed video event %d: %s", who, event_id, verdict)
    return review.id
