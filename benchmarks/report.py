"""Turn the suite's JSON lines into the Markdown table of docs/PERFORMANCE.md.

    python -m benchmarks --output results.jsonl
    python -m benchmarks.report results.jsonl [more.jsonl ...]

Each result line becomes a row: mdstream's median (min-max), the baseline's
median, the speedup, and the target. Lines of the same benchmark and case
from several files are all listed (one row per run of the suite).
"""

from __future__ import annotations

import json
import sys


def _fmt(v: float, unit: str) -> str:
    if unit in ("ticks/s", "items/s", "orders/s", "loop iterations/s"):
        if v >= 1e6:
            return f"{v / 1e6:,.2f} M"
        if v >= 1e3:
            return f"{v / 1e3:,.1f} k"
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    return f"{v:,.3g}" if abs(v) < 10 else f"{v:,.1f}"


def row(line: dict) -> str:
    unit = line["unit"]
    value = f"{_fmt(line['median'], unit)} ({_fmt(line['min'], unit)}–{_fmt(line['max'], unit)})"
    base = line.get("baseline")
    base_s = f"{_fmt(base['median'], unit)}" if base else ""
    speed = line.get("speedup")
    if line["benchmark"] == "gil" or unit == "fraction":
        speed_s = f"{line.get('ratio', 0):.0%} of baseline" if "ratio" in line else ""
    else:
        speed_s = f"{speed:,.1f}x" if speed else ""
    return (f"| {line['benchmark']} | {line['case']} | {unit} | {value} | {base_s} | {speed_s} | "
            f"{line.get('target', '')} |")


def main(argv=None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    print("| benchmark | case | unit | mdstream median (min–max) | baseline median | mdstream vs "
          "baseline | target |")
    print("|---|---|---|---|---|---|---|")
    for path in paths:
        with open(path) as f:
            for text in f:
                if text.startswith("{"):
                    print(row(json.loads(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
