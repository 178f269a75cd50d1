"""The README's plain nats-py consumer, run as it is written against a real stream."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import mdstream
from mdstream.nats import Publisher

README = Path(__file__).resolve().parents[2] / "README.md"


def _consumer_example() -> str:
    text = README.read_text()
    section = text[text.index("## Scale-out with NATS JetStream"):]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    return next(b for b in blocks if "decode_message" in b and "asyncio.run" in b)


def test_the_readme_consumer_decodes_published_frames(nats_server, tmp_path):
    feed = mdstream.SimulatedFeed(symbols=["AAPL", "MSFT"], rate=0, count=50_000, seed=9)
    engine = mdstream.Engine(feed=feed, workers=2)
    sub = engine.subscribe(policy="block")
    publisher = Publisher(engine, nats_server.url, policy="block", max_ticks_per_frame=1000).start()
    engine.start()
    rows = [b.rows for b in sub]
    assert publisher.wait_published(49_999, 60)
    publisher.stop()
    engine.stop()
    script = tmp_path / "consumer.py"
    script.write_text(_consumer_example())
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "NATS_URL": nats_server.url})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5
    import numpy as np

    aapl = np.concatenate(rows)
    aapl = aapl[aapl["symbol_id"] == 0]
    end = 0
    for line in lines:
        subject, first, last, n, price, vwap = line.split()
        assert subject == "mdstream.AAPL"
        chunk = aapl[(aapl["seq"] >= int(first)) & (aapl["seq"] <= int(last))]
        assert int(first) > end - 1 and len(chunk) == int(n)
        assert float(price) == chunk["price"][-1] and float(vwap) == chunk["vwap"][-1]
        end = int(last) + 1
