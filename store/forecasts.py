"""Issued energy forecasts (``energy_forecast``): stored when issued, never changed.

:func:`add_issue` stores the forecasts of one issue (one medium's site total, the days ahead) with the next
version of each (medium, meter, issue day, target day): a second issue on the same plant day is a new version
beside the first, which stays as it was. The store refuses to change or delete an issued row: a session that
flushes a changed or deleted :class:`EnergyForecast` raises :class:`AppendOnlyError` (and the database's own
trigger refuses a raw UPDATE or DELETE, migration 0017). :func:`first_issues` reads the first version of each
forecast whose target day falls in a range, the one judged against what came. Functions take a session and
never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import AppendOnlyError, EnergyForecast

__all__ = ["AppendOnlyError", "Issued", "add_issue", "first_issues", "has_issue"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Issued:
    """One forecast of an issue, before it is stored."""

    target_day: str
    target_t0: int
    target_t1: int
    horizon: int
    value: float
    low: float
    high: float
    plan: float | None


def has_issue(session: Session, medium: str, meter: str, issue_day: str) -> bool:
    """Whether a forecast of the medium's ``meter`` was issued on the plant day ``issue_day``."""
    stmt = select(EnergyForecast.id).where(
        EnergyForecast.medium == medium, EnergyForecast.meter == meter, EnergyForecast.issue_day == issue_day
    )
    return session.scalar(stmt.limit(1)) is not None


def add_issue(
    session: Session,
    *,
    medium: str,
    meter: str,
    issue_day: str,
    issued_at: int,
    unit: str,
    driver: str,
    model: str,
    inputs: str,
    plan_version: int | None,
    rows: Sequence[Issued],
) -> list[EnergyForecast]:
    """Store one issue's forecasts, each as the next version of its (medium, meter, issue day, target day);
    flushes, the caller commits."""
    out: list[EnergyForecast] = []
    for r in rows:
        prev = session.scalar(
            select(func.max(EnergyForecast.version)).where(
                EnergyForecast.medium == medium,
                EnergyForecast.meter == meter,
                EnergyForecast.issue_day == issue_day,
                EnergyForecast.target_day == r.target_day,
            )
        )
        row = EnergyForecast(
            issued_at=issued_at,
            issue_day=issue_day,
            medium=medium,
            meter=meter,
            target_day=r.target_day,
            target_t0=r.target_t0,
            target_t1=r.target_t1,
            horizon=r.horizon,
            value=r.value,
            low=r.low,
            high=r.high,
            unit=unit,
            plan=r.plan,
            driver=driver,
            model=model,
            inputs=inputs,
            plan_version=plan_version,
            version=int(prev or 0) + 1,
        )
        session.add(row)
        out.append(row)
    session.flush()
    return out


def first_issues(session: Session, medium: str, first_day: str, last_day: str) -> list[EnergyForecast]:
    """The first version of every forecast of ``medium`` whose target day is in ``[first_day, last_day]``
    (ISO dates), newest target first, then the shortest horizon first."""
    f = EnergyForecast
    firsts = (
        select(f.meter, f.issue_day, f.target_day, func.min(f.version).label("v"))
        .where(f.medium == medium, f.target_day >= first_day, f.target_day <= last_day)
        .group_by(f.meter, f.issue_day, f.target_day)
        .subquery("firsts")
    )
    stmt = (
        select(f)
        .join(
            firsts,
            (f.meter == firsts.c.meter)
            & (f.issue_day == firsts.c.issue_day)
            & (f.target_day == firsts.c.target_day)
            & (f.version == firsts.c.v),
        )
        .where(f.medium == medium)
        .order_by(f.target_day.desc(), f.horizon, f.id)
    )
    return list(session.scalars(stmt))
