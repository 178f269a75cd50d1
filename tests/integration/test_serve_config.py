"""`mdstream serve` run as a service, for real in subprocesses: settings from a
--config file overridden by MDSTREAM_* variables and flags, JSON log lines, and
the progress lines of a CSV replay when stderr is not a terminal."""

from __future__ import annotations

import json
import queue
import re
import signal
import subprocess
import threading
from pathlib import Path

import pytest

from mdstream.grpc.client import Client

pytestmark = pytest.mark.timeout(60)

DATA = Path(__file__).resolve().parents[1] / "data" / "real"
TRUEFX = DATA / "truefx-usdjpy-ticks.csv"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class LogReader:
    """serve's log (stdout), read line by line in a thread."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, needle: str, timeout: float = 20.0) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {needle!r}; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"serve ended before {needle!r}; got {self.seen}")
            self.seen.append(line)
            if needle in line:
                return line

    def rest(self) -> list[str]:
        out = []
        while (line := self.lines.get(timeout=10)) is not None:
            out.append(line)
        self.seen += out
        return out


def test_config_file_with_environment_and_flag_overrides(helpers, tmp_path):
    config = tmp_path / "serve.toml"
    # The file's port would be an error to bind here: the environment's 0 must win.
    config.write_text('port = 1\nsymbols = ["AAA", "BBB", "CCC"]\nrate = 2000\n'
                      'bars = ["1s"]\nworkers = 1\nmax_streams = 7\n')
    env = helpers.subprocess_env()
    env.pop("MDSTREAM_TOKEN", None)
    env.update(MDSTREAM_PORT="0", MDSTREAM_SYMBOLS="XXX,YYY", MDSTREAM_LOG_FORMAT="json",
               MDSTREAM_WORKERS="3")
    cmd = helpers.mdstream_command("serve", "--config", str(config), "--workers", "2")
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=env) as proc:
        try:
            log = LogReader(proc)
            listening = json.loads(log.expect("listening on"))
            target = re.search(r"listening on (\S+)$", listening["message"]).group(1)
            port = int(target.rsplit(":", 1)[1])
            assert port not in (0, 1, 50051)
            feed = json.loads(log.expect("Ctrl-C to stop"))["message"]
            # symbols from the environment, rate and bars from the file, workers from the flag
            assert feed == ("simulating 2 symbols (XXX,YYY) at 2,000 ticks/s with 2 workers, "
                            "bars 1s; Ctrl-C to stop"), feed
            with Client(target) as client:
                assert client.list_symbols() == ["XXX", "YYY"]
                assert client.get_stats().max_streams == 7        # from the file
            proc.send_signal(signal.SIGINT)
            assert proc.wait(15) == 0
            rest = log.rest()
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.stderr.read() == ""
    records = [json.loads(line) for line in log.seen]        # every line is JSON
    assert all(set(r) == {"ts", "level", "logger", "message"} for r in records), records
    assert all(ISO_UTC.match(r["ts"]) for r in records)
    assert records[0]["logger"] == "mdstream.serve" and records[0]["level"] == "info"
    assert "stopped after" in json.loads(rest[-1])["message"]


def test_print_config_of_the_command_starts_the_same_server(helpers, tmp_path):
    env = helpers.subprocess_env()
    env.update(MDSTREAM_RATE="750", MDSTREAM_BARS="1s,1m")
    done = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--symbols", "QQQ",
                                                   "--print-config"),
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert "rate = 750.0  # MDSTREAM_RATE" in done.stdout
    printed = tmp_path / "printed.toml"
    printed.write_text(done.stdout)
    with helpers.popen(helpers.mdstream_command("serve", "--config", str(printed))) as proc:
        log = LogReader(proc)
        log.expect("listening on")
        assert log.expect("Ctrl-C to stop").endswith(
            "simulating 1 symbols (QQQ) at 750 ticks/s with 2 workers, bars 1s,1m; Ctrl-C to stop")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0


def test_a_bad_setting_is_one_line_naming_its_source(helpers, tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text("port = 50051\nring_sise = 1024\n")
    env = helpers.subprocess_env()
    done = subprocess.run(helpers.mdstream_command("serve", "--config", str(config)),
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"mdstream serve: error: {config}: unknown setting 'ring_sise'; did "
                           "you mean 'ring_size'?\n")
    env["MDSTREAM_BLOCK_DEADLINE"] = "soon"
    done = subprocess.run(helpers.mdstream_command("serve"), capture_output=True, text=True,
                          timeout=30, env=env)
    assert done.returncode == 2 and done.stderr.startswith(
        "mdstream serve: error: MDSTREAM_BLOCK_DEADLINE=soon: not a duration >= 0: 'soon'")


def test_a_replay_logs_its_progress_when_not_on_a_terminal(helpers):
    # 35 minutes of quotes at 700x: about 3 s, a progress line every 0.5 s.
    with helpers.popen(helpers.mdstream_command(
            "serve", "--port", "0", "--feed", f"csv:{TRUEFX}", "--symbol", "USDJPY",
            "--speed", "700", "--progress-interval", "500ms")) as proc:
        log = LogReader(proc)
        log.expect("listening on")
        log.expect("the data ended")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 0
        log.rest()
    lines = [re.search(r" info mdstream\.serve: replay: ([\d,]+) of 1,000 rows \(([\d.]+)%\), "
                       r"event time 2013-01-01T\d\d:\d\d:\d\d\.\d{3}Z, ([\d,]+|\?) rows/s, "
                       r"ETA (\S+ s|\?)$", line) for line in log.seen if "replay:" in line]
    assert lines and all(lines), log.seen
    done = [int(m.group(1).replace(",", "")) for m in lines]
    assert done == sorted(done) and 0 < done[-1] <= 1000


def test_with_json_logs_the_error_that_ends_serve_is_json_too(helpers, tmp_path):
    missing = tmp_path / "missing.csv"
    done = subprocess.run(helpers.mdstream_command("serve", "--port", "0", "--log-format", "json",
                                                   "--feed", f"csv:{missing}"),
                          capture_output=True, text=True, timeout=30,
                          env=helpers.subprocess_env())
    assert done.returncode == 1 and done.stderr == ""
    [line] = done.stdout.splitlines()
    record = json.loads(line)
    assert (record["level"], record["logger"]) == ("error", "mdstream.serve")
    assert str(missing) in record["message"] and "cannot open the file" in record["message"]
