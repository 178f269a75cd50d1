"""ParquetRecorder without a server: synthetic batches in, files and
checkpoints out; recovery of what an interrupted checkpoint leaves."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")
ds = pytest.importorskip("pyarrow.dataset")
pq = pytest.importorskip("pyarrow.parquet")

from mdstream import RESULT_DTYPE, InvalidArgumentError  # noqa: E402
from mdstream.batch import Gap, ResultBatch  # noqa: E402
from mdstream.record import ParquetRecorder  # noqa: E402
from mdstream.record import layout  # noqa: E402

SYMBOLS = ["AAA", "B/B", "CCC"]          # a name that needs encoding in a path
DAY = 86_400 * 10**9
T0 = 18_314 * DAY                        # 2020-02-22 00:00 UTC
PART = re.compile(r"^part-\d{20}-\d{20}\.parquet$")


def batch(first: int, n: int, *, day_of=None, gap: Gap | None = None) -> ResultBatch:
    """n results from seq first: symbols and kinds in turn, 1 ms apart from T0."""
    rows = np.zeros(n, RESULT_DTYPE)
    seq = np.arange(first, first + n, dtype=np.int64)
    rows["seq"] = seq
    rows["ts_ns"] = T0 + seq * 1_000_000 if day_of is None else day_of(seq)
    rows["symbol_id"] = seq % len(SYMBOLS)
    rows["kind"] = (seq // 3) % 2
    rows["price"] = 100 + seq * 0.25
    rows["size"] = seq % 7
    return ResultBatch(rows, SYMBOLS, gap)


def read(directory) -> pa.Table:
    return ds.dataset(directory, partitioning="hive").to_table().sort_by("seq")


def parts(directory) -> list:
    return sorted(p for p in directory.rglob("part-*.parquet"))


def test_rows_come_back_once_with_their_values(tmp_path):
    with ParquetRecorder(tmp_path, flush_rows=50) as rec:
        for first in range(0, 1000, 100):
            rec.write(batch(first, 100))
    t = read(tmp_path)
    assert t["seq"].to_pylist() == list(range(1000))
    want = batch(0, 1000)
    np.testing.assert_array_equal(t["price"].to_numpy(), want.price)
    np.testing.assert_array_equal(t["ts_ns"].to_numpy(), want.ts_ns)
    assert t["kind"].to_pylist() == [("trade", "quote")[k] for k in want.kind]
    assert t["symbol"].to_pylist() == list(want.symbol_names())
    assert set(t["date"].to_pylist()) == {"2020-02-22"}
    assert rec.stats()["rows"] == 1000 and rec.last_seq == 999


def test_layout_by_date_and_symbol(tmp_path):
    # Half the rows on 2020-02-22, half on 2020-02-23 (UTC).
    def two_days(seq):
        return T0 + (seq >= 30) * DAY + seq

    with ParquetRecorder(tmp_path, partition_by="symbol") as rec:
        rec.write(batch(0, 60, day_of=two_days))
    names = sorted(str(p.relative_to(tmp_path).parent) for p in parts(tmp_path))
    assert names == [f"date=2020-02-2{d}/symbol={s}" for d in (2, 3) for s in ("AAA", "B%2FB", "CCC")]
    assert all(PART.match(p.name) for p in parts(tmp_path))
    t = read(tmp_path)
    assert sorted(set(t["symbol"].to_pylist())) == sorted(SYMBOLS)   # decoded from the path
    assert t.filter(pa.compute.equal(t["date"], "2020-02-23"))["seq"].to_pylist() == list(range(30, 60))
    # kind stays a column of the files when they are partitioned by symbol
    assert set(t["kind"].to_pylist()) == {"trade", "quote"}


def test_flush_rows_rolls_files_and_the_buffer_stays_bounded(tmp_path):
    rec = ParquetRecorder(tmp_path, flush_rows=10_000, max_buffered_rows=250, flush_interval=0)
    most = 0
    for first in range(0, 5000, 100):
        rec.write(batch(first, 100))
        most = max(most, rec.stats()["buffered"])
    rec.close()
    assert most < 250 + 100
    assert rec.stats()["checkpoints"] >= 5000 // 350
    per_partition = {}
    for p in parts(tmp_path):
        per_partition.setdefault(p.parent, []).append(p)
    assert all(len(files) >= 10 for files in per_partition.values())
    assert read(tmp_path)["seq"].to_pylist() == list(range(5000))


def test_one_full_partition_writes_them_all(tmp_path):
    rec = ParquetRecorder(tmp_path, flush_rows=40, flush_interval=0)
    rec.write(batch(0, 90))          # 45 of kind trade, 45 quote: over 40
    assert rec.stats()["buffered"] == 0 and rec.last_seq == 89
    names = {p.name for p in parts(tmp_path)}
    assert names == {layout.part_name(0, 89)}                  # one checkpoint, one name
    state = json.loads((tmp_path / layout.STATE_FILE).read_text())
    assert state["last_seq"] == 89 and state["files"] == 2
    rec.close()


def test_a_gap_is_logged_counted_and_kept(tmp_path, caplog):
    with ParquetRecorder(tmp_path) as rec:
        rec.write(batch(0, 10))
        rec.write(batch(50, 10, gap=Gap(10, 50, 40)))
    assert rec.stats()["gaps"] == 1 and rec.stats()["missed"] == 40
    assert "seq 10 to 49" in caplog.text
    gap = json.loads(layout.gap_path(tmp_path, 10, 50).read_text())
    assert (gap["from_seq"], gap["to_seq"], gap["missed"]) == (10, 50, 40)
    assert read(tmp_path)["seq"].to_pylist() == list(range(10)) + list(range(50, 60))


def test_restart_continues_and_drops_what_is_recorded(tmp_path):
    with ParquetRecorder(tmp_path) as rec:
        rec.write(batch(0, 100))
    rec = ParquetRecorder(tmp_path)
    assert rec.resume_seq == 100
    rec.write(batch(80, 40))         # a stream opened too early: 80..99 are dropped
    rec.close()
    assert rec.duplicates == 20
    assert read(tmp_path)["seq"].to_pylist() == list(range(120))
    assert rec.stats()["rows"] == 120


def test_position_without_rows_is_recorded(tmp_path):
    with ParquetRecorder(tmp_path) as rec:
        rec.write(batch(0, 5))
        rec.write(batch(5, 0), position=41)    # a heartbeat: nothing of ours up to 41
    assert ParquetRecorder(tmp_path).resume_seq == 42


def test_an_unfinished_checkpoint_is_removed(tmp_path):
    with ParquetRecorder(tmp_path) as rec:
        rec.write(batch(0, 60))
    # A later checkpoint that crashed after one of its files (and with a temporary file left)
    # and after its gap file.
    done = parts(tmp_path)
    orphan = done[0].with_name(layout.part_name(60, 119))
    shutil.copy(done[0], orphan)
    (orphan.parent / ".part-x.parquet.tmp").write_bytes(b"half")
    (tmp_path / layout.GAPS_DIR).mkdir()
    layout.gap_path(tmp_path, 70, 80).write_text("{}")
    rec = ParquetRecorder(tmp_path)
    assert rec.resume_seq == 60
    assert rec.recovery.removed_files == 2 and rec.recovery.removed_temporary == 1
    assert parts(tmp_path) == done
    assert not list((tmp_path / layout.GAPS_DIR).iterdir())


def test_without_the_state_file_the_files_tell(tmp_path):
    with ParquetRecorder(tmp_path, flush_rows=30, flush_interval=0) as rec:
        rec.write(batch(0, 60))
        rec.write(batch(60, 60))
    done = parts(tmp_path)
    (tmp_path / layout.STATE_FILE).unlink()
    # the newest checkpoint lost one of its two files: it does not count
    newest = [p for p in done if p.name == layout.part_name(60, 119)]
    newest[0].unlink()
    rec = ParquetRecorder(tmp_path)
    assert rec.resume_seq == 60
    assert not any(p.name == layout.part_name(60, 119) for p in parts(tmp_path))


def test_settings_are_checked(tmp_path):
    with pytest.raises(InvalidArgumentError, match="partition_by"):
        ParquetRecorder(tmp_path, partition_by="day")
    with pytest.raises(InvalidArgumentError):
        ParquetRecorder(tmp_path, flush_rows=0)
    ParquetRecorder(tmp_path / "a").close()
    with ParquetRecorder(tmp_path / "a") as rec:
        rec.write(batch(0, 3))
    with pytest.raises(InvalidArgumentError, match="partitioned by kind"):
        ParquetRecorder(tmp_path / "a", partition_by="symbol")


def test_datetimes(tmp_path):
    with ParquetRecorder(tmp_path, datetimes=True) as rec:
        rec.write(batch(0, 3))
    t = read(tmp_path)
    assert t.schema.field("ts_ns").type == pa.timestamp("ns", tz="UTC")


def test_flush_interval_writes_by_time(tmp_path):
    import time

    rec = ParquetRecorder(tmp_path, flush_interval=0.05)
    rec.write(batch(0, 10))
    assert rec.last_seq == -1 and rec.stats()["buffered"] == 10
    time.sleep(0.06)
    rec.write(batch(10, 0), position=10)          # a heartbeat is enough
    assert rec.last_seq == 10 and rec.stats()["buffered"] == 0
    rec.close()
