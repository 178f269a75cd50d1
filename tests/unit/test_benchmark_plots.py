"""benchmarks.plots draws a PNG per curve from the suite's JSON lines, and skips
a curve whose lines are not in the file. The lines here are synthetic (built
with mdstream.benchmarking.result_line); no benchmark runs and no number is
checked.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mdstream.benchmarking import result_line

ROOT = Path(__file__).resolve().parents[2]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CURVES = ("engine_scaling.png", "latency_rates.png", "journal.png", "subscriber_scaling.png")
MACHINE = {"cpu": "test cpu", "cores": 2, "python": "3.x", "numpy": "2.x", "mdstream": "0"}

pytestmark = pytest.mark.skipif(not (ROOT / "benchmarks" / "plots.py").exists(),
                                reason="benchmarks/ is in the source tree only")


@pytest.fixture
def plots(monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.syspath_prepend(str(ROOT))
    return importlib.import_module("benchmarks.plots")


def engine_scaling_lines(per_cpu: bool = True) -> list[dict]:
    lines = []
    for w in (1, 2):
        for n in (1, 1_000, 100_000):
            lines.append(result_line(
                "engine_scaling", f"{n}_symbols_{w}_workers", "ticks/s",
                {"symbols": n, "workers": w}, [9e6 / w, 1e7 / w, 1.1e7 / w],
                [4e4, 5e4, 6e4], "queue.Queue pipeline",
                extra={"rss_mb": 20.0 + n / 1000, "baseline_rss_mb": 1.0 + n / 4000,
                       **({"ticks_per_cpu_s": 8e6, "baseline_ticks_per_cpu_s": 1.5e5}
                          if per_cpu else {})},
                machine=MACHINE))
    return lines


def latency_rates_lines() -> list[dict]:
    lines = []
    for rate in (1_000.0, 20_000.0, 100_000.0, 0.0):
        for i, sub in enumerate(("inprocess", "batches", "batches_fixed", "results")):
            lines.append(result_line(
                "latency_rates", f"{sub}_p50_at_{rate:g}", "ms",
                {"rate": rate, "subscriber": sub}, [0.1 + i, 0.2 + i], [0.5, 0.6],
                "pre-encoded grpcio", higher_is_better=False,
                extra={"p99_ms": {"median": 1.0 + i, "min": 0.9 + i, "max": 1.2 + i},
                       "p999_ms": {"median": 2.0 + i, "min": 1.8 + i, "max": 2.5 + i},
                       "baseline_p99_ms": {"median": 1.5, "min": 1.4, "max": 1.6},
                       "baseline_p999_ms": None},
                machine=MACHINE))
        # the throughput line of each rate has no subscriber: not a point of the curve
        lines.append(result_line("latency_rates", f"batches_ticks_per_s_at_{rate:g}", "ticks/s",
                                 {"rate": rate}, [1e6], [1e6], "fixed linger", machine=MACHINE))
    return lines


def journal_lines() -> list[dict]:
    lines = [result_line("journal", f"throughput_{d}", "ticks/s", {"durability": d},
                         [3e6 - i * 5e5, 3.1e6 - i * 5e5], [3.5e6, 3.6e6],
                         "the same engine without a journal", machine=MACHINE)
             for i, d in enumerate(("write", "interval", "fsync"))]
    lines.append(result_line("journal", "replay_inprocess", "ticks/s", {"from_seq": 0}, [2e7],
                             machine=MACHINE))
    return lines


def subscriber_scaling_lines() -> list[dict]:
    return [result_line("subscriber_scaling", f"{n}_subscribers_{f}", "ticks/s",
                        {"subscribers": n, "filter": f}, [5e6 * n ** 0.5], [1e6 * n ** 0.3],
                        "plain grpcio server",
                        extra={"server_rss_mb": 50.0 + n, "fairness": 1.0 / (1 + n / 100)},
                        machine=MACHINE)
            for f in ("all", "one_symbol") for n in (1, 4, 16, 64)]


def write_lines(path: Path, lines: list[dict]) -> Path:
    with open(path, "w") as f:
        f.write("# a comment line the reader ignores\n")
        for line in lines:
            f.write(json.dumps(line) + "\n")
    return path


def assert_png(path: Path) -> None:
    assert path.is_file(), path
    data = path.read_bytes()
    assert len(data) > len(PNG_MAGIC) and data[:8] == PNG_MAGIC, path


def test_every_curve_is_drawn(plots, tmp_path, capsys):
    results = write_lines(tmp_path / "results.jsonl",
                          engine_scaling_lines() + latency_rates_lines() + journal_lines()
                          + subscriber_scaling_lines())
    out = tmp_path / "perf"
    assert plots.main([str(results), str(out)]) == 0
    for name in CURVES:
        assert_png(out / name)
    assert sorted(p.name for p in out.iterdir()) == sorted(CURVES)
    assert "skipped" not in capsys.readouterr().err


def test_a_missing_curve_is_skipped_with_a_note(plots, tmp_path, capsys):
    # engine_scaling lines without the per-CPU extra: the figure has two panels, not three
    results = write_lines(tmp_path / "results.jsonl",
                          engine_scaling_lines(per_cpu=False) + journal_lines())
    out = tmp_path / "perf"
    assert plots.main([str(results), str(out)]) == 0
    assert_png(out / "engine_scaling.png")
    assert_png(out / "journal.png")
    assert not (out / "latency_rates.png").exists()
    assert not (out / "subscriber_scaling.png").exists()
    err = capsys.readouterr().err
    assert "latency_rates.png skipped" in err and "subscriber_scaling.png skipped" in err


def test_no_results_at_all(plots, tmp_path, capsys):
    results = write_lines(tmp_path / "results.jsonl", [])
    assert plots.main([str(results), str(tmp_path / "perf")]) == 0
    assert list((tmp_path / "perf").iterdir()) == []
    assert capsys.readouterr().err.count("skipped") == len(CURVES)


def test_command_line(tmp_path):
    pytest.importorskip("matplotlib")
    results = write_lines(tmp_path / "results.jsonl", subscriber_scaling_lines())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    out = subprocess.run([sys.executable, "-m", "benchmarks.plots", str(results),
                          str(tmp_path / "perf")], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert_png(tmp_path / "perf" / "subscriber_scaling.png")
    assert "engine_scaling.png skipped" in out.stderr
