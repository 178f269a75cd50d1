"""examples/ma_cross.py runs as a user runs it and its P&L adds up.

The example replays recorded trades into an engine with a paper venue and
trades a moving-average cross. It is run as a subprocess; the test reads the
fills it printed, recomputes the position, realized P&L and fees from them
with the venue's position rules, and checks the final lines against that.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ma_cross.py"

FILL = re.compile(r"^fill\s+\d+ order\s+\d+ (buy|sell)\s+([\d.]+) BTCUSDT @ ([\d.]+) fee ([\d.]+) "
                  r"-> position ([-+\d.]+) realized ([-+\d.]+) fees ([\d.]+)$")
FINAL = re.compile(r"^final BTCUSDT: position ([-+\d.]+) avg_px ([\d.]+) realized ([-+\d.]+) "
                   r"fees ([\d.]+) mark ([\d.]+) unrealized ([-+\d.]+) pnl ([-+\d.]+)$")
SUMMARY = re.compile(r"^(\d+) orders, (\d+) fills, (\d+) still open")

FEE_BPS = 2.0


class Position:
    """The venue's position rules (signed quantity, average price, realized, fees)."""

    def __init__(self):
        self.q = self.avg = self.realized = self.fees = 0.0

    def fill(self, side: str, qty: float, px: float) -> None:
        d = qty if side == "buy" else -qty
        q, a = self.q, self.avg
        if q == 0 or (q > 0) == (d > 0):
            self.avg = (a * abs(q) + px * abs(d)) / (abs(q) + abs(d))
            self.q = q + d
        else:
            closed = min(abs(d), abs(q))
            self.realized += closed * (px - a) * (1 if q > 0 else -1)
            self.q = q + d
            if abs(self.q) < 1e-12:
                self.q, self.avg = 0.0, 0.0
            elif (self.q > 0) != (q > 0):
                self.avg = px
        self.fees += px * qty * FEE_BPS / 1e4


def close(a: float, b: float, tol: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=tol)


def run_example(*args: str) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLE), "--fee-bps", str(FEE_BPS), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=100)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def check_pnl_adds_up(stdout: str) -> None:
    """The fills printed, the position recomputed from them, the final line."""
    lines = stdout.splitlines()

    fills = [FILL.match(line) for line in lines if line.startswith("fill")]
    assert fills and all(fills), [line for line in lines if line.startswith("fill")][:5]
    summary = [m for m in map(SUMMARY.match, lines) if m]
    assert len(summary) == 1, stdout[-2000:]
    orders, n_fills, _ = map(int, summary[0].groups())
    assert n_fills == len(fills) and orders >= 2

    pos = Position()
    for m in fills:
        side, qty, px, fee, position, realized, fees = m.groups()
        qty, px = float(qty), float(px)
        assert qty > 0 and px > 0
        assert close(float(fee), px * qty * FEE_BPS / 1e4, 1e-6)
        pos.fill(side, qty, px)
        # every fill's report carries the position after it: the same as recomputed
        assert close(float(position), pos.q, 1e-3), (m.group(0), pos.q)
        assert close(float(realized), pos.realized, 1e-5), (m.group(0), pos.realized)
        assert close(float(fees), pos.fees, 1e-5), (m.group(0), pos.fees)

    finals = [m for m in map(FINAL.match, lines) if m]
    assert len(finals) == 1, stdout[-2000:]
    position, avg_px, realized, fees, mark, unrealized, pnl = map(float, finals[0].groups())
    assert close(position, pos.q, 1e-3)
    assert close(avg_px, pos.avg, 1e-2)
    assert close(realized, pos.realized, 1e-5)
    assert close(fees, pos.fees, 1e-5)
    assert close(unrealized, (mark - pos.avg) * pos.q, 1e-3)
    assert close(pnl, pos.realized + (mark - pos.avg) * pos.q - pos.fees, 1e-3)


@pytest.mark.timeout(120)
def test_ma_cross_example_fills_and_its_pnl_adds_up():
    check_pnl_adds_up(run_example())


@pytest.mark.timeout(120)
def test_the_exact_run_repeats_to_the_last_digit():
    first, second = run_example("--exact"), run_example("--exact")
    check_pnl_adds_up(first)
    timing = re.compile(r", in [\d.]+ s$", re.M)
    assert timing.sub("", first) == timing.sub("", second)
