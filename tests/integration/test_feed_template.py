"""examples/feed_template, pip-installed (into a directory put on the path) as
a third party would, and run with `mdstream serve --feed jsonl:...` and a client."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mdstream import TRADE
from mdstream.grpc.client import Client

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "examples" / "feed_template"
TRADES_CSV = ROOT / "tests" / "data" / "real" / "tardis_trades.csv"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    build = tmp_path_factory.mktemp("build")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(TEMPLATE)],
        capture_output=True, text=True, timeout=150, cwd=build)
    assert done.returncode == 0, done.stderr
    assert (target / "mdstream_feed_template").is_dir()
    return target


def test_the_installed_template_is_a_feed_of_serve(installed, tmp_path):
    ref = pd.read_csv(TRADES_CSV).head(2000)
    data = tmp_path / "trades.jsonl"
    with open(data, "w") as f:
        for r in ref.itertuples():
            f.write(json.dumps({"ts_ns": int(r.timestamp) * 1000, "symbol": r.symbol,
                                "price": r.price, "size": r.amount}) + "\n")
    env = {**os.environ, "PYTHONPATH": str(installed), "PYTHONUNBUFFERED": "1"}
    names = subprocess.run([sys.executable, "-c", "from mdstream.feeds import feed_names; "
                            "print(feed_names())"], capture_output=True, text=True, env=env)
    assert "'jsonl'" in names.stdout, names

    proc = subprocess.Popen([sys.executable, "-m", "mdstream", "serve", "--port", "0", "--feed",
                             f"jsonl:{data}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        port = None
        for line in proc.stdout:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+)", line)
            if m:
                port = int(m.group(1))
            if "jsonl: 2,000 trades of BTCUSDT" in line:
                break
        assert port, proc.poll()
        with Client(f"127.0.0.1:{port}") as client:
            stream = client.stream_batches(from_seq=0)
            got = []
            for batch in stream:
                got.append(batch.rows.copy())
                if sum(map(len, got)) >= 2000:
                    break
            stream.cancel()
        rows = np.concatenate(got)
        assert len(rows) == 2000 and (rows["kind"] == TRADE).all()
        np.testing.assert_array_equal(rows["price"], ref.price.to_numpy())
        vwap = (ref.price * ref.amount).sum() / ref.amount.sum()
        assert rows["vwap"][-1] == pytest.approx(vwap, rel=1e-12)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0

    # An option the template's factory does not declare is refused, by name.
    done = subprocess.run([sys.executable, "-m", "mdstream", "serve", "--port", "0", "--feed",
                           f"jsonl:{data}", "--loop"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert done.returncode != 0 and "--loop: not an option of --feed jsonl" in done.stderr
