"""`mdstream serve` options, run for real in subprocesses: recorded data (CSV)
streamed to `mdstream subscribe`, bars on both streams, bad input, the
journal across restarts, the Prometheus endpoint and the dashboard."""

from __future__ import annotations

import csv
import json
import queue
import re
import signal
import subprocess
import threading
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mdstream import cli
from mdstream.cli.config import journal_config
from mdstream.grpc.client import Client

pytestmark = pytest.mark.timeout(60)

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
TRADES = DATA / "tardis_trades.csv"
TRUEFX = DATA / "truefx-usdjpy-ticks.csv"

LISTENING = re.compile(r"^gRPC server listening on 127\.0\.0\.1:(\d+)$")
# serve's status lines are log records on stdout: TIME LEVEL LOGGER: MESSAGE.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error) "
                      r"(mdstream[\w.]*): (.*)$")


class Serve:
    """A running `mdstream serve`, its log read line by line in a thread:
    ``expect`` sees the messages of the info lines; ``raw`` keeps every line
    of stdout as written."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        self.raw: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = None

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.raw.append(line)
            m = LOG_LINE.match(line)
            if m and m.group(1) == "info":
                self.lines.put(m.group(3))
        self.lines.put(None)

    def expect(self, needle: str, timeout: float = 20.0) -> list[str]:
        """Lines up to and including the first one containing needle."""
        got = []
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {needle!r} in {timeout} s; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"serve ended before {needle!r}; got {self.seen}; "
                                     f"stderr: {self.raw}")
            self.seen.append(line)
            got.append(line)
            if needle in line:
                return got

    def listening(self) -> list[str]:
        lines = self.expect("listening on")
        self.port = int(LISTENING.match(lines[-1]).group(1))
        return lines

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self, sig=signal.SIGINT) -> tuple[list[str], str]:
        """Signal it, wait for a clean exit; (the rest of its status lines, its whole
        log and stderr)."""
        self.proc.send_signal(sig)
        self.proc.wait(15)
        self._reader.join(5)
        rest = []
        while True:
            line = self.lines.get(timeout=5)
            if line is None:
                break
            rest.append(line)
        assert self.proc.returncode == 0, (rest, self.raw)
        return rest, "\n".join(self.raw) + "\n" + self.proc.stderr.read()


@contextmanager
def serve(helpers, *args):
    with helpers.popen(helpers.mdstream_command("serve", "--port", "0", *args)) as proc:
        yield Serve(proc)


def run(helpers, *args, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(helpers.mdstream_command(*args), capture_output=True, text=True,
                          timeout=timeout, env=helpers.subprocess_env())


def trades_of_file(path: Path) -> list[tuple[int, float, float]]:
    with open(path, newline="") as f:
        return [(int(r["timestamp"]), float(r["price"]), float(r["amount"]))
                for r in csv.DictReader(f)]


def minute_bars(trades) -> list[dict]:
    """1-minute OHLCV bars, computed here independently of the engine: a row
    older than one before it counts in the interval of the newest time seen
    (the feed's documented rule for out-of-order rows)."""
    bars: dict[int, dict] = {}
    newest = 0
    for ts_us, price, size in trades:
        newest = max(newest, ts_us)
        b = bars.setdefault(newest // 60_000_000, {"o": price, "h": price, "l": price, "v": 0.0,
                                                     "n": 0})
        b["h"], b["l"], b["c"] = max(b["h"], price), min(b["l"], price), price
        b["v"] += size
        b["n"] += 1
    return [bars[k] for k in sorted(bars)]


BAR_LINE = re.compile(r"^\[PY\] BTCUSDT 1m bar (\S+ \S+) o=(\S+) h=(\S+) l=(\S+) c=(\S+) "
                      r"v=(\S+) vwap=(\S+) n=(\S+)  seq=\d+$")
TRADE_LINE = re.compile(r"^\[PY\] BTCUSDT -> \S+  px=(\S+) size=(\S+) vwap=\S+ vol=\S+  seq=(\d+)$")


def num(text: str) -> float:
    return float(text.replace(",", ""))


def test_csv_replay_streams_the_real_file_and_its_bars_to_subscribe(helpers):
    trades = trades_of_file(TRADES)
    expected_bars = minute_bars(trades)
    with serve(helpers, "--feed", f"csv:{TRADES}", "--speed", "0", "--bars", "1m") as server:
        lines = server.listening()
        info = server.expect("Ctrl-C to stop")[-1]
        assert "replaying 9,999 rows of 1 symbol (BTCUSDT) from tardis_trades.csv" in info, info
        assert "bars 1m" in info
        ended = server.expect("the data ended")[-1]
        total = len(trades) + len(expected_bars)
        assert f"9,999 rows replayed, {total:,} results" in ended, ended

        # The data ended, the server still serves: a resumed stream from seq 0
        # gets everything, per tick and in frames, with identical lines.
        outputs = {}
        for mode in ((), ("--batches",)):
            done = run(helpers, "subscribe", "--target", server.target, "--from-seq", "0", *mode)
            assert done.returncode == 0, done.stderr
            outputs[mode] = done.stdout.splitlines()
        per_tick, batched = outputs[()], outputs[("--batches",)]
        assert per_tick[:-1] == batched[:-1]
        summary = per_tick[-1]
        assert summary.startswith(f"summary: {total:,} results") and "the stream ended" in summary
        # The data ended before the client subscribed: every result is a
        # replay, whose age is not a latency.
        for line in (summary, batched[-1]):
            assert "latency - (engine receive -> client)" in line, line
            assert re.search(rf"; {total:,} replayed results \(received by the engine before this "
                             r"subscription, age p50 [\d.,]+ s max [\d.,]+ s\)", line), line

        # Trades: as many as the file's rows, first and last prices as in the file.
        prices = [num(m.group(1)) for m in map(TRADE_LINE.match, per_tick) if m]
        assert len(prices) == len(trades)
        assert prices[0] == trades[0][1] and prices[-1] == trades[-1][1]

        # Bars: one per minute of data, each equal to the independent computation.
        bars = [m.groups() for m in map(BAR_LINE.match, per_tick) if m]
        assert len(bars) == len(expected_bars) == 126
        assert bars[0][0] == "2020-02-22 00:00:00" and bars[-1][0] == "2020-02-22 02:05:00"
        for got, want in zip(bars, expected_bars):
            o, h, l, c, v = map(num, got[1:6])
            assert (o, h, l, c) == (want["o"], want["h"], want["l"], want["c"])
            assert v == pytest.approx(want["v"], rel=1e-9, abs=1e-6)
            assert num(got[7]) == want["n"]

        # A late client without --from-seq: the stream ends at once, cleanly.
        done = run(helpers, "subscribe", "--target", server.target, "--batches")
        assert done.returncode == 0 and done.stdout.startswith("summary: 0 results"), done
        with Client(server.target) as client:
            assert client.snapshot().as_of_seq == total - 1
        rest, err = server.stop()
        assert rest[-1].startswith(f"stopped after") and "3 streams served" in rest[-1]
        assert "Traceback" not in err


def test_a_live_replay_of_a_file_without_a_symbol_column(helpers):
    with open(TRUEFX, newline="") as f:
        last = list(csv.DictReader(f))[-1]
    # 35 minutes of quotes at 400x: about 5 s, time enough for a client to join.
    with serve(helpers, "--feed", f"csv:{TRUEFX}", "--symbol", "USDJPY", "--preset", "truefx",
               "--speed", "400") as server:
        server.listening()
        assert "(USDJPY) from truefx-usdjpy-ticks.csv (truefx) at 400x" in server.expect("Ctrl-C")[-1]
        done = run(helpers, "subscribe", "--target", server.target, "--symbols", "USDJPY")
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert "the stream ended" in lines[-1]                  # the data ended: status OK
        quotes = [re.match(r"^\[PY\] USDJPY -> quote (\S+) / (\S+)  seq=(\d+)$", l) for l in lines[:-1]]
        assert quotes and all(quotes), lines[:3]
        assert 0 < len(quotes) <= 1000
        assert (num(quotes[-1].group(1)), num(quotes[-1].group(2))) == (float(last["bid"]),
                                                                       float(last["ask"]))
        assert int(quotes[-1].group(3)) == 999
        server.expect("the data ended")
        server.stop()


def test_a_bad_csv_is_one_line_naming_file_and_line(helpers, tmp_path):
    lines = TRADES.read_text().splitlines()
    bad = tmp_path / "bad.csv"
    broken = lines[3].split(",")
    broken[6] = "12x.5"                              # the price
    bad.write_text("\n".join(lines[:3] + [",".join(broken)] + lines[4:20]) + "\n")

    # No progress lines: a slow machine may take longer than an interval to fail.
    done = run(helpers, "serve", "--port", "0", "--feed", f"csv:{bad}", "--progress-interval", "0")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith(f"mdstream: error: {bad}:4: ") and "12x.5" in done.stderr

    done = run(helpers, "serve", "--port", "0", "--feed", f"csv:{tmp_path / 'missing.csv'}")
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"{tmp_path / 'missing.csv'}" in done.stderr and "Traceback" not in done.stderr

    # Skipping bad rows instead: served, and the skipped row counted.
    with serve(helpers, "--feed", f"csv:{bad}", "--on-bad-row", "skip", "--speed", "0") as server:
        server.listening()
        assert "18 rows (1 bad row skipped)" in server.expect("Ctrl-C")[-1]
        assert "1 bad row skipped" in server.expect("the data ended")[-1]
        _, err = server.stop()
        assert f"{bad}:4:" in err and "Traceback" not in err


def test_journal_restart_reports_the_recovery_and_a_torn_tail(helpers, tmp_path):
    journal = tmp_path / "journal"
    args = ("--journal", str(journal), "--durability", "interval", "--fsync-interval-ms", "20",
            "--segment-mb", "0.25", "--retain-age", "1h", "--symbols", "AAPL,MSFT",
            "--count", "10000", "--rate", "0")
    with serve(helpers, *args) as server:
        first = server.listening()
        assert first[0] == f"journal {journal}: new (interval durability)"
        server.expect("the data ended")
        server.stop(signal.SIGTERM)
    segments = sorted(journal.glob("*.mdj"))
    # 10,000 results of ~200 bytes in blocks of up to 4096: segments of 0.25 MiB
    # roll after each block.
    assert len(segments) >= 2
    newest = segments[-1]
    size = newest.stat().st_size
    with open(newest, "r+b") as f:                # a crash in the middle of the last block
        f.truncate(size - 10)

    with serve(helpers, *args) as server:
        line = server.listening()[0]
        m = re.match(rf"^journal {re.escape(str(journal))}: recovered seq 0 to ([\d,]+) from "
                     rf"(\d+) segments? \(([\d,]+) results? replayed into the analytics\), "
                     rf"continuing at seq ([\d,]+); cut a torn tail of ([\d,]+) bytes from (\S+)$",
                     line)
        assert m, line
        last, nsegments, replayed, next_seq, cut = (int(g.replace(",", "")) for g in m.groups()[:5])
        assert 0 < next_seq < 10_000 and last == next_seq - 1
        # (a last segment left with no whole block is removed)
        assert nsegments in (len(segments), len(segments) - 1) and 0 <= replayed <= next_seq
        assert 0 < cut < size and m.group(6) == str(newest)
        server.expect("the data ended")
        with Client(server.target) as client:
            stats = client.get_stats()
        assert stats.journal.durability == "interval"
        assert (stats.journal.recovered_results, stats.journal.torn_bytes_cut) == (replayed, cut)
        assert stats.engine.ticks_in == 10_000        # this run's; the recovered are not ticks in
        assert stats.engine.results == next_seq + 10_000
        server.stop()

    with serve(helpers, *args) as server:
        line = server.listening()[0]
        assert re.search(rf"recovered seq 0 to {next_seq + 9_999:,} from \d+ segments \(.*\), "
                         rf"continuing at seq {next_seq + 10_000:,}; no torn tail$", line), line
        server.stop()


def scrape(url: str) -> dict:
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(families: dict, name: str, **labels) -> float:
    return next(s.value for s in families[name].samples
                if s.name in (name, name + "_total")
                and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_and_dashboard_endpoints(helpers):
    with serve(helpers, "--rate", "5000", "--metrics-port", "0", "--dashboard-port", "0") as server:
        server.listening()
        metrics_url = re.match(r"^Prometheus metrics at (http://127\.0\.0\.1:\d+/metrics)$",
                               server.expect("Prometheus metrics at")[-1]).group(1)
        dashboard_url = re.match(r"^dashboard at (http://127\.0\.0\.1:\d+/)$",
                                 server.expect("dashboard at")[-1]).group(1)

        done = run(helpers, "subscribe", "--target", server.target, "--batches", "--limit", "3000",
                   "--quiet")
        assert done.returncode == 0, done.stderr
        with helpers.popen(helpers.mdstream_command(
                "subscribe", "--target", server.target, "--symbols", "AAPL", "--quiet")) as live:
            assert helpers.wait_until(lambda: sample(scrape(metrics_url), "mdstream_grpc_subscribers",
                                                     rpc="StreamResults") == 1, timeout=15)
            families = scrape(metrics_url)
            assert sample(families, "mdstream_grpc_streams", rpc="StreamBatches") == 1
            assert sample(families, "mdstream_grpc_subscribers", rpc="StreamBatches") == 0
            assert sample(families, "mdstream_grpc_messages_sent", rpc="StreamBatches") >= 1
            assert sample(families, "mdstream_grpc_bytes_sent", rpc="StreamBatches") > 3000 * 100
            assert sample(families, "mdstream_ticks_processed") >= 3000
            assert sample(families, "mdstream_subscriptions") == 1
            assert sample(families, "mdstream_latency_seconds", stage="ingest_to_processed",
                          range="total", quantile="0.99") > 0
            live.send_signal(signal.SIGINT)
            live.communicate(timeout=15)

            page = urllib.request.urlopen(dashboard_url, timeout=10)
            assert page.status == 200 and b"<html" in page.read().lower()
            api = json.loads(urllib.request.urlopen(dashboard_url + "api/stats", timeout=10).read())
            assert helpers.wait_until(lambda: json.loads(urllib.request.urlopen(
                dashboard_url + "api/stats", timeout=10).read()).get("processed", 0) > 0, timeout=10)
            assert api.get("symbols", ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]) == \
                ["AAPL", "MSFT", "GOOG", "AMZN", "TSLA"]
        server.stop()
    port = int(metrics_url.split(":")[2].split("/")[0])
    assert helpers.wait_until(lambda: helpers.port_is_free(port))


def test_mistaken_options_are_one_line_errors(capsys, tmp_path):
    assert cli.main(["serve", "--speed", "2"]) == 1
    assert capsys.readouterr().err == ("mdstream: error: --speed: options of recorded data; add "
                                       "--feed csv:PATH to replay a file\n")
    assert cli.main(["serve", "--feed", f"csv:{TRADES}", "--symbols", "AAPL"]) == 1
    assert "--symbols is an option of the simulated feed" in capsys.readouterr().err
    for argv in (["serve", "--feed", "kafka:x"], ["serve", "--bars", "1s,1000ms"],
                 ["serve", "--bars", "1s,2s,3s,4s,5s"], ["serve", "--retain-age", "soon"],
                 ["serve", "--durability", "sometimes"], ["serve", "--segment-mb", "0"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2, argv
        assert "error:" in capsys.readouterr().err


def test_an_http_port_in_use_is_one_line(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        for option, what in (("--metrics-port", "metrics"), ("--dashboard-port", "dashboard")):
            assert cli.main(["serve", "--port", "0", option, str(port)]) == 1
            captured = capsys.readouterr()
            assert captured.out == ""
            assert captured.err == (f"mdstream: error: cannot serve the {what} on 127.0.0.1:{port}: "
                                    "Address already in use (pick another port, or 0 for a free one)\n")


def test_journal_options_make_the_journal_config(tmp_path):
    args = cli.build_parser().parse_args([
        "serve", "--journal", str(tmp_path), "--durability", "fsync", "--fsync-interval-ms", "5",
        "--segment-mb", "0.5", "--retain-mb", "100", "--retain-age", "1h"])
    config = journal_config(args)
    assert (config.directory, config.durability, config.fsync_interval) == (str(tmp_path), "fsync", 0.005)
    assert (config.segment_bytes, config.retain_bytes, config.retain_age_s) == (1 << 19, 100 << 20, 3600)
    args = cli.build_parser().parse_args(["serve", "--journal", str(tmp_path), "--retain-age", "90"])
    config = journal_config(args)
    assert (config.durability, config.segment_bytes, config.retain_bytes, config.retain_age_s) == (
        "write", 64 << 20, None, 90)
    assert journal_config(cli.build_parser().parse_args(["serve"])) is None
    # --fsync-interval is a duration (a bare number is seconds); --fsync-interval-ms
    # is its earlier name, in milliseconds.
    for option in (["--fsync-interval", "5ms"], ["--fsync-interval", "0.005"]):
        args = cli.build_parser().parse_args(["serve", "--journal", str(tmp_path), *option])
        assert journal_config(args).fsync_interval == pytest.approx(0.005)
    assert journal_config(cli.build_parser().parse_args(
        ["serve", "--journal", str(tmp_path)])).fsync_interval == 0.1


def test_remote_policy_options_make_the_node_config():
    from mdstream.node import NodeConfig

    args = cli.build_parser().parse_args([
        "serve", "--allowed-policies", "skip,disconnect", "--block-deadline", "250ms"])
    assert args.allowed_policies == ("skip", "disconnect") and args.block_deadline == 0.25
    defaults = cli.build_parser().parse_args(["serve"])
    assert defaults.allowed_policies == ("block", "skip", "disconnect")
    assert defaults.block_deadline == 5.0
    assert NodeConfig().allowed_policies == defaults.allowed_policies
    assert NodeConfig().block_deadline == defaults.block_deadline


def test_mistaken_remote_policy_options(capsys):
    for argv in (["serve", "--allowed-policies", "block,wait"], ["serve", "--allowed-policies", ","],
                 ["serve", "--block-deadline", "soon"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2, argv
        assert "error:" in capsys.readouterr().err


def test_a_refused_policy_is_one_line_naming_the_allowed_ones(helpers):
    with serve(helpers, "--allowed-policies", "skip,disconnect", "--rate", "1000") as server:
        server.listening()
        done = run(helpers, "subscribe", "--target", server.target, "--policy", "block")
        assert done.returncode == 1, done
        assert "policy 'block' is not allowed by this server: use skip or disconnect" in done.stderr
        server.stop()


def test_a_stopped_subscriber_does_not_stall_the_server(helpers):
    """The issue's case: two `mdstream subscribe` clients of a 100 k ticks/s
    server, one suspended with SIGSTOP: the other (the client's default, the
    server's 'skip') keeps receiving, the engine's input keeps growing, and
    the stalled one, which asked for 'block', is disconnected after the
    block deadline."""
    with serve(helpers, "--rate", "100000", "--ring-size", "4096",
               "--block-deadline", "500ms") as server:
        server.listening()
        cmd = helpers.mdstream_command("subscribe", "--target", server.target)
        # The live one skips (the default): a per-tick 'block' client slower
        # than the feed would hold the engine to its own pace (what 'block' asks for).
        with helpers.popen(cmd + ["--policy", "block"]) as stalled, helpers.popen(cmd) as live:
            counted = {"live": 0}

            def drain_live():
                for _ in live.stdout:
                    counted["live"] += 1

            threading.Thread(target=drain_live, daemon=True).start()
            with Client(server.target) as client:
                assert helpers.wait_until(lambda: client.get_stats().streams_open >= 2, timeout=15)
                stalled.send_signal(signal.SIGSTOP)     # stops reading its stream
                try:
                    assert helpers.wait_until(lambda: client.get_stats().engine.disconnected >= 1,
                                              timeout=15), "the stopped client was not cut off"
                    t0, n0 = client.get_stats().engine.ticks_in, counted["live"]
                    threading.Event().wait(1.0)
                    t1, n1 = client.get_stats().engine.ticks_in, counted["live"]
                finally:
                    stalled.send_signal(signal.SIGCONT)
            assert t1 - t0 > 30_000, (t0, t1)               # ~100 k/s, with slack for CI
            assert n1 > n0
            err = stalled.communicate(timeout=20)[1]
            assert stalled.returncode == 1
            assert "block deadline of 500ms" in err, err
        server.stop()
