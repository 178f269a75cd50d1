"""mdstream edge: serve the gRPC API from a NATS JetStream stream (no engine).

    mdstream serve --publish nats://nats:4222                      # the engine publishes
    mdstream edge --source nats://nats:4222 --port 50051           # any number of edges
"""

from __future__ import annotations

import argparse
import logging
import time

from mdstream.cli import options
from mdstream.cli.logs import add_logging_options, failer, setup_logging
from mdstream.cli.settings import add_config_options

__all__ = ["add_parser", "run"]

log = logging.getLogger("mdstream.edge")

DESCRIPTION = (
    "Serve the same gRPC API as 'mdstream serve' (StreamBatches, StreamResults, GetSnapshot, "
    "ListSymbols, GetStats, health, reflection) from the JetStream stream that 'mdstream serve "
    "--publish' writes, with no engine of its own: clients may resume with from_seq on any edge "
    "with no gap and no duplicate. Prints 'gRPC server listening on HOST:PORT' once it accepts "
    "connections; health is NOT_SERVING while NATS cannot be reached. Stops on Ctrl-C or SIGTERM.")


def add_parser(sub) -> argparse.ArgumentParser:
    """Add the edge command to the subparsers ``sub``."""
    p = sub.add_parser("edge", help="serve the gRPC API from a NATS JetStream stream",
                       description=DESCRIPTION)
    g = p.add_argument_group("source")
    g.add_argument("--source", required=True, metavar="nats://HOST:PORT[,...]",
                   help="the NATS servers (several, comma-separated, for a cluster; required)")
    g.add_argument("--stream", default="MDSTREAM", metavar="NAME",
                   help="the JetStream stream to serve, serve's --publish-stream (default: MDSTREAM)")
    g.add_argument("--wait-for-stream", type=options.duration(zero=True), default=60.0,
                   metavar="SECONDS",
                   help="how long to wait at start for the stream to exist once NATS answers "
                        "(an edge started before its engine; NATS itself must answer within 10 "
                        "s), in seconds or with a unit (default: 60)")
    options.add_server_options(p, 50051)
    options.add_security_options(p)
    add_logging_options(p)
    add_config_options(p)          # and settings_parser=p
    p.set_defaults(func=run)
    return p


def _server_settings(args: argparse.Namespace) -> dict:
    """The Server's settings of the options; the security ones (MDSTREAM_TOKEN
    included) are read as serve reads them (mdstream.cli.config.security_settings)."""
    from mdstream.cli.config import security_settings
    from mdstream.grpc.auth import TOKEN_ENV, load_tokens
    from mdstream.grpc.tls import TLSFiles

    sec = security_settings(args)
    token = sec["token"]
    tokens = (load_tokens(sec["tokens"], env={TOKEN_ENV: token} if token else {})
              if sec["tokens"] or token else None)
    tls = (TLSFiles(sec["tls_cert"], sec["tls_key"], sec["tls_client_ca"])
           if sec["tls_cert"] else None)
    return {"max_streams": args.max_streams, "max_streams_per_client": args.max_streams_per_client,
            "tokens": tokens, "tls": tls, "detailed_stats": sec["detailed_stats"],
            "reflection": sec["reflection"]}


def run(args: argparse.Namespace) -> int:
    """mdstream edge: serve until Ctrl-C / SIGTERM; returns the exit status."""
    from mdstream.errors import MDStreamError
    from mdstream.grpc.server import PortInUseError, serve
    from mdstream.nats.edge import EdgeSource

    setup_logging(args.log_level, args.log_format, to="stdout")
    error = failer(args.log_format, log)
    if (args.tls_cert is None) != (args.tls_key is None):
        return error("TLS needs both --tls-cert and --tls-key")
    try:
        settings = _server_settings(args)
        source = EdgeSource(args.source, stream=args.stream,
                            wait_for_stream=args.wait_for_stream).start()
    except (MDStreamError, OSError) as exc:
        return error(str(exc))
    started = time.monotonic()

    def ready(server) -> None:
        log.info("gRPC server listening on %s", server.address)
        log.info("serving JetStream stream %s from %s (%d symbols, stream id %s); Ctrl-C to stop",
                 source.stream, ",".join(source.servers),
                 len([n for n in source.symbols if n]), source.stream_id or "not known yet")

    try:
        server = serve(source, args.host, args.port, grace=args.grace, on_ready=ready, **settings)
    except PortInUseError as exc:
        source.stop()
        return error(str(exc))
    log.info("stopped after %.1f s: %d streams served", time.monotonic() - started,
             server.servicer.streams_served)
    return 0
