"""The mdstream command, run for real in subprocesses (plus --help in-process)."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import time
import types

import pytest

from mdstream import cli

pytestmark = pytest.mark.timeout(90)

# serve logs it (after a timestamp, level and logger); demo prints it. Both on stdout.
LISTENING = re.compile(r"gRPC server listening on (127\.0\.0\.1):(\d+)$")


def start_serve(helpers, *args):
    """`mdstream serve --port 0 ...` as a context manager; yields (proc, port)."""
    cmd = helpers.mdstream_command("serve", "--port", "0", "--rate", "20000", *args)
    return helpers.popen(cmd)


def listening_port(helpers, proc) -> int:
    line = helpers.read_line_matching(proc.stdout, "listening on").strip()
    m = LISTENING.search(line)
    assert m, line
    return int(m.group(2))


def test_serve_subscribe_and_shutdown(helpers):
    with start_serve(helpers, "--symbols", "AAPL,MSFT") as server:
        port = listening_port(helpers, server)
        assert port > 0 and not helpers.port_is_free(port)
        target = f"127.0.0.1:{port}"

        # Per-tick results, in the original style, then a summary.
        done = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", target, "--symbols", "AAPL", "--limit", "5"),
            capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 6
        assert all(re.match(r"^\[PY\] AAPL -> ", line) for line in lines[:5]), lines
        assert lines[5].startswith("summary: 5 results") and "--limit 5 reached" in lines[5]

        # Batches, quiet: only the summary.
        done = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", target, "--batches", "--limit", "3000", "--quiet"),
            capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
        assert done.returncode == 0, done.stderr
        assert re.match(r"^summary: 3,000 results in .* frames, 0 missed; latency p50 ",
                        done.stdout), done.stdout

        # Unknown symbols: one line naming them, non-zero exit.
        done = subprocess.run(helpers.mdstream_command(
            "subscribe", "--target", target, "--symbols", "AAPL,NOPE"),
            capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "'NOPE'" in done.stderr

        # A port in use: one line, non-zero exit, no traceback.
        done = subprocess.run(helpers.mdstream_command("serve", "--port", str(port)),
                              capture_output=True, text=True, timeout=30,
                              env=helpers.subprocess_env())
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1, done.stderr
        assert f"127.0.0.1:{port}" in done.stderr and "in use" in done.stderr
        assert "Traceback" not in done.stderr

        # SIGTERM: a clean, bounded shutdown that releases the port.
        t0 = time.monotonic()
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=15)
        assert server.returncode == 0, err
        assert time.monotonic() - t0 < 10
        assert "stopped after" in out and "streams served" in out
        assert " info mdstream.serve: stopped after " in out
        assert "Traceback" not in err
    assert helpers.wait_until(lambda: helpers.port_is_free(port))


def test_serve_stops_on_ctrl_c_with_a_client_connected(helpers):
    with start_serve(helpers) as server:
        port = listening_port(helpers, server)
        with helpers.popen(helpers.mdstream_command(
                "subscribe", "--target", f"127.0.0.1:{port}", "--batches", "--quiet")) as sub:
            time.sleep(1.0)                  # the subscriber is streaming
            t0 = time.monotonic()
            server.send_signal(signal.SIGINT)
            server.communicate(timeout=15)
            assert server.returncode == 0
            assert time.monotonic() - t0 < 10
            # The subscriber learns the server went away and reports it, after
            # its summary of what it received.
            out, err = sub.communicate(timeout=15)
            assert sub.returncode == 1
            assert "shutting down" in err and err.count("\n") == 1
            assert re.match(r"^summary: [\d,]+ results in .*; the stream failed: UNAVAILABLE$",
                            out.strip()), out


def test_demo_runs_and_stops_by_itself(helpers):
    done = subprocess.run(helpers.mdstream_command(
        "demo", "--duration", "2", "--rate", "20000", "--lines-per-second", "5"),
        capture_output=True, text=True, timeout=60, env=helpers.subprocess_env())
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert LISTENING.search(out.splitlines()[1]), out
    assert re.search(r"^\[PY\] [A-Z]+ -> ", out, re.M), out
    per_second = re.findall(r"^\[\s*\d+s\] received ([\d,]+) ticks/s .* latency p50 ", out, re.M)
    assert per_second, out
    summary = out.strip().splitlines()[-1]
    assert summary.startswith("summary: ") and "--duration 2 s reached" in summary
    received = int(re.search(r"summary: ([\d,]+) ticks", summary).group(1).replace(",", ""))
    assert received > 10_000          # ~20,000/s for 2 s, with room for a busy machine


def test_subscribe_without_a_server(helpers):
    done = subprocess.run(helpers.mdstream_command(
        "subscribe", "--target", "127.0.0.1:1", "--connect-timeout", "0.5"),
        capture_output=True, text=True, timeout=30, env=helpers.subprocess_env())
    assert done.returncode == 1
    assert done.stderr.startswith("mdstream: error: cannot reach an mdstream server at 127.0.0.1:1")
    assert done.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["serve", "subscribe", "demo"])
def test_help_is_complete(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    parser = cli.build_parser()
    sub = parser._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        if action.help == argparse.SUPPRESS:
            continue            # a hidden alias of an earlier name (e.g. --max-frame)
        for opt in action.option_strings:
            assert opt in text
        if action.option_strings and action.help and action.default not in (None, False) \
                and action.dest != "help":
            assert "default" in action.help, f"{command} {action.option_strings}: no default shown"


def test_top_level_help_lists_the_commands(helpers):
    done = subprocess.run(helpers.mdstream_command("--help"), capture_output=True, text=True,
                          timeout=30, env=helpers.subprocess_env())
    assert done.returncode == 0
    for command in ("serve", "subscribe", "demo", "bench"):
        assert command in done.stdout


def test_bench_hands_its_arguments_to_the_benchmark_runner(monkeypatch):
    seen = {}
    fake = types.ModuleType("mdstream.benchmarking")
    fake.main = lambda argv: seen.setdefault("argv", argv) and 0
    monkeypatch.setitem(sys.modules, "mdstream.benchmarking", fake)
    import mdstream
    monkeypatch.setattr(mdstream, "benchmarking", fake, raising=False)
    assert cli.main(["bench", "--help", "grpc", "-n", "3"]) == 0
    assert seen["argv"] == ["--help", "grpc", "-n", "3"]


def test_bad_option_values_are_usage_errors(capsys):
    for argv in (["serve", "--port", "70000"], ["serve", "--rate", "-1"],
                 ["serve", "--symbols", ","], ["subscribe", "--policy", "fast"]):
        with pytest.raises(SystemExit) as info:
            cli.main(argv)
        assert info.value.code == 2
        assert "error:" in capsys.readouterr().err


def test_subscribe_frame_options_use_the_names_and_units_of_the_python_api():
    parse = cli.build_parser().parse_args
    args = parse(["subscribe"])
    assert (args.max_ticks_per_frame, args.max_wait) == (4096, 0.002)
    args = parse(["subscribe", "--max-ticks-per-frame", "100", "--max-wait", "500us"])
    assert (args.max_ticks_per_frame, args.max_wait) == (100, 0.0005)
    # A bare number is seconds, as in the Python API; 0 sends at once.
    assert parse(["subscribe", "--max-wait", "0.25"]).max_wait == 0.25
    assert parse(["subscribe", "--max-wait", "0"]).max_wait == 0.0
    # The earlier name still works.
    assert parse(["subscribe", "--max-frame", "64"]).max_ticks_per_frame == 64


@pytest.mark.parametrize("argv, message", [
    (["--max-wait", "2"], "max_wait must be 0 to 1 seconds"),
    (["--max-ticks-per-frame", "20000"], "max_ticks_per_frame 20000 is too large"),
    (["--from-seq", "-1"], "from_seq must be >= 0"),
])
def test_subscribe_values_the_stream_request_refuses_are_usage_errors(argv, message, capsys):
    # Checked before connecting: no server is needed.
    assert cli.main(["subscribe", "--target", "127.0.0.1:1", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mdstream subscribe: error: ") and message in err
    assert err.count("\n") == 1


def test_help_states_the_unit_of_every_duration(capsys):
    with pytest.raises(SystemExit):
        cli.main(["subscribe", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "in seconds or with a unit, e.g. 2ms" in text and "--max-frame" not in text
