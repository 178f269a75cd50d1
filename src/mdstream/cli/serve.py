"""mdstream serve: a node (engine + feed + journal + gRPC server, metrics,
dashboard) until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import threading
import time

from mdstream.cli import options
from mdstream.cli.config import node_config
from mdstream.cli.data_end import DataEndWatcher
from mdstream.cli.logs import add_logging_options, failer, setup_logging
from mdstream.cli.output import plural
from mdstream.cli.process import EXIT_ERROR, CommandError, error
from mdstream.cli.progress import ProgressReporter
from mdstream.cli.settings import add_config_options
from mdstream.cli.venue_options import add_venue_options, venue_config

__all__ = ["add_parser", "run", "journal_line", "feed_line", "venue_line"]

log = logging.getLogger("mdstream.serve")

DESCRIPTION = (
    "Run an engine fed by the simulated feed, recorded data (CSV, Parquet, DBN) or live venue "
    "feeds, and serve it over gRPC (mdstream.v1.MDStream, plus health and reflection). Logs "
    "'gRPC server listening on HOST:PORT' (on stdout, like all its status lines) once it "
    "accepts connections. When a finite feed ends (a replay without --loop, or --count), it "
    "logs that the data ended and keeps serving, so late clients can still take a snapshot or "
    "resume from a sequence number. Stops cleanly on Ctrl-C or SIGTERM.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the serve command to the subparsers ``sub``."""
    p = sub.add_parser(
        "serve", help="run an engine (simulated or recorded data) and serve it over gRPC",
        description=DESCRIPTION)
    options.add_feed_options(p)
    options.add_engine_options(p)
    options.add_journal_options(p)
    options.add_server_options(p, 50051)
    options.add_policy_options(p)
    options.add_observability_options(p)
    options.add_security_options(p)
    add_venue_options(p)
    _add_publish_options(p)
    g = p.add_argument_group("progress of a file replay (csv, parquet, dbn)")
    g.add_argument("--progress-interval", type=options.duration(zero=True), default=5.0,
                   metavar="DURATION",
                   help="when stderr is not a terminal, log the scan's and the replay's "
                        "progress (rows done of all, event time, rows/s, ETA) this often, in "
                        "seconds or with a unit; 0: never. On a terminal a progress bar shows "
                        "it (default: 5s)")
    add_logging_options(p)
    add_config_options(p)          # and settings_parser=p
    p.set_defaults(func=run)
    return p


def _add_publish_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("publishing to NATS JetStream (pip install 'mdstream[nats]')")
    g.add_argument("--publish", metavar="nats://HOST:PORT[,...]",
                   help="publish every result to a JetStream stream on these NATS servers "
                        "(edges serve it: mdstream edge --source ...) (default: none, no "
                        "publishing)")
    g.add_argument("--publish-stream", default="MDSTREAM", metavar="NAME",
                   help="the JetStream stream, created when missing (default: MDSTREAM)")
    g.add_argument("--publish-subject-prefix", default="mdstream", metavar="PREFIX",
                   help="subjects are PREFIX.SYMBOL (default: mdstream)")
    g.add_argument("--publish-replicas", type=int, default=1, metavar="N",
                   help="copies of the stream in the NATS cluster, 1-5 (default: 1)")
    g.add_argument("--publish-storage", choices=("file", "memory"), default="file",
                   help="JetStream storage of the stream (default: file)")


def publish_config(args: argparse.Namespace):
    """The PublishConfig of --publish and its options, or None without --publish."""
    given = [opt for opt, value, default in (
        ("--publish-stream", args.publish_stream, "MDSTREAM"),
        ("--publish-subject-prefix", args.publish_subject_prefix, "mdstream"),
        ("--publish-replicas", args.publish_replicas, 1),
        ("--publish-storage", args.publish_storage, "file")) if value != default]
    if args.publish is None:
        if given:
            raise CommandError(f"{', '.join(given)}: options of --publish nats://HOST:PORT")
        return None
    from mdstream.nats.config import PublishConfig

    return PublishConfig(args.publish, stream=args.publish_stream,
                         subject_prefix=args.publish_subject_prefix,
                         replicas=args.publish_replicas, storage=args.publish_storage)


def journal_line(engine, directory: str) -> str:
    """What the start found in the journal directory (from engine.stats().journal)."""
    r = engine.stats().journal
    if r.recovered_segments == 0:
        return f"journal {directory}: new ({r.durability} durability)"
    held = "" if r.oldest_seq is None else f"seq {r.oldest_seq:,} to {r.next_seq - 1:,} "
    line = (f"journal {directory}: recovered {held}from {plural(r.recovered_segments, 'segment')} "
            f"({plural(r.recovered_results, 'result')} replayed into the analytics), continuing "
            f"at seq {r.next_seq:,}")
    if r.torn_bytes_cut:
        line += f"; cut a torn tail of {r.torn_bytes_cut:,} bytes from {r.torn_file}"
    else:
        line += "; no torn tail"
    return line


def feed_line(node) -> str:
    """What the node's feed does: 'simulating 5 symbols (...) at 100,000 ticks/s'."""
    from mdstream.feeds.configs import pace_text

    feed, spec = node.feed, node.config.feed
    names = list(feed.symbols)
    shown = ",".join(names[:8]) + (f",... ({len(names)} in all)" if len(names) > 8 else "")
    if spec.kind == "csv":
        files = ", ".join(f"{os.path.basename(p)} ({fmt.name or fmt.kind})"
                          for p, fmt in zip(feed.paths, feed.formats))
        pace = pace_text(feed.speed)
        bad = f" ({plural(feed.bad_rows, 'bad row')} skipped)" if feed.bad_rows else ""
        return (f"replaying {feed.rows:,} rows{bad} of {plural(len(names), 'symbol')} "
                f"({shown}) from {files} {pace}{', looping' if feed.loop else ''}")
    if spec.kind != "sim":
        describe = getattr(spec, "describe", None)
        if describe is not None:
            return describe(feed)
        return f"{spec.kind} feed: {plural(len(names), 'symbol')} ({shown})"
    rate = "max" if spec.rate == 0 else f"{spec.rate:,.0f}"
    count = f", {spec.count:,} ticks in all" if spec.count else ""
    return f"simulating {len(names)} symbols ({shown}) at {rate} ticks/s{count}"


def venue_line(venue) -> str:
    """What the paper venue takes: 'paper venue: accounts paper, desk2; latency 5ms'."""
    from mdstream.durations import format_duration_ns

    names = sorted(venue.accounts)
    shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
    latency = format_duration_ns(venue.latency_ns) if venue.latency_ns else "none"
    return (f"paper venue: taking orders for account{'s' if len(names) != 1 else ''} {shown}; "
            f"latency {latency}{', queue position' if venue.queue_position else ''}")


def _bar_names(engine) -> list[str]:
    from mdstream.durations import format_duration_ns
    return [format_duration_ns(ns) for ns in engine.bar_intervals_ns]


def _exit_on_journal_error(node) -> tuple[threading.Event, list[str]]:
    """With --on-journal-error exit (the journal's on_error="stop"): an event
    that stops the node when the journal cannot be written, and the list
    that then holds the error."""
    stop = threading.Event()
    failed: list[str] = []
    journal = node.config.journal
    if journal is not None and journal.on_error == "stop":
        def on_error(text: str | None) -> None:
            if text is not None and not failed:
                failed.append(text)
                stop.set()
        node.engine.on_journal_error(on_error)
    return stop, failed


def run(args: argparse.Namespace) -> int:
    """mdstream serve: a node until Ctrl-C / SIGTERM; returns the exit status."""
    from mdstream.errors import MDStreamError
    from mdstream.feeds.csv import ReplayProgress
    from mdstream.grpc.server import PortInUseError
    from mdstream.nats.stream import NatsError
    from mdstream.node import EndpointError, Node

    setup_logging(args.log_level, args.log_format, to="stdout")
    fail = failer(args.log_format, log)
    progress = ReplayProgress()
    # A progress bar on a terminal, unless the log is JSON (meant for a machine).
    reporter = ProgressReporter(progress, interval=args.progress_interval,
                                speed=1.0 if args.speed is None else args.speed,
                                terminal=None if args.log_format == "text" else False)
    try:
        config = dataclasses.replace(node_config(args, progress),
                                     allowed_policies=args.allowed_policies,
                                     block_deadline=args.block_deadline or None,
                                     publish=publish_config(args),
                                     venue=venue_config(args))
        if getattr(config.feed, "progress", None) is progress:   # a file replay
            reporter.start()                  # the scan runs while the node is made
        node = Node(config)
    except (CommandError, MDStreamError) as exc:
        reporter.stop()
        return fail(str(exc))
    except OSError as exc:
        reporter.stop()
        return fail(f"{exc.filename or ''}: {exc.strerror}" if exc.strerror else str(exc))
    if config.journal is not None:
        log.info("%s", journal_line(node.engine, args.journal))

    started = time.monotonic()
    watcher = DataEndWatcher(node, started)
    stop, journal_failed = _exit_on_journal_error(node)

    def ready(node: Node) -> None:
        log.info("gRPC server listening on %s", node.address)
        log.info("%s with %d workers%s; Ctrl-C to stop", feed_line(node), config.workers,
                 f", bars {','.join(_bar_names(node.engine))}" if config.bars else "")
        if config.venue is not None:
            log.info("%s", venue_line(config.venue))
        if node.metrics_url is not None:
            log.info("Prometheus metrics at %s", node.metrics_url)
        if node.dashboard_url is not None:
            log.info("dashboard at %s", node.dashboard_url)
        if node.publisher is not None:
            log.info("publishing to JetStream stream %s at %s from seq %s",
                     node.publisher.settings.name, ",".join(node.publisher.servers),
                     f"{node.publisher.stats().resumed_from:,}")
        watcher.start()

    status = 0
    try:
        node.run(on_ready=ready, stop_event=stop)
    except (EndpointError, PortInUseError, NatsError) as exc:
        return fail(str(exc))
    except MDStreamError as exc:
        # The feed's error, raised again when the engine stopped (already
        # reported by the watcher if it saw it).
        if watcher.failed is None:
            fail(f"the feed stopped: {exc}")
        status = EXIT_ERROR
    finally:
        watcher.stop()
        reporter.stop()
    if watcher.failed is not None:
        status = EXIT_ERROR
    if journal_failed:
        fail(f"stopped: {journal_failed[0]} (--on-journal-error exit)")
        status = EXIT_ERROR
    stats = node.engine.stats()
    served = node.server.servicer.streams_served if node.server is not None else 0
    log.info("stopped after %.1f s: %s results processed, %d streams served",
             time.monotonic() - started, f"{stats.processed:,}", served)
    return status
