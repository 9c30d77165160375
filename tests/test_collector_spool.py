"""collectors.spool: append-only, checksummed segments that survive a kill and detect torn records."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collectors.records import GAP, Chunk, EventIn
from collectors.spool import Spool, SpoolLockedError, decode_chunk, encode_chunk
from engine.types import BAD_NO_COMMUNICATION, PositionIn, SampleIn


def chunk(n: int = 3, base: int = 1_000) -> Chunk:
    return Chunk(
        "dcs",
        samples=[SampleIn(1, base + i, float(i), 0) for i in range(n)]
        + [SampleIn(2, base, None, BAD_NO_COMMUNICATION)],
        positions=[PositionIn("B1", base, 1.5, 2.5, 1, 0)],
        events=[EventIn(GAP, "dcs", base, base + 10, "warning", None, None, None, "gap", {"k": [1, 2]})],
    )


def test_chunk_roundtrip() -> None:
    c = chunk()
    back = decode_chunk(encode_chunk(c))
    assert back == c
    assert back.samples[-1].value is None
    assert decode_chunk(encode_chunk(Chunk("rtls"))) == Chunk("rtls")


def test_append_read_in_order_and_delete(tmp_path: Path) -> None:
    with Spool(tmp_path, segment_bytes=200, fsync_interval_s=0) as spool:
        payloads = [f"record {i}".encode() * 10 for i in range(10)]
        for p in payloads:
            spool.append(p)
        assert spool.has_pending() and spool.pending_bytes == sum(s.stat().st_size for s in spool.segments())
        segs = spool.segments()
        assert len(segs) > 1  # rotated by size
        spool.seal()
        got = [r for s in spool.sealed_segments() for r in spool.read(s)]
        assert got == payloads
        for s in spool.sealed_segments():
            spool.delete(s)
        assert not spool.has_pending() and spool.segments() == []


def test_reopen_continues_after_the_old_segments(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        spool.append(b"first run")
    with Spool(tmp_path) as spool:
        assert spool.pending_bytes > 0
        spool.append(b"second run")
        spool.seal()
        segs = spool.sealed_segments()
        assert len(segs) == 2
        assert [r for s in segs for r in spool.read(s)] == [b"first run", b"second run"]


def test_torn_final_record_is_skipped_and_counted(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        spool.append(b"a" * 100)
        spool.append(b"b" * 100)
        (seg,) = spool.segments()
    size = seg.stat().st_size
    os.truncate(seg, size - 30)  # a kill in the middle of the second write
    with Spool(tmp_path) as spool:
        assert list(spool.read(seg)) == [b"a" * 100]
        assert spool.stats.torn == 1
    os.truncate(seg, 5)  # even the first header cut short
    with Spool(tmp_path) as spool:
        assert list(spool.read(seg)) == []
        assert spool.stats.torn == 1


def test_corrupt_record_in_the_middle_costs_only_that_record(tmp_path: Path) -> None:
    with Spool(tmp_path) as spool:
        for ch in b"abc":
            spool.append(bytes([ch]) * 50)
        (seg,) = spool.segments()
    data = bytearray(seg.read_bytes())
    frame = len(data) // 3
    data[frame + 20] ^= 0xFF  # flip a payload byte of the second record
    seg.write_bytes(bytes(data))
    with Spool(tmp_path) as spool:
        assert list(spool.read(seg)) == [b"a" * 50, b"c" * 50]
        assert spool.stats.torn == 1


def test_one_owner_per_directory(tmp_path: Path) -> None:
    with Spool(tmp_path), pytest.raises(SpoolLockedError):
        Spool(tmp_path).open()
