"""Curves of benchmark results: PNG figures, each mdstream against its same-run baseline.

    python -m benchmarks engine_scaling latency_rates journal --output results.jsonl
    python -m benchmarks.plots results.jsonl docs/perf

reads the JSON lines the suite wrote and draws, one figure per curve:

- ``engine_scaling.png``: ticks/s against symbols, one line per worker count,
  the queue.Queue baseline dashed; ticks per CPU second when the lines have
  it; and the process's peak RSS growth;
- ``latency_rates.png``: p50 / p99 / p99.9 against the input rate, one line
  per subscriber path, the pre-encoded grpcio baseline dashed;
- ``journal.png``: ticks/s at each journal durability against no journal;
- ``subscriber_scaling.png``: aggregate ticks/s and fairness (slowest over
  fastest subscriber) against subscribers, one line per filter, the plain
  grpcio server dashed.

Points are medians; error bars span the runs' min to max. A curve with no
lines in the file is skipped with a note on stderr. When the file holds
several lines for the same point (runs appended to one file), the last wins.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Iterable, Sequence

__all__ = ["load", "make_plots", "main", "CURVES"]


def load(path: str | Path) -> list[dict]:
    """The JSON objects of a results file, one per line (other lines are ignored)."""
    lines = []
    with open(path) as f:
        for text in f:
            text = text.strip()
            if not text.startswith("{"):
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError:
                continue
            if isinstance(obj, dict) and "benchmark" in obj:
                lines.append(obj)
    return lines


def _latest(lines: Iterable[dict], key: Callable[[dict], tuple]) -> dict[tuple, dict]:
    out: dict[tuple, dict] = {}
    for line in lines:
        out[key(line)] = line
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _spread(lines: Sequence[dict], get: Callable[[dict], dict | None]):
    """Medians and (below, above) error bar lengths from summaries (median/min/max)."""
    med, lo, hi = [], [], []
    for line in lines:
        s = get(line) or {}
        m = s.get("median", float("nan"))
        med.append(m)
        lo.append(max(0.0, m - s.get("min", m)))
        hi.append(max(0.0, s.get("max", m) - m))
    return med, [lo, hi]


def _eng():
    from matplotlib.ticker import EngFormatter

    return EngFormatter(sep="")


def _footer(fig, lines: Sequence[dict]) -> None:
    m = lines[0].get("machine", {})
    runs = sorted({len(line.get("runs", [])) for line in lines})
    loads = [line["loadavg_1m"] for line in lines if "loadavg_1m" in line]
    text = (f"{m.get('cpu', '?')}, {m.get('cores', '?')} cores; mdstream {m.get('mdstream', '?')}, "
            f"Python {m.get('python', '?')}; median of {'/'.join(map(str, runs))} run(s), "
            f"bars: min-max")
    if loads:
        text += f"; load avg {min(loads):.1f}-{max(loads):.1f}"
    fig.text(0.01, 0.005, text, fontsize=7, color="0.35", ha="left", va="bottom")


def _baseline_name(lines: Sequence[dict]) -> str:
    """The baseline's name for a legend: up to its first parenthesis or comma."""
    for line in lines:
        name = (line.get("baseline") or {}).get("name")
        if name:
            return name.split(" (")[0].split(",")[0][:48]
    return "baseline"


def _medians(ax, ls: Sequence[dict], x: str, color: str, label: str, base_label: str) -> None:
    """Medians (bars: min-max) against params[x]: mdstream solid, the same run's
    baseline dashed."""
    med, err = _spread(ls, lambda l: l)
    ax.errorbar([l["params"][x] for l in ls], med, yerr=err, color=color, marker="o",
                capsize=3, label=label)
    with_base = [l for l in ls if l.get("baseline")]
    if with_base:
        med, err = _spread(with_base, lambda l: l["baseline"])
        ax.errorbar([l["params"][x] for l in with_base], med, yerr=err, color=color,
                    marker="s", mfc="none", linestyle="--", capsize=3, label=base_label)


def _extra(ax, ls: Sequence[dict], x: str, key: str, base_key: str, color: str, label: str,
           base_label: str) -> None:
    """An extra of the lines (and the baseline's) against params[x], where present."""
    for k, style, name in ((key, {}, label),
                           (base_key, {"mfc": "none", "linestyle": "--"}, base_label)):
        ys = [(l["params"][x], l[k]) for l in ls if l.get(k) is not None]
        if ys:
            ax.plot(*zip(*ys), color=color, marker="s" if style else "o", label=name, **style)


def _save(fig, out: Path, layout: bool = True) -> Path:
    if layout:
        fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(out, dpi=110)
    _pyplot().close(fig)
    return out


# -- the curves ------------------------------------------------------------------------

def plot_engine_scaling(lines: list[dict], out: Path) -> Path | None:
    pts = _latest((l for l in lines if l.get("benchmark") == "engine_scaling"
                   and "symbols" in l.get("params", {}) and "workers" in l.get("params", {})),
                  lambda l: (l["params"]["workers"], l["params"]["symbols"]))
    if not pts:
        return None
    # A middle panel of ticks per CPU second when the lines have it (less noisy on a
    # shared machine than ticks/s).
    per_cpu = any(l.get("ticks_per_cpu_s") for l in pts.values())
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3 if per_cpu else 2, figsize=(17 if per_cpu else 12, 4.8))
    ax1, ax2 = axes[0], axes[-1]
    for i, w in enumerate(sorted({k[0] for k in pts})):
        color = f"C{i}"
        ls = [pts[k] for k in sorted(pts) if k[0] == w]
        label = f"{w} worker{'s' if w > 1 else ''}"
        names = (f"mdstream, {label}", f"queue.Queue baseline, {label}")
        _medians(ax1, ls, "symbols", color, *names)
        panels = [(ax2, "rss_mb", "baseline_rss_mb")]
        if per_cpu:
            panels.insert(0, (axes[1], "ticks_per_cpu_s", "baseline_ticks_per_cpu_s"))
        for ax, key, base_key in panels:
            _extra(ax, ls, "symbols", key, base_key, color, *names)
    ax1.set(xscale="log", yscale="log", xlabel="symbols", ylabel="throughput (ticks/s)",
            title="Engine throughput against symbols")
    if per_cpu:
        axes[1].set(xscale="log", yscale="log", xlabel="symbols",
                    ylabel="ticks per CPU second (ticks/s / cores used)",
                    title="Throughput per CPU second against symbols")
    ax2.set(xscale="log", xlabel="symbols", ylabel="peak RSS growth (MB)",
            title="Process memory against symbols")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    _footer(fig, list(pts.values()))
    return _save(fig, out)


_PCTS = (("p50", "p50 (ms)", lambda l: l, lambda l: l.get("baseline")),
         ("p99", "p99 (ms)", lambda l: l.get("p99_ms"), lambda l: l.get("baseline_p99_ms")),
         ("p99.9", "p99.9 (ms)", lambda l: l.get("p999_ms"), lambda l: l.get("baseline_p999_ms")))


def _rate_label(rate: float) -> str:
    if rate == 0:
        return "limit"
    if rate >= 1e6 and rate % 1e6 == 0:
        return f"{rate / 1e6:g}M"
    if rate >= 1e3 and rate % 1e3 == 0:
        return f"{rate / 1e3:g}k"
    return f"{rate:g}"


def plot_latency_rates(lines: list[dict], out: Path) -> Path | None:
    pts = _latest((l for l in lines if l.get("benchmark") == "latency_rates"
                   and "subscriber" in l.get("params", {}) and "rate" in l.get("params", {})),
                  lambda l: (l["params"]["subscriber"], float(l["params"]["rate"])))
    if not pts:
        return None
    # Fixed rates in order, then the limit (rate 0: as fast as it goes) at the right.
    rates = sorted({k[1] for k in pts}, key=lambda r: (r == 0, r))
    pos = {r: i for i, r in enumerate(rates)}
    subs = list(dict.fromkeys(k[0] for k in pts))
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), sharex=True)
    for ax, (name, ylabel, get, get_base) in zip(axes, _PCTS):
        for i, sub in enumerate(subs):
            ls = sorted((pts[k] for k in pts if k[0] == sub),
                        key=lambda l: pos[float(l["params"]["rate"])])
            ls = [l for l in ls if get(l)]
            if not ls:
                continue
            med, err = _spread(ls, get)
            ax.errorbar([pos[float(l["params"]["rate"])] for l in ls], med, yerr=err,
                        color=f"C{i}", marker="o", capsize=3, label=sub)
        # The baseline is the same at a rate for every subscriber: one dashed line.
        base = {}
        for k, l in pts.items():
            if get_base(l) and k[1] not in base:
                base[k[1]] = l
        if base:
            bl = [base[r] for r in rates if r in base]
            med, err = _spread(bl, get_base)
            ax.errorbar([pos[float(l["params"]["rate"])] for l in bl], med, yerr=err,
                        color="black", marker="s", mfc="none", linestyle="--", capsize=3,
                        label="pre-encoded grpcio baseline")
        ax.set(yscale="log", ylabel=f"latency {ylabel}", xlabel="input rate (ticks/s)",
               title=f"{name}: feed timestamp to subscriber")
        ax.set_xticks(range(len(rates)), [_rate_label(r) for r in rates])
        ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center right", fontsize=8, title="subscriber path")
    _footer(fig, list(pts.values()))
    fig.tight_layout(rect=(0, 0.03, 0.87, 1))
    return _save(fig, out, layout=False)


def plot_journal(lines: list[dict], out: Path) -> Path | None:
    pts = _latest((l for l in lines if l.get("benchmark") == "journal"
                   and l.get("params", {}).get("durability")),
                  lambda l: (l["params"]["durability"],))
    if not pts:
        return None
    order = ["write", "interval", "fsync"]
    durs = sorted({k[0] for k in pts}, key=lambda d: (order.index(d) if d in order else 99, d))
    ls = [pts[(d,)] for d in durs]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.8))
    width = 0.38
    xs = range(len(durs))
    med, err = _spread(ls, lambda l: l)
    ax.bar([x - width / 2 for x in xs], med, width, yerr=err, capsize=3, color="C0",
           label="mdstream with the journal")
    with_base = [(x, l) for x, l in zip(xs, ls) if l.get("baseline")]
    if with_base:
        bmed, berr = _spread([l for _, l in with_base], lambda l: l["baseline"])
        ax.bar([x + width / 2 for x, _ in with_base], bmed, width, yerr=berr, capsize=3,
               color="white", edgecolor="C1", linestyle="--", linewidth=1.5, hatch="//",
               label="the same engine without a journal (same run)")
    for x, l in zip(xs, ls):
        if "ratio" in l:
            ax.annotate(f"{l['ratio']:.2f}x", (x - width / 2, l.get("max", l["median"])),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 3),
                        textcoords="offset points")
    ax.set_xticks(list(xs), [f"durability={d}" for d in durs])
    ax.set(ylabel="throughput (ticks/s)", title="Journal: ticks/s at each durability vs none")
    ax.yaxis.set_major_formatter(_eng())
    top = max([l.get("max", l["median"]) for l in ls]
              + [l["baseline"].get("max", l["baseline"]["median"]) for _, l in with_base])
    ax.set_ylim(0, top * 1.3)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    _footer(fig, ls)
    return _save(fig, out)


def plot_subscriber_scaling(lines: list[dict], out: Path) -> Path | None:
    pts = _latest((l for l in lines if l.get("benchmark") == "subscriber_scaling"
                   and "subscribers" in l.get("params", {})),
                  lambda l: (str(l["params"].get("filter", "all")), l["params"]["subscribers"]))
    if not pts:
        return None
    filters = sorted({k[0] for k in pts})
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    base_name = _baseline_name(list(pts.values()))
    for i, flt in enumerate(filters):
        color = f"C{i}"
        ls = [pts[k] for k in sorted(pts) if k[0] == flt]
        names = (f"mdstream, filter={flt}", f"{base_name}, filter={flt}")
        _medians(ax1, ls, "subscribers", color, *names)
        _extra(ax2, ls, "subscribers", "fairness", "baseline_fairness", color, *names)
    ax1.set(xscale="log", yscale="log", xlabel="subscribers",
            ylabel="aggregate throughput (ticks/s, all subscribers)",
            title="Delivered ticks/s against subscribers")
    ax2.set(xscale="log", xlabel="subscribers",
            ylabel="fairness (slowest / fastest subscriber rate)", ylim=(0, 1.05),
            title="Fairness against subscribers")
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    _footer(fig, list(pts.values()))
    return _save(fig, out)


#: file name -> the function drawing it (None when the file has no lines for it).
CURVES: dict[str, Callable[[list[dict], Path], Path | None]] = {
    "engine_scaling.png": plot_engine_scaling,
    "latency_rates.png": plot_latency_rates,
    "journal.png": plot_journal,
    "subscriber_scaling.png": plot_subscriber_scaling,
}


def make_plots(lines: list[dict], outdir: str | Path) -> list[Path]:
    """Draw every curve that has lines; the PNGs written."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, plot in CURVES.items():
        path = plot(lines, outdir / name)
        if path is None:
            print(f"plots: no {name[:-4]} results in the file: {name} skipped", file=sys.stderr)
        else:
            written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.plots",
                                description="PNG curves of benchmark results (JSON lines).")
    p.add_argument("results", help="JSON lines written by python -m benchmarks ... --output")
    p.add_argument("outdir", help="directory to write the PNGs into")
    args = p.parse_args(argv)
    for path in make_plots(load(args.results), args.outdir):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
