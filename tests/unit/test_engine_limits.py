"""Every sizing setting of the Engine has a range; outside it the error names
the setting and its range at once (nothing is allocated, nothing hangs), and
the mdstream command prints it as one line."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import mdstream
from mdstream.engine.limits import LIMITS
from mdstream.errors import InvalidArgumentError

BAD = [
    ("workers", 0), ("workers", 100_000), ("workers", 2.5), ("workers", True),
    ("ring_size", 4_294_967_296), ("ring_size", 1000), ("ring_size", 1), ("ring_size", "65536"),
    ("channel_capacity", 0), ("channel_capacity", 1 << 40),
    ("max_symbols", 0), ("max_symbols", 1 << 30),
    ("max_subscribers", 0), ("max_subscribers", 1_000_000),
    ("drain_timeout", -1), ("drain_timeout", float("nan")), ("drain_timeout", 1e9),
]


@pytest.mark.parametrize("name,value", BAD, ids=[f"{n}={v!r}" for n, v in BAD])
def test_out_of_range_settings_are_refused_naming_the_setting(name, value):
    started = time.monotonic()
    with pytest.raises(InvalidArgumentError, match=rf"^{name} must be .*from") as info:
        mdstream.Engine(**{name: value})
    assert time.monotonic() - started < 1
    if name in LIMITS:
        assert f"{LIMITS[name][1]:,}" in str(info.value)


@pytest.mark.timeout(60)
def test_the_bounds_themselves_are_accepted():
    engine = mdstream.Engine(workers=LIMITS["workers"][1], ring_size=2, channel_capacity=1,
                             max_symbols=1, max_subscribers=1, symbols=["A"])
    with engine:
        sub = engine.subscribe()
        engine.publish_trades("A", [1.0, 2.0], 1.0)
        engine.close_ingest()
        assert sum(len(b) for b in sub) == 2


@pytest.mark.timeout(60)
@pytest.mark.parametrize("flag,value", [("--ring-size", "4294967296"), ("--workers", "100000")])
def test_serve_refuses_them_in_one_line(flag, value):
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "mdstream", "serve", "--port", "0", flag, value],
                          capture_output=True, text=True, timeout=30)
    assert time.monotonic() - started < 20
    assert proc.returncode in (1, 2), proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert flag.lstrip("-").replace("-", "_") in lines[0]
