"""The files of a Parquet recording: names, atomic writes, and recovery.

    DIR/
      _checkpoint.json                       the last complete checkpoint (replaced atomically)
      _gaps/gap-<from>-<to>.json             a gap of the stream (to exclusive), one file each
      date=2020-02-22/kind=trade/part-<from>-<to>.parquet
      date=2020-02-22/kind=quote/part-<from>-<to>.parquet
      ...                                    (symbol=<name> with partition_by="symbol")

A checkpoint writes every partition's buffered rows at once: each file holds
its partition's rows of the checkpoint's sequence numbers ``from`` to ``to``
(inclusive, zero-padded to 20 digits so names sort by sequence number), then
``_checkpoint.json`` records ``last_seq = to``. Every file is written to a
hidden temporary name (``.part-...tmp``), fsynced and renamed, so a crash
never leaves a half file under a real name; names starting with "." or "_"
are skipped by Parquet readers (pyarrow, pandas, DuckDB, Polars).

Recovery (on opening a directory): temporary files are deleted, the last
complete checkpoint is read from ``_checkpoint.json``, and part and gap files
of a later, unfinished checkpoint are deleted: their rows are recorded again
from ``last_seq + 1``. Without ``_checkpoint.json`` (a crash during the
first checkpoint, or the file was removed), the last complete checkpoint is
found from the part files themselves: each carries its checkpoint and how
many files it has in its Parquet key-value metadata.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from pathlib import Path
from urllib.parse import quote

from mdstream.files import fsync_dir, write_atomic

__all__ = ["STATE_FILE", "GAPS_DIR", "PARTITION_BY", "Recovery", "part_name", "partition_dir",
           "write_atomic", "fsync_dir", "recover", "gap_path", "META_CHECKPOINT",
           "META_FILES", "META_PARTITION_BY"]

STATE_FILE = "_checkpoint.json"
GAPS_DIR = "_gaps"
PARTITION_BY = ("kind", "symbol")
FORMAT = 1
META_CHECKPOINT = b"mdstream.checkpoint"          # b"<from>-<to>"
META_FILES = b"mdstream.checkpoint_files"          # files the checkpoint wrote, b"3"
META_PARTITION_BY = b"mdstream.partition_by"
_PART = re.compile(r"^part-(\d{20})-(\d{20})\.parquet$")
_GAP = re.compile(r"^gap-(\d{20})-(\d{20})\.json$")
_EPOCH = datetime.date(1970, 1, 1)


def part_name(first: int, last: int) -> str:
    """The file name of a partition's rows of checkpoint first..last."""
    return f"part-{first:020d}-{last:020d}.parquet"


def gap_path(directory: Path, from_seq: int, to_seq: int) -> Path:
    return directory / GAPS_DIR / f"gap-{from_seq:020d}-{to_seq:020d}.json"


def day_text(day: int) -> str:
    """Days since 1970-01-01 (UTC) as YYYY-MM-DD."""
    return (_EPOCH + datetime.timedelta(days=int(day))).isoformat()


def partition_dir(directory: Path, day: int, partition_by: str, value: str) -> Path:
    """DIR/date=YYYY-MM-DD/kind=trade, or .../symbol=NAME (the name
    percent-encoded, as Hive-style readers decode it)."""
    return directory / f"date={day_text(day)}" / f"{partition_by}={quote(value, safe='')}"


def write_json_atomic(path: Path, data: dict) -> None:
    write_atomic(path, lambda f: f.write((json.dumps(data, sort_keys=True) + "\n").encode()))
    fsync_dir(path.parent)


@dataclasses.dataclass
class Recovery:
    """What opening a recording found: ``last_seq`` (the last sequence number
    recorded, -1: none), the counters of the state file, and what was removed:
    ``removed_files`` (part and gap files of an unfinished checkpoint) and
    ``removed_temporary`` (temporary files of an interrupted write).
    ``stream_id``: the stream recorded (the server's Engine.stream_id; None
    for a recording that has not named one)."""

    last_seq: int = -1
    exists: bool = False
    partition_by: str | None = None
    rows: int = 0
    files: int = 0
    checkpoints: int = 0
    gaps: int = 0
    missed: int = 0
    removed_files: int = 0
    removed_temporary: int = 0
    stream_id: str | None = None

    def state(self) -> dict:
        return {"format": FORMAT, "last_seq": self.last_seq, "partition_by": self.partition_by,
                "rows": self.rows, "files": self.files, "checkpoints": self.checkpoints,
                "gaps": self.gaps, "missed": self.missed, "stream_id": self.stream_id}


def _part_files(directory: Path):
    """(first, last, path) of every part file of the recording."""
    for path in directory.glob("*=*/*=*/part-*.parquet"):
        m = _PART.match(path.name)
        if m:
            yield int(m.group(1)), int(m.group(2)), path


def _gap_files(directory: Path):
    gaps = directory / GAPS_DIR
    if gaps.is_dir():
        for path in gaps.iterdir():
            m = _GAP.match(path.name)
            if m:
                yield int(m.group(1)), int(m.group(2)), path


def _last_complete_from_files(parts) -> int:
    """The last checkpoint whose files are all there (only the newest one
    can be unfinished: each is complete and durable before the next)."""
    import pyarrow.parquet as pq

    groups: dict[tuple[int, int], list[Path]] = {}
    for first, last, path in parts:
        groups.setdefault((first, last), []).append(path)
    for (first, last) in sorted(groups, key=lambda k: k[1], reverse=True):
        paths = groups[(first, last)]
        try:
            meta = pq.read_metadata(paths[0]).metadata or {}
            expected = int(meta.get(META_FILES, b"0"))
        except Exception:  # noqa: BLE001 - an unreadable file: this checkpoint does not count
            expected = -1
        if expected == len(paths):
            return last
    return -1


def recover(directory: Path, partition_by: str) -> Recovery:
    """Open a recording directory (created if missing): remove what an
    interrupted checkpoint left, return the last sequence number recorded.
    Raises ValueError when the directory was recorded with another
    ``partition_by``."""
    from mdstream.errors import InvalidArgumentError

    directory.mkdir(parents=True, exist_ok=True)
    rec = Recovery(partition_by=partition_by)
    for tmp in list(directory.glob(".*.tmp")) + list(directory.glob("*/.*.tmp")) \
            + list(directory.glob("*=*/*=*/.*.tmp")):
        tmp.unlink(missing_ok=True)
        rec.removed_temporary += 1
    parts = list(_part_files(directory))
    state_path = directory / STATE_FILE
    if state_path.exists():
        state = json.loads(state_path.read_text())
        rec.exists = True
        for name in ("last_seq", "rows", "files", "checkpoints", "gaps", "missed"):
            setattr(rec, name, int(state.get(name, 0)))
        rec.stream_id = state.get("stream_id") or None
        if state.get("partition_by") not in (None, partition_by):
            raise InvalidArgumentError(
                f"{directory} is a recording partitioned by {state['partition_by']}, not "
                f"{partition_by}: write into another directory, or use "
                f"partition_by={state['partition_by']!r} (--partition-by {state['partition_by']})")
    elif parts:
        rec.exists = True
        rec.last_seq = _last_complete_from_files(parts)
        if rec.last_seq >= 0:
            kept = [p for p in parts if p[1] <= rec.last_seq]
            rec.files = len(kept)
            rec.checkpoints = len({(p[0], p[1]) for p in kept})
    for first, _last, path in parts:
        if first > rec.last_seq:
            path.unlink()
            rec.removed_files += 1
    for from_seq, _to, path in _gap_files(directory):
        if from_seq > rec.last_seq:
            path.unlink()
            rec.removed_files += 1
    if rec.removed_files or rec.removed_temporary:
        for path in {directory, *(p.parent for _, _, p in parts)}:
            if path.is_dir():
                fsync_dir(path)
    return rec
