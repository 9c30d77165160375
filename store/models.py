"""SQLAlchemy 2.0 typed models. Times are UTC milliseconds since the epoch (BigInteger), which keeps
bucket arithmetic identical on SQLite and PostgreSQL; the UI converts to the plant's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy import JSON, BigInteger, Boolean, Float, Index, Integer, LargeBinary, String, Text, event, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Tag(Base):
    """The tags of the plant file, given a compact integer id for the sample tables."""

    __tablename__ = "tag"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    node_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str] = mapped_column(String(16), default="")
    medium: Mapped[str | None] = mapped_column(String(32))
    ll: Mapped[float | None] = mapped_column(Float)
    l: Mapped[float | None] = mapped_column(Float)  # noqa: E741
    h: Mapped[float | None] = mapped_column(Float)
    hh: Mapped[float | None] = mapped_column(Float)
    equipment: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    badge: Mapped[str | None] = mapped_column(String(64))


class Sample(Base):
    """Raw samples, one row per (tag, source timestamp): replays never duplicate."""

    __tablename__ = "sample"
    __table_args__ = (
        # Small partial index: finds the NULL (bad-quality) samples of a range without scanning it.
        Index(
            "ix_sample_null",
            "tag_id",
            "ts",
            sqlite_where=text("value IS NULL"),
            postgresql_where=text("value IS NULL"),
        ),
        {"sqlite_with_rowid": False},
    )

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[int] = mapped_column(BigInteger, default=0)


class SampleCompaction(Base):
    """How far each tag's raw samples are compressed (``store.compaction``): ``through_ts`` is the last point
    kept; samples after it are as received. Samples written later at or before it skip the rollups."""

    __tablename__ = "sample_compaction"

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    through_ts: Mapped[int] = mapped_column(BigInteger)


class PositionCompaction(Base):
    """How far each badge's positions are compressed (``store.compaction.compact_positions``): ``through_ts``
    is the last fix kept; fixes after it are as stored at ingest."""

    __tablename__ = "position_compaction"

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    through_ts: Mapped[int] = mapped_column(BigInteger)


class _Rollup:
    """Aggregates of the good samples of one tag in one bucket; avg = total / n."""

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # bucket start, epoch ms
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[float] = mapped_column(Float)
    vmin: Mapped[float] = mapped_column(Float)
    vmax: Mapped[float] = mapped_column(Float)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    first: Mapped[float] = mapped_column(Float)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    last: Mapped[float] = mapped_column(Float)


class Rollup1m(_Rollup, Base):
    __tablename__ = "rollup_1m"
    __table_args__ = {"sqlite_with_rowid": False}


class Rollup1h(_Rollup, Base):
    __tablename__ = "rollup_1h"
    __table_args__ = {"sqlite_with_rowid": False}


class Event(Base):
    """Anything with a start and maybe an end: outage gaps, data-quality problems, incidents."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_kind_start", "kind", "ts_start"), Index("ix_event_start", "ts_start"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(64))
    ts_start: Mapped[int] = mapped_column(BigInteger)
    ts_end: Mapped[int | None] = mapped_column(BigInteger)
    severity: Mapped[str] = mapped_column(String(16), default="info")
    tag_id: Mapped[int | None] = mapped_column(Integer)
    badge: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Position(Base):
    """Badge position history, one row per (badge, source timestamp)."""

    __tablename__ = "position"
    __table_args__ = {"sqlite_with_rowid": False}

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    floor: Mapped[int] = mapped_column(Integer, default=0)
    quality: Mapped[int] = mapped_column(BigInteger, default=0)


class BadgeCurrent(Base):
    """Latest known position of each badge."""

    __tablename__ = "badge_current"

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    floor: Mapped[int] = mapped_column(Integer, default=0)
    quality: Mapped[int] = mapped_column(BigInteger, default=0)


class CollectorHealth(Base):
    """One row per OPC UA endpoint, refreshed by its collector every few seconds."""

    __tablename__ = "collector_health"

    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(String(255), default="")
    pid: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)
    connected: Mapped[bool] = mapped_column(Boolean, default=False)
    received: Mapped[int] = mapped_column(BigInteger, default=0)
    written: Mapped[int] = mapped_column(BigInteger, default=0)
    spooled: Mapped[int] = mapped_column(BigInteger, default=0)
    replayed: Mapped[int] = mapped_column(BigInteger, default=0)
    backfilled: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # read back from history
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    late: Mapped[int] = mapped_column(BigInteger, default=0)
    bad_quality: Mapped[int] = mapped_column(BigInteger, default=0)
    lag_ms_p50: Mapped[float] = mapped_column(Float, default=0)
    lag_ms_max: Mapped[float] = mapped_column(Float, default=0)
    queue_depth: Mapped[int] = mapped_column(Integer, default=0)
    spool_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    last_data_at: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str] = mapped_column(Text, default="")


class Alarm(Base):
    """Current state of every alarm that has been raised at least once; written only by the alarm service.

    ``id`` names the alarm: ``<tag>:<condition>`` for process and quality alarms (``FSF.T101:HH``,
    ``FSF.T101:BAD``), ``violation:<event id>`` for personnel violations, ``video:<event id>`` for detections.
    """

    __tablename__ = "alarm"
    __table_args__ = (Index("ix_alarm_open", "active", "acked"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_type: Mapped[str] = mapped_column(String(16))  # process | quality | personnel | video
    condition: Mapped[str] = mapped_column(String(32))  # HH H L LL ROC BAD | rule | detection class
    source: Mapped[str] = mapped_column(String(64))  # tag, badge or camera
    tag_id: Mapped[int | None] = mapped_column(Integer)
    area: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    equipment: Mapped[str | None] = mapped_column(String(64))
    badge: Mapped[str | None] = mapped_column(String(64))
    camera: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(8))  # urgent | high | medium | low
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    acked: Mapped[bool] = mapped_column(Boolean, default=True)
    shelved_until: Mapped[int | None] = mapped_column(BigInteger)
    shelved_by: Mapped[str | None] = mapped_column(String(64))
    shelve_reason: Mapped[str | None] = mapped_column(Text)
    suppressed: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_service: Mapped[bool] = mapped_column(Boolean, default=False)
    value: Mapped[float | None] = mapped_column(Float)
    limit: Mapped[float | None] = mapped_column(Float)
    activated_at: Mapped[int | None] = mapped_column(BigInteger)
    returned_at: Mapped[int | None] = mapped_column(BigInteger)
    acked_at: Mapped[int | None] = mapped_column(BigInteger)
    acked_by: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)


class AlarmJournal(Base):
    """Every alarm transition and operator action, append-only (the database refuses UPDATE and DELETE)."""

    __tablename__ = "alarm_journal"
    __table_args__ = (
        Index("ix_alarm_journal_ts", "ts"),
        Index("ix_alarm_journal_alarm_ts", "alarm_id", "ts"),
        Index("ix_alarm_journal_kind_ts", "kind", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    alarm_id: Mapped[str] = mapped_column(String(128))
    # active | return | ack | shelve | unshelve | shelve_expired | suppress | unsuppress
    # | out_of_service | in_service | comment
    kind: Mapped[str] = mapped_column(String(16))
    source_type: Mapped[str] = mapped_column(String(16))
    priority: Mapped[str] = mapped_column(String(8))
    area: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(Boolean)  # state after the transition
    acked: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[float | None] = mapped_column(Float)
    user: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlarmCommand(Base):
    """An operator's request from the web app (ack, shelve, unshelve, comment, out/in service).

    The alarm service applies pending commands in id order, journals them and sets ``done_at`` and
    ``result`` (``ok`` or ``rejected: <reason>``); the web app never changes alarm state itself.
    """

    __tablename__ = "alarm_command"
    __table_args__ = (Index("ix_alarm_command_pending", "done_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    alarm_id: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    duration_s: Mapped[int | None] = mapped_column(Integer)
    done_at: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[str | None] = mapped_column(String(255))


class Notification(Base):
    """One message sent (or tried) to one on-call recipient over one channel."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_ts", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook | dingtalk | wecom
    recipient: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # alarm | digest | escalation | emergency
    alarm_ids: Mapped[list[str] | None] = mapped_column(JSON)
    level: Mapped[int] = mapped_column(Integer, default=0)  # escalation level (0 = first on call)
    status: Mapped[str] = mapped_column(String(16))  # sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    error: Mapped[str | None] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text, default="")


class AppUser(Base):
    """A person who logs in to the web app (``auth/``). The password is kept only as an argon2 hash; users are
    disabled, never deleted, so the audit log always names someone who existed."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower case
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))  # executive | dispatcher | on-call | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    email: Mapped[str | None] = mapped_column(String(255))
    areas: Mapped[list[str] | None] = mapped_column(JSON)  # on-call: plant areas whose alerts are theirs
    badge: Mapped[str | None] = mapped_column(String(64))  # the user's own badge: their special-work permits
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    password_changed_at: Mapped[int] = mapped_column(BigInteger)
    last_login_at: Mapped[int | None] = mapped_column(BigInteger)


class UserSession(Base):
    """A logged-in browser. The cookie carries a random token; only its SHA-256 is stored here."""

    __tablename__ = "user_session"
    __table_args__ = (Index("ix_user_session_user", "user_id"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(token), hex
    user_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_seen_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)  # absolute end, whatever the activity
    address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class SecurityAudit(Base):
    """Security audit log, append-only (the database refuses UPDATE and DELETE): logins and their failures,
    logouts, user changes, acknowledges, shelves, muster declarations; with user, time and address."""

    __tablename__ = "security_audit"
    __table_args__ = (
        Index("ix_security_audit_ts", "ts"),
        Index("ix_security_audit_event_ts", "event", "ts"),
        Index("ix_security_audit_user_ts", "user", "ts"),
        Index("ix_security_audit_address_ts", "address", "ts"),
        Index("ix_security_audit_target_ts", "target", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(32))
    user: Mapped[str | None] = mapped_column(String(64))  # who did it (for a failed login: the name typed)
    role: Mapped[str | None] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(255))  # what it was done to (user, alarm, muster point)
    detail: Mapped[str | None] = mapped_column(Text)  # comment or reason
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class VideoReview(Base):
    """A person's verdict on a video detection (``false_positive`` or ``confirmed``), append-only (the database
    refuses UPDATE and DELETE): a changed mind is a new row, and the latest row of an event is its verdict."""

    __tablename__ = "video_review"
    __table_args__ = (Index("ix_video_review_event", "event_id", "id"), Index("ix_video_review_ts", "ts"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[int] = mapped_column(Integer)  # the ``event`` row (kind ``video``); no foreign key:
    # retention may delete old events, their reviews stay as the record of what people said
    ts: Mapped[int] = mapped_column(BigInteger)
    verdict: Mapped[str] = mapped_column(String(16))  # false_positive | confirmed
    user: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)


class PlanVersion(Base):
    """One import of a production plan file: who, when, which file, the days it covers. A version replaces
    the plan of every day it covers; older versions stay (the history of who changed what, when)."""

    __tablename__ = "plan_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))
    first_day: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD, plant days
    last_day: Mapped[str] = mapped_column(String(10))
    rows: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")


class PlanTarget(Base):
    """A target of a plan version: a day (and shift, empty for the whole day) and product."""

    __tablename__ = "plan_target"
    __table_args__ = (Index("ix_plan_target_day", "day", "version_id"),)

    version_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    shift: Mapped[str] = mapped_column(String(16), primary_key=True)
    product: Mapped[str] = mapped_column(String(64), primary_key=True)
    target: Mapped[float] = mapped_column(Float)


class CounterDay(Base):
    """What a counter counted in one closed plant day (``store.counter_days``), kept so that a year by day reads
    one row per day instead of its hours. ``start``/``end`` are the day's bounds in the plant's zone (a DST day
    has 23 or 25 hours); ``amount`` is NULL for a day without a rollup. Samples written late for a day delete
    its row and every later one of the store (``store.samples``), which are then computed again."""

    __tablename__ = "counter_day"
    __table_args__ = (Index("ix_counter_day_end", "end"),)

    tag_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    end: Mapped[int] = mapped_column(BigInteger)
    day: Mapped[str] = mapped_column(String(10))
    amount: Mapped[float | None] = mapped_column(Float)


class EmissionHour(Base):
    """One stack pollutant's hour as judged at the hour's close (``engine.emissions``): the average of its
    normal minutes, the minutes by data flag, validity, the flags kept with the value, the limit then in
    force, exceedance, the stack's mean flow and the mass emitted."""

    __tablename__ = "emission_hour"
    __table_args__ = (Index("ix_emission_hour_start", "hour"),)

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)  # the pollutant's tag name
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # hour start, epoch ms
    stack: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    normal: Mapped[int] = mapped_column(Integer)
    maintenance: Mapped[int] = mapped_column(Integer)
    calibration: Mapped[int] = mapped_column(Integer)
    fault: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    valid: Mapped[bool] = mapped_column(Boolean)
    flags: Mapped[str] = mapped_column(String(8))
    limit: Mapped[float | None] = mapped_column(Float)
    exceedance: Mapped[bool] = mapped_column(Boolean)
    flow: Mapped[float | None] = mapped_column(Float)
    mass_kg: Mapped[float | None] = mapped_column(Float)
    judged_ts: Mapped[int] = mapped_column(BigInteger)  # when it was judged (epoch ms)


class SpcExclusion(Base):
    """An assay result left out of its SPC chart's limits and rules (still shown), with the reason, who and when."""

    __tablename__ = "spc_exclusion"

    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[int] = mapped_column(BigInteger)


class _Moved(Protocol):
    """What a log row needs of the row that moved: its id and the state it is in now."""

    @property
    def id(self) -> int: ...

    @property
    def state(self) -> str: ...


class _StateLog:
    """The columns of an append-only log of a workflow's moves (hidden dangers, work permits): who, when, which
    action, from which state to which, the note and the facts. A log class names its subject's id column in
    ``subject`` and declares it; ``sort_order`` keeps the columns in the order the migrations created them (id,
    the subject's id, then these)."""

    subject: ClassVar[str]

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True, sort_order=-1)
    ts: Mapped[int] = mapped_column(BigInteger, sort_order=1)
    actor: Mapped[str] = mapped_column(String(64), sort_order=1)
    action: Mapped[str] = mapped_column(String(16), sort_order=1)
    from_state: Mapped[str | None] = mapped_column(String(16), sort_order=1)
    to_state: Mapped[str] = mapped_column(String(16), sort_order=1)
    note: Mapped[str] = mapped_column(Text, default="", sort_order=1)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, sort_order=1)

    if TYPE_CHECKING:  # the declarative base's keyword constructor, which the log classes get

        def __init__(self, **kw: Any) -> None: ...

    @classmethod
    def append(
        cls,
        session: Session,
        row: _Moved,
        ts: int,
        actor: str,
        action: str,
        before: str | None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> None:
        """One log row of ``row``'s move from ``before`` to its state now, in the session's unit of work (actor and
        note cut to their columns); the caller commits."""
        session.add(
            cls(
                **{cls.subject: row.id},
                ts=ts,
                actor=actor[:64],
                action=action,
                from_state=before,
                to_state=row.state,
                note=note[:2000],
                data=data,
            )
        )


class HiddenDanger(Base):
    """A hidden danger of the register (隐患, ``engine.hidden_dangers``): what, where, its grade, owner, deadline,
    a major one's rectification plan, and where the workflow stands. Written only by ``store.hidden_dangers``."""

    __tablename__ = "hidden_danger"
    __table_args__ = (Index("ix_hidden_danger_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    zone: Mapped[str | None] = mapped_column(String(64))
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))  # dispatcher | phone
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(16))  # general | major
    owner: Mapped[str | None] = mapped_column(String(120))
    deadline_ms: Mapped[int | None] = mapped_column(BigInteger)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    rectified_at: Mapped[int | None] = mapped_column(BigInteger)
    rectified_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    escalation: Mapped[int] = mapped_column(Integer, default=0)
    has_photo: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class HiddenDangerPhoto(Base):
    """The photo of a hidden danger's report (JPEG, PNG or WebP as checked on upload), kept apart from the list."""

    __tablename__ = "hidden_danger_photo"

    danger_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mime: Mapped[str] = mapped_column(String(32))
    data: Mapped[bytes] = mapped_column(LargeBinary)


class HiddenDangerLog(_StateLog, Base):
    """Every move of a hidden danger (report, assess, assign, plan, rectify, verify, reject, escalate): who, when,
    from which state to which, the note and the fields set. Only ever appended to."""

    __tablename__ = "hidden_danger_log"
    __table_args__ = (Index("ix_hidden_danger_log_danger", "danger_id", "id"),)
    subject = "danger_id"

    danger_id: Mapped[int] = mapped_column(Integer)


class Emergency(Base):
    """An emergency (H5): proposed from an urgent alarm, declared by a dispatcher, ended with a summary.

    ``state``: proposed | dismissed | active | ended. The danger area is the plan's, with ``radius_m`` (the
    plan's radius, or larger once the dispatcher grows it); ``muster_event`` is the muster declared with it.
    """

    __tablename__ = "emergency"
    __table_args__ = (Index("ix_emergency_state", "state", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(12))
    plan: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    zone: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(Integer)
    radius_m: Mapped[float] = mapped_column(Float)
    proposed_ms: Mapped[int | None] = mapped_column(BigInteger)
    alarm: Mapped[str | None] = mapped_column(String(128))  # the alarm that proposed it
    declared_ms: Mapped[int | None] = mapped_column(BigInteger)
    declared_by: Mapped[str | None] = mapped_column(String(64))
    ended_ms: Mapped[int | None] = mapped_column(BigInteger)
    ended_by: Mapped[str | None] = mapped_column(String(64))
    muster_event: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class EmergencyStep(Base):
    """The timeline of an emergency, append-only: declared, an action done or reopened, the danger area grown,
    notifications sent, ended; who and when."""

    __tablename__ = "emergency_step"
    __table_args__ = (Index("ix_emergency_step", "emergency_id", "ts"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    emergency_id: Mapped[int] = mapped_column(Integer)
    ts: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(24))
    action: Mapped[str | None] = mapped_column(String(64))
    user: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class WorkPermit(Base):
    """A special-work permit (GB 30871-2022, ``engine.permits``): kind, grade, the work, its place (work point and
    area in plant metres), its guardian's and crew's badges, validity, approvals, isolations, the last gas analysis
    and where the lifecycle stands. Written only by ``store.permits``."""

    __tablename__ = "work_permit"
    __table_args__ = (Index("ix_work_permit_state", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    zone: Mapped[str | None] = mapped_column(String(64))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    area: Mapped[list[Any]] = mapped_column(JSON)
    guardian: Mapped[str | None] = mapped_column(String(64))
    crew: Mapped[list[Any]] = mapped_column(JSON)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_to: Mapped[int] = mapped_column(BigInteger)
    isolations: Mapped[list[Any]] = mapped_column(JSON)
    applicant: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16))
    approvals: Mapped[list[Any]] = mapped_column(JSON)
    isolations_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    gas_test: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    activated_at: Mapped[int | None] = mapped_column(BigInteger)
    paused_at: Mapped[int | None] = mapped_column(BigInteger)
    suspend_reason: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)


class WorkPermitLog(_StateLog, Base):
    """Every step of a permit (apply, approve, gas test, isolate, activate, suspend, resume, close, expire): who,
    when, from which state to which, the note and the facts. Only ever appended to."""

    __tablename__ = "work_permit_log"
    __table_args__ = (Index("ix_work_permit_log_permit", "permit_id", "id"),)
    subject = "permit_id"

    permit_id: Mapped[int] = mapped_column(Integer)


class Incident(Base):
    """An incident record (S5): a replay window saved with its title, trends, notes, findings and the alarms and
    events it concerns; ``areas`` (of its zones) decide which on-call users see it."""

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_t0", "t0"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(200))
    t0: Mapped[int] = mapped_column(BigInteger)
    t1: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[int | None] = mapped_column(BigInteger)  # the moment it opens at
    tags: Mapped[list[str] | None] = mapped_column(JSON)
    zones: Mapped[list[str] | None] = mapped_column(JSON)
    areas: Mapped[list[str] | None] = mapped_column(JSON)
    alarms: Mapped[list[str] | None] = mapped_column(JSON)
    events: Mapped[list[int] | None] = mapped_column(JSON)
    notes: Mapped[str] = mapped_column(Text, default="")
    findings: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16), default="range")  # alarm | event | muster | range
    ref: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))


class ReportSchedule(Base):
    """A report run on a schedule: after each shift, daily at a local time, or monthly on a day at a time.

    ``last_end`` is the end (UTC ms) of the newest period this schedule issued: a run missed while the
    service was down is the period after it, issued once on the service's return."""

    __tablename__ = "report_schedule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # shift | day | month
    lang: Mapped[str] = mapped_column(String(8))
    formats: Mapped[str] = mapped_column(String(64))  # comma separated: pdf,xlsx,csv,template
    at_minute: Mapped[int] = mapped_column(Integer, default=0)  # local minutes after the period's end
    named: Mapped[bool] = mapped_column(Boolean, default=True)  # person names in the report
    recipients: Mapped[str | None] = mapped_column(String(400))  # on-call file person ids, comma separated
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_end: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[int] = mapped_column(BigInteger)


class ReportIssue(Base):
    """An issued report file (archive): period, kind, language, format, version of that period, who or which
    schedule, when, and the SHA-256 of the file under the data directory. Never updated: a reissue is a new
    version."""

    __tablename__ = "report_issue"
    __table_args__ = (
        Index("ix_report_issue_period", "kind", "period", "lang", "fmt", "named", "version", unique=True),
        Index("ix_report_issue_ts", "ts"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    period: Mapped[str] = mapped_column(String(32))  # 2026-12-06, 2026-12-06/B (shift), 2026-11 (month)
    t0: Mapped[int] = mapped_column(BigInteger)
    t1: Mapped[int] = mapped_column(BigInteger)
    lang: Mapped[str] = mapped_column(String(8))
    fmt: Mapped[str] = mapped_column(String(16))  # pdf | xlsx | csv | template
    named: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer)
    ts: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str | None] = mapped_column(String(64))
    schedule_id: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    path: Mapped[str] = mapped_column(String(400))  # relative to the reports directory


class StockItem(Base):
    """A material or spare part kept in stock: its code, names, unit, reorder level and where it is kept, with
    the quantities on open orders and reserved (for the projected stock). Quantities are stored in thousandths
    of the unit (``*_milli``), so they add up exactly on every database. What is on hand and its value are the
    item's ledger (:class:`StockLedger`), never a column here."""

    __tablename__ = "stock_item"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    name_zh: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(8))
    warehouse: Mapped[str] = mapped_column(String(120), default="")
    reorder_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    ordered_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_milli: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(64))


class StockLedger(Base):
    """One entry of the stock ledger, append-only (the database refuses an UPDATE or DELETE of a row): a
    receipt, issue or adjustment of an item, signed (``qty_milli`` > 0 in, < 0 out), its value at the moving
    average cost (in cents), who and when, and the item's position after it (on hand, average cost in
    ten-thousandths, stock value in cents)."""

    __tablename__ = "stock_ledger"
    __table_args__ = (Index("ix_stock_ledger_item", "item_id", "id"), Index("ix_stock_ledger_ts", "ts"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    item_id: Mapped[int] = mapped_column(Integer)
    ts: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # engine.stock.Kind
    qty_milli: Mapped[int] = mapped_column(BigInteger)
    unit_cost_e4: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # receipts: cost per unit x 10^4
    value_cents: Mapped[int] = mapped_column(BigInteger)  # the entry's value, signed like qty
    on_hand_milli: Mapped[int] = mapped_column(BigInteger)
    avg_cost_e4: Mapped[int] = mapped_column(BigInteger)
    stock_value_cents: Mapped[int] = mapped_column(BigInteger)
    user: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(120), default="")  # a delivery note, a work order, a file
    note: Mapped[str] = mapped_column(Text, default="")


class EnergyForecast(Base):
    """A forecast of a medium's site total for one plant day, as it was issued (``store.forecasts``): never
    updated nor deleted (the store refuses it, and so does a trigger in the database), so its real error is
    measured once the day has passed. A second issue on the same plant day for the same target day is a new
    version; the first one is the one judged."""

    __tablename__ = "energy_forecast"
    __table_args__ = (
        Index("ix_energy_forecast_issue", "medium", "meter", "issue_day", "target_day", "version", unique=True),
        Index("ix_energy_forecast_target", "medium", "target_day"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issued_at: Mapped[int] = mapped_column(BigInteger)  # UTC ms
    issue_day: Mapped[str] = mapped_column(String(10))  # the plant day it was issued on, 2026-03-02
    medium: Mapped[str] = mapped_column(String(32))
    meter: Mapped[str] = mapped_column(String(200))  # the meter tree's root(s) whose sum is forecast, "+" joined
    target_day: Mapped[str] = mapped_column(String(10))
    target_t0: Mapped[int] = mapped_column(BigInteger)  # the target day's [t0, t1), UTC ms
    target_t1: Mapped[int] = mapped_column(BigInteger)
    horizon: Mapped[int] = mapped_column(Integer)  # 1: the day it was issued on, 2: the next day, ...
    value: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(16))
    plan: Mapped[float | None] = mapped_column(Float)  # the planned production it was applied to (t)
    driver: Mapped[str] = mapped_column(String(64))  # the intensity whose counters are the production
    model: Mapped[str] = mapped_column(String(64))  # engine.forecast.MODEL
    inputs: Mapped[str] = mapped_column(String(64))  # engine.forecast.inputs_version of its inputs
    plan_version: Mapped[int | None] = mapped_column(Integer)  # the newest plan version it read
    version: Mapped[int] = mapped_column(Integer)


class SafetyIndexPoint(Base):
    """The safety early-warning index of a zone or of the plant (zone ``_plant``) at one minute
    (``store.safety_index``): written by the safety service, never changed; the retention service deletes the
    points past its window."""

    __tablename__ = "safety_index_point"

    zone: Mapped[str] = mapped_column(String(64), primary_key=True)  # a zone's id, or "_plant"
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # UTC ms, on the minute
    value: Mapped[float] = mapped_column(Float)  # 0-100
    colour: Mapped[str] = mapped_column(String(8))  # blue, yellow, orange, red (with hysteresis)
    parts: Mapped[dict[str, float]] = mapped_column(JSON)  # part -> 0-100 (the plant's: its worst zone's)


class AppendOnlyError(RuntimeError):
    """An issued forecast was about to be changed or deleted."""


@event.listens_for(Session, "before_flush")
def _forecasts_append_only(session: Session, _ctx: Any, _instances: Any) -> None:
    """The store refuses to change or delete an issued forecast (the database's trigger refuses it too)."""
    for obj in session.deleted:
        if isinstance(obj, EnergyForecast):
            raise AppendOnlyError("issued forecasts are append-only: none is deleted")
    for obj in session.dirty:
        if isinstance(obj, EnergyForecast) and session.is_modified(obj):
            raise AppendOnlyError("issued forecasts are append-only: none is changed")
