"""The benchmark suite keeps working: every benchmark runs for a fraction of
a second and prints well-formed JSON result lines. Numbers are not checked:
benchmarks are not tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mdstream

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = [
    "channel",
    "analytics",
    "engine",
    "gil",
    "grpc1",
    "grpc8",
    "latency",
    "latency_rates",
    "stream_results_limit",
    "memory",
    "csv_parse",
    "journal",
    "journal_read",
    "live_feed",
    "async_subscription",
    "connect_error",
    "nats_publish",
    "nats_edges",
    "file_feeds",
    "projection",
    "csv_progress",
    "engine_scaling",
    "compact_frames",
    "subscriber_scaling",
    "orders",
]

pytestmark = pytest.mark.skipif(not (ROOT / "benchmarks" / "__main__.py").exists(),
                                reason="benchmarks/ is in the source tree only")


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def _lines(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _session_processes(sid: int) -> list[str]:
    """Processes still alive in the session the suite ran in (servers, clients)."""
    left = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            left.append(stat.split(" ", 1)[1][:60])
    return left


#: Results that are measurements of mdstream alone (replay speed has no
#: counterpart to compare with); every other result carries its baseline.
WITHOUT_BASELINE = {("journal", "replay_inprocess"), ("journal", "replay_grpc"),
                    ("journal_read", "metrics_scrape"), ("csv_progress", "update")}


def check_line(line: dict) -> None:
    for key in ("benchmark", "case", "unit", "params", "machine", "median", "min", "max",
                "iqr", "runs"):
        assert key in line, f"{line.get('benchmark')}/{line.get('case')} has no {key!r}"
    for key in ("cpu", "cores", "python", "numpy"):
        assert key in line["machine"]
    assert line["runs"], line
    if (line["benchmark"], line["case"]) in WITHOUT_BASELINE:
        return
    assert "baseline" in line, f"{line['benchmark']}/{line['case']} has no baseline"
    assert "median" in line["baseline"] and line["baseline"]["runs"], line


@pytest.mark.timeout(180)
def test_whole_suite_quick():
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks", "--quick", "--repeat", "1", "--clients", "2",
         "--rates", "100000", "--memory-duration", "0.5"],
        cwd=ROOT, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)
    try:
        out, err = proc.communicate(timeout=170)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    lines = _lines(out)
    seen = {line["benchmark"] for line in lines}
    assert seen == set(BENCHMARKS), f"missing: {set(BENCHMARKS) - seen}\n{err[-3000:]}"
    for line in lines:
        check_line(line)
    assert not _session_processes(proc.pid), "server or client processes left running"


@pytest.mark.timeout(60)
def test_one_benchmark_on_its_own():
    out = subprocess.run([sys.executable, "-m", "benchmarks.channel", "--quick", "--repeat", "1"],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=50)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = _lines(out.stdout)
    assert {line["case"] for line in lines} == {"per_item_python_threads", "batched_c_threads"}
    for line in lines:
        check_line(line)


def test_list_and_unknown_names():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--list"], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0
    assert [l.split()[0] for l in out.stdout.splitlines()] == BENCHMARKS
    bad = subprocess.run([sys.executable, "-m", "benchmarks", "nosuch"], cwd=ROOT, env=_env(),
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "nosuch" in bad.stderr


@pytest.mark.timeout(120)
def test_orders_benchmark_on_its_own():
    out = subprocess.run([sys.executable, "-m", "benchmarks.orders", "--quick", "--repeat", "1",
                          "--rates", "1000,10000"],
                         cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=100)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = _lines(out.stdout)
    cases = ["inprocess_orders_per_s", "ack_p50_at_1000", "fill_p50_at_1000",
             "ack_p50_at_10000", "fill_p50_at_10000"]
    if hasattr(mdstream.Client, "trade"):         # order sessions over gRPC
        cases += ["grpc_ack_p50_at_1000", "grpc_fill_p50_at_1000",
                  "grpc_ack_p50_at_10000", "grpc_fill_p50_at_10000"]
    assert [line["case"] for line in lines] == cases
    for line in lines:
        check_line(line)
        assert line["median"] > 0 and line["baseline"]["median"] > 0
    assert lines[0]["unit"] == "orders/s" and lines[1]["unit"] == "ms"
    assert lines[1]["orders"] > 0 and "p99_ms" in lines[1] and "to_engine_p50_ms" in lines[1]


@pytest.mark.timeout(60)
def test_mdstream_bench_in_package(capsys):
    from mdstream import benchmarking

    assert benchmarking.main(["channel", "engine", "--repeat", "1", "--duration", "0.05"]) == 0
    lines = _lines(capsys.readouterr().out)
    assert {line["benchmark"] for line in lines} == {"channel", "engine"}
    for line in lines:
        check_line(line)
