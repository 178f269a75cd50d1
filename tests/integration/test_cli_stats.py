"""`mdstream stats`: the terminal view of a server's GetStats, run in a subprocess."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess

import pytest

from mdstream import cli

pytestmark = pytest.mark.timeout(60)


def run(helpers, *args) -> subprocess.CompletedProcess:
    return subprocess.run(helpers.mdstream_command(*args), capture_output=True, text=True,
                          timeout=30, env=helpers.subprocess_env())


def test_stats_once_shows_rates_latency_and_subscribers(helpers):
    with helpers.popen(helpers.mdstream_command(
            "serve", "--port", "0", "--rate", "5000", "--symbols", "AAPL,MSFT", "--bars", "1s",
            "--max-streams", "9", "--detailed-stats")) as server:
        line = helpers.read_line_matching(server.stdout, "listening on").strip()
        target = re.search(r"listening on (\S+)$", line).group(1)
        with helpers.popen(helpers.mdstream_command(
                "subscribe", "--target", target, "--symbols", "MSFT", "--batches",
                "--quiet")) as sub:
            # Wait until the subscriber is streaming and has been sent something.
            def subscriber_row():
                done = run(helpers, "stats", "--target", target, "--once")
                assert done.returncode == 0, done.stderr
                m = re.search(r"^\s+\d+\s+StreamBatches\s+ipv4:127\.0\.0\.1:\d+\s+MSFT\s+skip\s+"
                              r"([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d.,]+ \w+)\s", done.stdout, re.M)
                return (done.stdout, m) if m and int(m.group(1).replace(",", "")) > 0 else None

            got = helpers.wait_until(subscriber_row, timeout=20, interval=0.3)
            assert got, "no subscriber row with deliveries"
            out, row = got
            sub.send_signal(signal.SIGINT)
            sub.communicate(timeout=15)
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)

    assert re.search(rf"^mdstream {re.escape(target)}\s+running\s+up \d+s", out, re.M), out
    assert re.search(r"feed: simulated\s+symbols: 2\s+workers: 2\s+streams: 1/9", out), out
    # Throughput: now, average and total for each counter.
    ticks = re.search(r"^\s+ticks in\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s*$", out, re.M)
    assert ticks, out
    now, avg, total = (int(g.replace(",", "")) for g in ticks.groups())
    assert total > 0 and avg > 0
    assert re.search(r"^\s+bytes sent\s+[\d.,]+ \w+\s+[\d.,]+ \w+\s+[\d.,]+ \w+\s*$", out, re.M)
    # Latency: every stage with its percentiles.
    for stage in ("feed_to_ingest", "ingest_to_processed", "processed_to_sent", "age_at_send"):
        m = re.search(rf"^\s+{stage}\s+.*?((?:[\d.,]+ (?:ns|µs|ms|s)\s+){{5}})[\d,]+\s+", out, re.M)
        assert m, (stage, out)
    # The subscriber: delivered, lag, missed, bytes sent.
    delivered, lag, missed, sent = row.groups()
    assert int(missed) == 0 and int(lag.replace(",", "")) >= 0 and sent.endswith("B")
    assert "channel depth: w0=" in out and "bad rows: 0" in out
    assert "Traceback" not in out


def test_stats_without_a_server_is_one_line(helpers):
    done = run(helpers, "stats", "--target", "127.0.0.1:1", "--once", "--connect-timeout", "0.5")
    assert done.returncode == 1
    assert done.stderr.startswith("mdstream: error: cannot reach an mdstream server at 127.0.0.1:1")
    assert done.stderr.count("\n") == 1 and done.stdout == ""


def test_stats_refreshes_until_interrupted(helpers):
    """The live view: it keeps fetching every --interval, and Ctrl-C ends it cleanly."""
    with helpers.popen(helpers.mdstream_command(
            "serve", "--port", "0", "--rate", "1000", "--symbols", "AAPL")) as server:
        line = helpers.read_line_matching(server.stdout, "listening on").strip()
        target = re.search(r"listening on (\S+)$", line).group(1)
        with helpers.popen(helpers.mdstream_command(
                "stats", "--target", target, "--interval", "0.2")) as view:
            # Each refresh prints a new frame (not a terminal: frames follow each other).
            helpers.read_line_matching(view.stdout, "throughput")
            helpers.read_line_matching(view.stdout, "throughput")
            view.send_signal(signal.SIGINT)
            _, err = view.communicate(timeout=15)
            assert view.returncode == 0 and "Traceback" not in err, err
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=15)


@pytest.mark.parametrize("command", ["serve", "stats", "subscribe"])
def test_help_shows_every_option_and_its_default(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    sub = cli.build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if not action.option_strings or action.dest == "help" or action.help == argparse.SUPPRESS:
            continue            # (a hidden alias of an earlier name, e.g. --max-frame)
        assert all(opt in text for opt in action.option_strings)
        assert action.help and "default" in action.help or action.const is True, action.dest
