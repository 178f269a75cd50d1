"""The journal's symbol list: every accepted name round-trips a restart with
its id, a torn last line is cut, and a journal of the earlier format
(symbols.txt, one name a line) still opens with its names and ids."""

from __future__ import annotations

import json

import pytest

import mdstream
from mdstream.errors import InvalidArgumentError, JournalError

# Accepted names that a naive line-based or unescaped format would break.
AWKWARD = ["AAPL", "Zürich AG", "株式会社", "EUR/USD", 'quo"te', "back\\slash", "\\u2028",
           "tab\u00a0nbsp", "emoji 📈", "x" * 256]


def publish_each(engine, names):
    for i, name in enumerate(names):
        engine.publish_trades(name, 100.0 + i, 1.0)


def journaled_names(directory):
    """(symbol name, price) of every journaled result, through a resumed subscription."""
    engine = mdstream.Engine(journal=directory)
    with engine:
        sub = engine.subscribe(from_seq=0, policy="block")
        engine.close_ingest()
        out = []
        for batch in sub:
            out += [(batch.symbols[int(r["symbol_id"])], float(r["price"])) for r in batch.rows]
        return list(engine.symbols), out


@pytest.mark.timeout(60)
def test_accepted_names_round_trip_a_restart_with_their_ids(tmp_path):
    with mdstream.Engine(journal=tmp_path) as engine:
        engine.add_symbols(AWKWARD)
        publish_each(engine, AWKWARD)
        engine.close_ingest()
        assert engine.wait(10)
    names, results = journaled_names(tmp_path)
    assert names == AWKWARD
    assert results == [(name, 100.0 + i) for i, name in enumerate(AWKWARD)]
    # The file is ASCII, one JSON string per line.
    lines = (tmp_path / "symbols.jsonl").read_bytes().decode("ascii").splitlines()
    assert [json.loads(line) for line in lines] == AWKWARD


@pytest.mark.timeout(60)
def test_four_symbols_stay_four_after_a_restart(tmp_path):
    four = ["A", "B", "C", "D"]
    with mdstream.Engine(symbols=four, journal=tmp_path) as engine:
        publish_each(engine, four)
        with pytest.raises(InvalidArgumentError, match="line separator"):
            engine.add_symbols(["E\u2028F"])
    names, results = journaled_names(tmp_path)
    assert names == four
    assert results == [(n, 100.0 + i) for i, n in enumerate(four)]


@pytest.mark.timeout(60)
def test_a_journal_of_the_earlier_format_still_opens(tmp_path):
    # The earlier version wrote symbols.txt, names joined by "\n", and
    # accepted names with U+2028, U+0085 or a CR inside, which it then split
    # on reading: they come back whole now.
    legacy = ["A\u2028x", "B", "C\u0085y", "D\rz"]
    with mdstream.Engine(symbols=["s0", "s1", "s2", "s3"], journal=tmp_path) as engine:
        publish_each(engine, ["s0", "s1", "s2", "s3"])
    (tmp_path / "symbols.jsonl").unlink()
    (tmp_path / "symbols.txt").write_bytes("".join(n + "\n" for n in legacy).encode())
    names, results = journaled_names(tmp_path)
    assert names == legacy
    assert results == [(n, 100.0 + i) for i, n in enumerate(legacy)]
    assert not (tmp_path / "symbols.txt").exists()          # converted
    # ... and the converted journal takes new symbols and opens again.
    with mdstream.Engine(journal=tmp_path) as engine:
        engine.add_symbols(["E"])
    names, _ = journaled_names(tmp_path)
    assert names == legacy + ["E"]


@pytest.mark.timeout(60)
def test_a_torn_last_line_is_cut_and_damage_elsewhere_is_an_error(tmp_path):
    with mdstream.Engine(symbols=["A", "B"], journal=tmp_path):
        pass
    path = tmp_path / "symbols.jsonl"
    with open(path, "ab") as f:
        f.write(b'"C')                                     # a crash while appending
    with mdstream.Engine(journal=tmp_path) as engine:
        assert list(engine.symbols) == ["A", "B"]
        engine.add_symbols(["C"])
    assert path.read_bytes() == b'"A"\n"B"\n"C"\n'
    path.write_bytes(b'"A"\nnot json\n"C"\n')
    with pytest.raises(JournalError, match="line 2"):
        mdstream.Engine(journal=tmp_path)
    # The failed open released the directory.
    path.write_bytes(b'"A"\n"B"\n')
    with mdstream.Engine(journal=tmp_path) as engine:
        assert list(engine.symbols) == ["A", "B"]
