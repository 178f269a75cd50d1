"""The live terminal view of a server's statistics (``mdstream stats``).

Built with the rich library from what GetStats returns (a
:class:`mdstream.grpc.stats.RemoteStats`): throughput, latency percentiles
per stage, the subscribers with their lag, and the engine's and journal's
state. ``render`` makes one frame; ``run`` refreshes it in place every
``interval`` seconds, or prints it once. Text from the server (symbol names,
the feed, peers, paths) is shown as plain text with its control characters
escaped (mdstream.text.printable), never as rich markup nor raw.
"""

from __future__ import annotations

import datetime as _dt
import time
from typing import TYPE_CHECKING, Callable

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from mdstream.text import printable

if TYPE_CHECKING:
    from mdstream.grpc.stats import RemoteStats

__all__ = ["render", "run", "format_ns", "format_bytes", "format_count"]

#: Stages in the order of the data path, with what each measures.
STAGES = (
    ("feed_to_ingest", "source -> engine"),
    ("ingest_to_processed", "engine -> analytics done"),
    ("processed_to_sent", "analytics -> subscriber"),
    ("age_at_send", "source -> subscriber"),
)


# -- formatting -----------------------------------------------------------------

def format_ns(ns: float) -> str:
    """A duration in ns, in the unit that keeps it short: 850 ns, 12.3 µs, 4.56 ms, 2.1 d."""
    if ns <= 0:
        return "-"
    for limit, unit, scale, fmt in ((1e3, "ns", 1, "{:.0f}"), (1e6, "µs", 1e3, "{:.1f}"),
                                    (1e9, "ms", 1e6, "{:.2f}"), (60e9, "s", 1e9, "{:.2f}"),
                                    (3600e9, "min", 60e9, "{:.1f}"), (86400e9, "h", 3600e9, "{:.1f}")):
        if ns < limit:
            return f"{fmt.format(ns / scale)} {unit}"
    return f"{ns / 86400e9:,.1f} d"


def format_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:,.1f} TiB"   # pragma: no cover - unreachable


def format_count(n: float) -> str:
    return f"{n:,.0f}"


def _plain(value: object) -> Text:
    """Untrusted text as a cell: control characters escaped, no markup."""
    return Text(printable(value))


def _markup_safe(value: object) -> str:
    """Untrusted text inside a markup string."""
    return escape(printable(value))


def _uptime(s: float) -> str:
    s = int(s)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}h{m:02d}m{sec:02d}s" if h else (f"{m}m{sec:02d}s" if m else f"{sec}s")


# -- the frame ------------------------------------------------------------------

def _header(st: "RemoteStats", target: str) -> Text:
    e = st.engine
    workers = len(e.processed_per_worker)       # none on an edge: it serves a NATS stream
    state = ("[bold green]running[/]" if e.running and not e.finished
             else "[bold yellow]data ended, still serving[/]" if e.finished
             else "[bold red]stopped[/]")
    when = _dt.datetime.fromtimestamp(st.server_time_ns / 1e9).strftime("%H:%M:%S")
    return Text.from_markup(
        f"[bold]mdstream[/] {_markup_safe(target)}  {state}  up {_uptime(e.uptime_s)}  "
        f"[dim]at {when}[/]\n"
        f"feed: {_markup_safe(st.feed)}  symbols: {st.symbols}  "
        f"{f'workers: {workers}  ' if workers else ''}"
        f"streams: {st.streams_open}/{st.max_streams}")


def _throughput(st: "RemoteStats") -> Table:
    r, a, e = st.rates, st.average, st.engine
    messages = sum(x.messages_sent for x in st.rpcs.values())
    nbytes = sum(x.bytes_sent for x in st.rpcs.values())
    t = Table(title=f"throughput (now: over the last {r.window_s:.1f} s)", box=box.SIMPLE_HEAD,
              title_justify="left")
    t.add_column("counter")
    t.add_column("now /s", justify="right")
    t.add_column("avg /s", justify="right")
    t.add_column("total", justify="right")
    t.add_row("ticks in", format_count(r.ticks_in_per_s), format_count(a.ticks_in_per_s),
              format_count(e.ticks_in))
    t.add_row("processed", format_count(r.processed_per_s), format_count(a.processed_per_s),
              format_count(e.processed))
    t.add_row("results", format_count(r.results_per_s), format_count(a.results_per_s),
              format_count(e.results))
    t.add_row("messages sent", format_count(r.messages_sent_per_s),
              format_count(a.messages_sent_per_s), format_count(messages))
    t.add_row("bytes sent", format_bytes(r.bytes_sent_per_s), format_bytes(a.bytes_sent_per_s),
              format_bytes(nbytes))
    return t


def _latency(st: "RemoteStats") -> Table:
    t = Table(title="latency per stage (last 10 s; p99 since start)", box=box.SIMPLE_HEAD,
              title_justify="left")
    for name, justify in (("stage", "left"), ("", "left"), ("p50", "right"), ("p90", "right"),
                          ("p99", "right"), ("p99.9", "right"), ("max", "right"),
                          ("count", "right"), ("p99 total", "right")):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]  # the literals above
    latency = st.engine.latency
    known = [s for s, _ in STAGES]
    for stage, what in STAGES + tuple((s, "") for s in latency if s not in known):
        lat = latency.get(stage)
        if lat is None:
            continue
        w = lat.window
        t.add_row(stage, Text(what, style="dim"), format_ns(w.p50), format_ns(w.p90),
                  format_ns(w.p99), format_ns(w.p999), format_ns(w.max), format_count(w.count),
                  format_ns(lat.total.p99))
    return t


def _subscribers(st: "RemoteStats") -> Table:
    t = Table(title="subscribers", box=box.SIMPLE_HEAD, title_justify="left")
    for name, justify in (("id", "right"), ("stream", "left"), ("client", "left"),
                          ("symbols", "left"), ("policy", "left"), ("delivered", "right"),
                          ("lag", "right"), ("missed", "right"), ("sent", "right"),
                          ("to subscriber p99", "right")):
        t.add_column(name, justify=justify)  # type: ignore[arg-type]  # the literals above
    for s in st.engine.subscriptions:
        info = st.streams.get(s.id)
        symbols = "all" if not s.symbols else ",".join(printable(n) for n in s.symbols)
        if len(symbols) > 24:
            symbols = symbols[:21] + "..."
        lag_style = "bold red" if s.disconnected else ("yellow" if s.lag > 0 else "")
        lat = s.latency.get("processed_to_sent")
        t.add_row(str(s.id), _plain(info.rpc) if info else "in-process",
                  _plain(info.peer) if info else "-", Text(symbols),
                  _plain(s.policy + (" (dropped)" if s.disconnected else "")),
                  format_count(s.delivered), Text(format_count(s.lag), style=lag_style),
                  format_count(s.missed),
                  format_bytes(info.bytes_sent) if info else "-",
                  format_ns(lat.window.p99) if lat else "-")
    if not st.engine.subscriptions:
        t.add_row("", Text("no subscribers", style="dim"), "", "", "", "", "", "", "", "")
    return t


def _footer(st: "RemoteStats") -> Text:
    e = st.engine
    depth = " ".join(f"w{i}={d:,}" for i, d in enumerate(e.channel_depth))
    parts = [f"channel depth: {depth}", f"dropped (skip): {e.dropped:,}",
             f"disconnected: {e.disconnected:,}", f"bad rows: {e.bad_rows:,}"]
    line = Text("  ".join(parts))
    j = st.journal
    if j is not None:
        line.append("\n")
        state = (Text(f"error: {printable(j.error)}", style="bold red") if j.error
                 else Text("ok", style="green"))
        line.append(f"journal {printable(j.directory)} ({printable(j.durability)}): ")
        line.append(state)
        oldest = "-" if j.oldest_seq < 0 else f"{j.oldest_seq:,}"
        line.append(f", written up to seq {j.written_seq:,}, resumable from {oldest}, "
                    f"{format_bytes(j.bytes)} written, {j.fsyncs:,} fsyncs")
        if j.recovered_segments:
            line.append(f"; recovered {j.recovered_results:,} results at start"
                        + (f", cut {j.torn_bytes_cut:,} torn bytes" if j.torn_bytes_cut else ""))
    return line


def render(st: "RemoteStats", target: str):
    """One frame of the view (a rich renderable)."""
    return Group(_header(st, target), _throughput(st), _latency(st), _subscribers(st), _footer(st))


# -- running it -----------------------------------------------------------------

def run(fetch: Callable[[], "RemoteStats"], target: str, *, interval: float = 1.0,
        once: bool = False, console: Console | None = None) -> None:
    """Show the stats that ``fetch()`` returns: once, or refreshed every
    ``interval`` seconds until Ctrl-C (which returns normally). Errors of
    ``fetch`` propagate."""
    console = console or Console()
    if once:
        console.print(render(fetch(), target))
        return
    if not console.is_terminal:
        # A pipe or a file: frames one after the other (a live region needs a terminal).
        try:
            while True:
                console.print(render(fetch(), target))
                console.file.flush()
                time.sleep(interval)
        except KeyboardInterrupt:
            return
    with Live(render(fetch(), target), console=console, auto_refresh=False,
              screen=False, transient=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render(fetch(), target), refresh=True)
        except KeyboardInterrupt:
            pass
