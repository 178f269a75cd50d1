"""Text from outside never reaches the terminal raw: symbol names with escape
sequences are printed escaped by `mdstream subscribe` (format_result), by
`mdstream stats` (the rich view) and in the command's log and error lines,
all through mdstream.text.printable."""

from __future__ import annotations

import io
import logging
import re

import pytest

import mdstream
from mdstream.cli import logs, process
from mdstream.cli.output import format_result

# Clears the screen, sets the window title, rings the bell; and rich markup.
HOSTILE = "EVIL\x1b[2J\x1b]0;owned\x07"
ESCAPED = "EVIL\\x1b[2J\\x1b]0;owned\\x07"
MARKUP = "[blink]X[/blink]"

ROW = {"seq": 7, "kind": 0, "ts_ns": 0, "price": 1.5, "size": 2.0, "value": 3.0, "vwap": 1.5,
       "volume": 2.0, "bid": 0.0, "ask": 0.0, "bid_size": 0.0, "ask_size": 0.0, "open": 0.0,
       "high": 0.0, "low": 0.0, "trade_count": 1, "interval_ns": 0}


def assert_no_controls(text: str) -> None:
    assert not any(ord(c) < 0x20 and c != "\n" or 0x7f <= ord(c) < 0xa0 for c in text), repr(text)


def test_subscribe_lines_escape_the_symbol():
    line = format_result(HOSTILE, ROW)
    assert_no_controls(line)
    assert line.startswith(f"[PY] {ESCAPED} -> ")


def test_log_and_error_lines_escape_control_characters(capsys):
    record = logging.LogRecord("mdstream.feeds", logging.WARNING, __file__, 1,
                               "skipping a bad row of %s:\n%s", (HOSTILE, "next\rline"), None)
    line = logs.TextFormatter().format(record)
    assert_no_controls(line)
    assert line.endswith(f" warning mdstream.feeds: skipping a bad row of {ESCAPED}:\\nnext\\rline")
    process.error(f"unknown symbol: {HOSTILE}")
    err = capsys.readouterr().err
    assert err == f"mdstream: error: unknown symbol: {ESCAPED}\n"


def engine_with_names(directory, names):
    """An engine whose symbols are these names, accepted or not today: a
    journal of the earlier version could hold any of them (and a server of
    another version could send any name)."""
    with mdstream.Engine(symbols=[f"s{i}" for i in range(len(names))], journal=directory):
        pass
    (directory / "symbols.jsonl").unlink()
    (directory / "symbols.txt").write_text("".join(n + "\n" for n in names), encoding="utf-8")
    engine = mdstream.Engine(journal=directory)
    assert list(engine.symbols) == names
    return engine


@pytest.mark.timeout(60)
def test_the_stats_view_escapes_names_and_takes_no_markup_from_them(tmp_path):
    from rich.console import Console

    from mdstream.grpc.client import Client
    from mdstream.grpc.server import Server
    from mdstream.observe.stats_view import render

    engine = engine_with_names(tmp_path, [HOSTILE, MARKUP])
    server = Server(engine, "127.0.0.1", 0, detailed_stats=True).start()   # subscribers' names
    client = Client(f"127.0.0.1:{server.port}")
    try:
        engine.start()
        subs = [engine.subscribe([HOSTILE]), engine.subscribe([MARKUP])]
        client.wait_ready(10)
        out = io.StringIO()
        console = Console(file=out, width=200, color_system="truecolor", force_terminal=True)
        console.print(render(client.get_stats(), "target\x1b[31m"))
        for sub in subs:
            sub.close()
    finally:
        client.close()
        server.stop(grace=1.0)
        engine.stop()
    text = out.getvalue()
    # Only rich's own styling escapes (ESC [ ... m) remain.
    bare = re.sub(r"\x1b\[[0-9;]*m", "", text)
    assert_no_controls(bare)
    assert "\x1b[2J" not in text and "\x1b]0;" not in text and "\x07" not in text
    assert "EVIL\\x1b[2J" in bare            # the name, escaped (cut to the column's width)
    assert "[blink]X" in bare                # markup shown as text, not applied
    assert "\x1b[5m" not in text             # (blink)
    assert "target\\x1b[31m" in bare
