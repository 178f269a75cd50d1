"""Time to a clear error for a client whose server is not there.

A free loopback port nobody listens on. mdstream: ``Client.wait_ready(T)``
and a first ``list_symbols()`` (``timeout=T``) each raise ConnectError
("nothing listening") as soon as the connection is refused. Baseline:
``wait_ready(T, fail_fast=False)``, which keeps trying until ``T`` (what
``wait_ready`` did before: it waited for the channel to become ready), in
the same run; ``T`` is ``--duration`` seconds. Lower is better.
"""

from __future__ import annotations

import socket
import sys
import time

from mdstream.benchmarking import result_line
from mdstream.errors import MDStreamError
from mdstream.grpc.client import Client
from mdstream.grpc.connect import ConnectError

NAME = "connect_error"


def _dead_target() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


def _time_to_error(call, expect: type[MDStreamError]) -> float:
    t0 = time.perf_counter()
    try:
        call()
    except expect:
        return (time.perf_counter() - t0) * 1000
    raise AssertionError("no error: something listens on the port")


def run(opts, machine):
    timeout = opts.duration
    target = _dead_target()
    ready, first, waited = [], [], []
    for _ in range(opts.repeat):
        with Client(target, timeout=timeout) as c:
            ready.append(_time_to_error(lambda: c.wait_ready(timeout), ConnectError))
        with Client(target, timeout=timeout) as c:
            first.append(_time_to_error(c.list_symbols, ConnectError))
        with Client(target, timeout=timeout) as c:
            waited.append(_time_to_error(lambda: c.wait_ready(timeout, fail_fast=False),
                                         MDStreamError))
    params = {"target": "a loopback port nobody listens on", "timeout_s": timeout}
    yield result_line(NAME, "wait_ready", "ms", params, ready, waited,
                      "wait_ready(fail_fast=False): waits out the timeout",
                      higher_is_better=False, machine=machine)
    yield result_line(NAME, "first_call", "ms", params, first, waited,
                      "wait_ready(fail_fast=False): waits out the timeout",
                      higher_is_better=False, machine=machine)


if __name__ == "__main__":
    from benchmarks import module_main
    sys.exit(module_main(NAME))
