"""`mdstream serve --feed binance:...` against a local Binance-protocol server
(MDSTREAM_BINANCE_URL), with a Python gRPC client receiving the ticks."""

from __future__ import annotations

import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mdstream.grpc.client import Client  # noqa: E402
from venues.harness import running_venue  # noqa: E402
from venues.messages import binance_book, binance_trade  # noqa: E402
from venues.server import Hold, Send  # noqa: E402

pytestmark = pytest.mark.timeout(90)

T0 = 1_700_000_000_000
LISTENING = re.compile(r"gRPC server listening on 127\.0\.0\.1:(\d+)")


def test_serve_a_live_binance_feed_to_a_grpc_client(helpers, monkeypatch):
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "37000.5", "0.25", T0),
                         binance_book("btcusdt", 2, "37000.1", "1", "37000.9", "2"),
                         binance_trade("btcusdt", 2, "37001", "0.5", T0 + 1, True)), Hold())
        monkeypatch.setenv("MDSTREAM_BINANCE_URL", venue.url)
        cmd = helpers.mdstream_command("serve", "--port", "0", "--feed", "binance:btcusdt")
        with helpers.popen(cmd) as proc:
            port = int(LISTENING.search(helpers.read_line_matching(proc.stdout, "listening on")
                                        ).group(1))
            info = helpers.read_line_matching(proc.stdout, "binance")
            assert "BINANCE:BTCUSDT" in info and venue.url in info, info
            client = Client(f"127.0.0.1:{port}", timeout=10)
            rows = []
            try:
                for batch in client.stream_batches(from_seq=0, timeout=20):
                    rows += list(zip(batch.symbol_names(), batch.kind.tolist(),
                                     batch.price.tolist(), batch.size.tolist(),
                                     batch.ts_ns.tolist()))
                    if len(rows) >= 3:
                        break
            finally:
                client.close()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(20) == 0, proc.stderr.read()
    assert venue.subscriptions == [["btcusdt@trade", "btcusdt@bookTicker"]]
    assert [(r[0], r[1]) for r in rows] == [("BINANCE:BTCUSDT", 0), ("BINANCE:BTCUSDT", 1),
                                            ("BINANCE:BTCUSDT", 0)]
    assert (rows[0][2], rows[0][3], rows[0][4]) == (37000.5, 0.25, T0 * 1_000_000)
    assert (rows[2][2], rows[2][3]) == (37001.0, 0.5)


def test_serve_refuses_a_bad_live_symbol_in_one_line(helpers):
    import subprocess
    result = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--feed",
                                                     "kraken:BTCUSD"),
                            capture_output=True, text=True, timeout=60,
                            env=helpers.subprocess_env())
    assert result.returncode != 0
    assert "not a Kraken v2 pair" in result.stderr and "Traceback" not in result.stderr


def test_serve_stale_after_replaces_a_silent_venue_connection(helpers, monkeypatch):
    with running_venue("binance") as venue:
        venue.queue(Send(binance_trade("btcusdt", 1, "10", "1", T0)), Hold())
        venue.queue(Send(binance_trade("btcusdt", 2, "11", "1", T0 + 1)), Hold())
        monkeypatch.setenv("MDSTREAM_BINANCE_URL", venue.url)
        cmd = helpers.mdstream_command("serve", "--port", "0", "--feed", "binance:btcusdt",
                                       "--stale-after", "1500ms")
        with helpers.popen(cmd) as proc:
            port = int(LISTENING.search(helpers.read_line_matching(proc.stdout, "listening on")
                                        ).group(1))
            client = Client(f"127.0.0.1:{port}", timeout=10)
            prices = []
            try:
                for batch in client.stream_batches(from_seq=0, timeout=20):
                    prices += batch.price.tolist()
                    if len(prices) >= 2:
                        break
            finally:
                client.close()
            proc.send_signal(signal.SIGINT)
            assert proc.wait(20) == 0
            err = proc.stdout.read() + proc.stderr.read()     # serve's log is on stdout
    assert prices == [10.0, 11.0]
    assert venue.connections >= 2 and "stale_after=1.5 s" in err, err


def test_stale_after_is_refused_without_a_live_feed(helpers):
    import subprocess
    result = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--stale-after", "5"),
                            capture_output=True, text=True, timeout=60,
                            env=helpers.subprocess_env())
    assert result.returncode != 0 and "--stale-after is an option of live feeds" in result.stderr
