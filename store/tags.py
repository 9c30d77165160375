"""The ``tag`` table mirrors the plant file's tags and gives each a stable integer id."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from plant.schema import Plant
from plant.schema import Tag as PlantTag
from store.models import Tag
from store.samples import upsert

logger = logging.getLogger(__name__)

TAG = Tag.__table__
_META = ("endpoint", "node_id", "kind", "unit", "medium", "ll", "l", "h", "hh", "equipment", "zone", "badge")


def _row(tag: PlantTag) -> dict[str, Any]:
    limits = tag.limits
    return {
        "name": tag.id,
        "endpoint": tag.endpoint,
        "node_id": tag.node_id,
        "kind": tag.kind.value,
        "unit": tag.unit,
        "medium": tag.medium.value if tag.medium is not None else None,
        "ll": limits.ll if limits else None,
        "l": limits.l if limits else None,
        "h": limits.h if limits else None,
        "hh": limits.hh if limits else None,
        "equipment": tag.equipment,
        "zone": tag.zone,
        "badge": tag.badge,
    }


def sync_tags(session: Session, plant: Plant) -> dict[str, int]:
    """Upsert the plant's tags by name and return ``{name: id}`` for them.

    Ids never change for a name, so samples stay attached across restarts and plant-file edits; the
    metadata (endpoint, node id, unit, limits, ...) follows the plant file. Tags that left the plant file
    keep their row (and history). Does not commit.
    """
    rows = [_row(t) for t in plant.tags]
    if not rows:
        return {}
    stmt = upsert(session, TAG)
    stmt = stmt.on_conflict_do_update(index_elements=[TAG.c.name], set_={k: stmt.excluded[k] for k in _META})
    session.execute(stmt, rows)
    names = [r["name"] for r in rows]
    ids = dict(session.execute(select(Tag.name, Tag.id).where(Tag.name.in_(names))).tuples().all())
    logger.debug("synced %d tags", len(ids))
    return ids


TAG_IDS_KEY = "sw_tag_ids"  # a read-only unit of work (a report) keeps the names read once in session.info


def tag_ids(session: Session) -> dict[str, int]:
    """``{name: id}`` of every tag in the table (read once per session by a caller that put
    :func:`keep_tag_ids` on a read-only session)."""
    kept = session.info.get(TAG_IDS_KEY)
    if kept is not None:
        return dict(kept)
    return dict(session.execute(select(Tag.name, Tag.id)).tuples().all())


def keep_tag_ids(session: Session) -> None:
    """Read the tag names once for the rest of this read-only session (it adds no tags)."""
    session.info[TAG_IDS_KEY] = dict(session.execute(select(Tag.name, Tag.id)).tuples().all())


def tags_by_id(session: Session, ids: list[int] | None = None) -> dict[int, Tag]:
    """Tag rows keyed by id (all of them, or those in ``ids``)."""
    stmt = select(Tag)
    if ids is not None:
        stmt = stmt.where(Tag.id.in_(ids))
    return {t.id: t for t in session.scalars(stmt)}
