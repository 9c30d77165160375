"""Store-and-forward spool: append-only segment files on disk, used while the database is unavailable.

Layout: ``<dir>/<seq:012d>.seg``, oldest = lowest sequence number. Each record is framed as

    magic b"SWR1" | payload length (uint32 LE) | CRC-32 of length+payload (uint32 LE) | payload

and written with one ``os.write`` call on an ``O_APPEND`` descriptor, so a process killed with SIGKILL
leaves every completed record in the file (the kernel has it); ``fsync`` runs at most every
``fsync_interval_s`` for power-loss durability. A torn final record (a kill in the middle of a write) is
detected by its length or checksum and skipped and counted, not fatal; reading resynchronises on the
next magic so a damaged record in the middle costs only that record.

A process owns the directory through an ``flock`` on ``<dir>/.lock``; each process start appends to a
new segment, so segments left by a crashed run are complete files that can be replayed in order.
A segment is deleted (by the caller, via :meth:`Spool.delete`) only after its rows are committed.

Payloads are opaque here; :func:`encode_chunk` / :func:`decode_chunk` give the collector's format.
Not thread-safe: one owner thread (the writer's executor thread) uses a spool.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import struct
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from collectors.records import Chunk, EventIn
from engine.types import PositionIn, SampleIn

logger = logging.getLogger(__name__)

MAGIC = b"SWR1"
_HEADER = struct.Struct("<4sII")
MAX_RECORD = 256 * 1024 * 1024
SEGMENT_SUFFIX = ".seg"


@dataclass
class SpoolStats:
    records_written: int = 0
    records_read: int = 0
    torn: int = 0  # records skipped because they were cut short or failed their checksum
    segments_deleted: int = 0


class SpoolLockedError(RuntimeError):
    """Another process owns this spool directory."""


class Spool:
    def __init__(self, directory: Path, *, segment_bytes: int = 4 * 1024 * 1024, fsync_interval_s: float = 1.0) -> None:
        self.dir = Path(directory)
        self.segment_bytes = segment_bytes
        self.fsync_interval_s = fsync_interval_s
        self.stats = SpoolStats()
        self._lock_fd: int | None = None
        self._fd: int | None = None
        self._active: Path | None = None
        self._active_size = 0
        self._next_seq = 1
        self._last_fsync = 0.0
        self._dirty = False
        self._bytes = 0

    # -- lifecycle ---------------------------------------------------------------------------------

    def open(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise SpoolLockedError(f"spool {self.dir} is in use by another process") from exc
        self._lock_fd = fd
        segs = self.segments()
        self._next_seq = (int(segs[-1].stem) + 1) if segs else 1
        self._bytes = sum(p.stat().st_size for p in segs)
        if segs:
            logger.info("spool %s: %d segment(s), %d bytes left from an earlier run", self.dir, len(segs), self._bytes)

    def close(self) -> None:
        self.seal()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> Spool:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------------------------

    def append(self, payload: bytes) -> int:
        """Append one record; returns the bytes written."""
        if len(payload) > MAX_RECORD:
            raise ValueError(f"spool record of {len(payload)} bytes is over the {MAX_RECORD} limit")
        if self._fd is None or self._active_size >= self.segment_bytes:
            self._rotate()
        assert self._fd is not None
        length = struct.pack("<I", len(payload))
        crc = zlib.crc32(payload, zlib.crc32(length))
        frame = _HEADER.pack(MAGIC, len(payload), crc) + payload
        view = memoryview(frame)
        while view:  # one write for regular files; the loop only guards against short writes
            n = os.write(self._fd, view)
            view = view[n:]
        self._active_size += len(frame)
        self._bytes += len(frame)
        self.stats.records_written += 1
        self._dirty = True
        now = time.monotonic()
        if self.fsync_interval_s >= 0 and now - self._last_fsync >= self.fsync_interval_s:
            self.sync()
        return len(frame)

    def sync(self) -> None:
        if self._fd is not None and self._dirty:
            os.fsync(self._fd)
            self._dirty = False
        self._last_fsync = time.monotonic()

    def seal(self) -> None:
        """Close the active segment so that it can be replayed; the next append starts a new one."""
        if self._fd is None:
            return
        self.sync()
        os.close(self._fd)
        self._fd = None
        if self._active is not None and self._active_size == 0:
            self._active.unlink(missing_ok=True)
        self._active = None
        self._active_size = 0

    def _rotate(self) -> None:
        self.seal()
        path = self.dir / f"{self._next_seq:012d}{SEGMENT_SUFFIX}"
        self._next_seq += 1
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._active = path
        self._active_size = 0
        _fsync_dir(self.dir)

    # -- reading -----------------------------------------------------------------------------------

    def segments(self) -> list[Path]:
        """All segments, oldest first (including the active one)."""
        return sorted(p for p in self.dir.glob(f"*{SEGMENT_SUFFIX}") if p.stem.isdigit())

    def sealed_segments(self) -> list[Path]:
        return [p for p in self.segments() if p != self._active]

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def has_pending(self) -> bool:
        return self._bytes > 0

    def read(self, path: Path) -> Iterator[bytes]:
        """The intact records of one segment, in order; torn or corrupt ones are skipped and counted."""
        data = path.read_bytes()
        pos, end = 0, len(data)
        while pos < end:
            if end - pos < _HEADER.size:
                self._torn(path, pos, "truncated header")
                return
            magic, length, crc = _HEADER.unpack_from(data, pos)
            if magic != MAGIC:
                nxt = data.find(MAGIC, pos + 1)
                self._torn(path, pos, "bad magic")
                if nxt < 0:
                    return
                pos = nxt
                continue
            start = pos + _HEADER.size
            stop = start + length
            if length > MAX_RECORD or stop > end:
                self._torn(path, pos, "record runs past the end of the segment")
                nxt = data.find(MAGIC, pos + 1)
                if nxt < 0:
                    return
                pos = nxt
                continue
            payload = data[start:stop]
            if zlib.crc32(payload, zlib.crc32(struct.pack("<I", length))) != crc:
                self._torn(path, pos, "checksum mismatch")
                nxt = data.find(MAGIC, pos + 1)
                if nxt < 0:
                    return
                pos = nxt
                continue
            self.stats.records_read += 1
            yield payload
            pos = stop

    def delete(self, path: Path) -> None:
        """Forget a segment whose records are committed to the database."""
        if path == self._active:
            self.seal()
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return
        path.unlink()
        _fsync_dir(self.dir)
        self._bytes = max(0, self._bytes - size)
        self.stats.segments_deleted += 1

    def quarantine(self, path: Path) -> Path:
        """Move a segment the database keeps refusing out of the replay order (kept for inspection)."""
        if path == self._active:
            self.seal()
        size = path.stat().st_size
        target = path.with_suffix(".bad")
        path.rename(target)
        self._bytes = max(0, self._bytes - size)
        logger.error("spool segment %s moved aside to %s: the database refuses its records", path.name, target.name)
        return target

    def _torn(self, path: Path, pos: int, why: str) -> None:
        self.stats.torn += 1
        logger.warning("spool %s: skipping damaged record at byte %d (%s)", path.name, pos, why)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- the collector's record payload ----------------------------------------------------------------

_SAMPLE = struct.Struct("<iqdIB")  # tag_id, ts, value (NaN when None), quality, has_value
_CHUNK_HEAD = struct.Struct("<BHI")  # version, endpoint length, sample count
_VERSION = 1


def encode_chunk(chunk: Chunk) -> bytes:
    endpoint = chunk.endpoint.encode()
    parts = [_CHUNK_HEAD.pack(_VERSION, len(endpoint), len(chunk.samples)), endpoint]
    pack = _SAMPLE.pack
    nan = float("nan")
    parts.extend(
        pack(s.tag_id, s.ts, nan if s.value is None else s.value, s.quality, s.value is not None) for s in chunk.samples
    )
    tail = {"p": [list(p) for p in chunk.positions], "e": [list(e) for e in chunk.events]}
    parts.append(json.dumps(tail, separators=(",", ":")).encode())
    return b"".join(parts)


def decode_chunk(payload: bytes) -> Chunk:
    version, n_endpoint, n_samples = _CHUNK_HEAD.unpack_from(payload, 0)
    if version != _VERSION:
        raise ValueError(f"unknown spool record version {version}")
    pos = _CHUNK_HEAD.size
    endpoint = payload[pos : pos + n_endpoint].decode()
    pos += n_endpoint
    stop = pos + n_samples * _SAMPLE.size
    samples = [
        SampleIn(tag_id, ts, value if has else None, quality)
        for tag_id, ts, value, quality, has in _SAMPLE.iter_unpack(payload[pos:stop])
    ]
    tail = json.loads(payload[stop:])
    positions = [PositionIn(*p) for p in tail["p"]]
    events = [EventIn(*e) for e in tail["e"]]
    return Chunk(endpoint, samples, positions, events)
