"""Plain records passed between collectors, simulator backfill, the store and the engine (no ORM objects),
and the OPC UA quality codes they carry."""

from __future__ import annotations

from typing import NamedTuple

# OPC UA status codes (Part 4/6) used as the quality of a sample. 0 is Good; the top two bits give
# the severity: 00 good, 01 uncertain, 10/11 bad.
GOOD = 0x00000000
BAD = 0x80000000
BAD_OUT_OF_RANGE = 0x803C0000  # NaN/inf in a numeric tag
BAD_NO_COMMUNICATION = 0x80310000  # marks the start of an outage gap
BAD_TYPE_MISMATCH = 0x80740000
UNCERTAIN = 0x40000000
# Read back from the server's history after an outage (collectors.backfill), not received live. OPC UA's own
# spelling of "this value came from a history read, raw": InfoType DataValue (bits 10-11 = 01) with the
# historian bits "Raw" (00); the severity bits are untouched, so a good value stays good (rollups take it).
BACKFILLED = 0x00000400


def is_good(quality: int) -> bool:
    return (quality & 0xC0000000) == 0


def is_bad(quality: int) -> bool:
    return (quality & 0x80000000) != 0


def is_backfilled(quality: int) -> bool:
    return (quality & BACKFILLED) != 0


class SampleIn(NamedTuple):
    """One value of one tag. ``ts`` is the OPC UA source timestamp, UTC milliseconds since epoch.

    ``value`` is None when the quality is bad (NaN, inf, outage marker).
    """

    tag_id: int
    ts: int
    value: float | None
    quality: int = GOOD


class PositionIn(NamedTuple):
    """One badge position in plant metres; ``ts`` in UTC epoch milliseconds."""

    badge: str
    ts: int
    x: float
    y: float
    floor: int = 0
    quality: int = GOOD


class WriteResult(NamedTuple):
    inserted: int
    duplicates: int
