"""The commands the deployment runs: `mdstream serve --publish` and `mdstream edge`."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import urllib.request

import numpy as np

import mdstream
from nats_helpers import start_edge, stop_process, stored_seqs


def _serve(url: str, journal: str, *extra: str) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "mdstream", "serve", "--port", "0",
                             "--rate", "20000", "--journal", journal, "--publish", url, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    while True:
        line = proc.stdout.readline()
        assert line, "".join(lines)
        lines.append(line)
        if "publishing to JetStream" in line:
            return proc, "".join(lines)


def test_serve_publish_restart_and_edge(nats_server, tmp_path, processes):
    journal = str(tmp_path / "journal")
    serve, line = _serve(nats_server.url, journal)
    processes.append(serve)
    assert re.search(r"stream MDSTREAM at nats://127.0.0.1:\d+ from seq 0", line)
    edge, address = start_edge(nats_server.url)
    processes.append(edge)
    with mdstream.Client(address) as client:
        stream = client.stream_batches(from_seq=0, resume=True)
        got = []
        for batch in stream:
            got.append(batch.seq.copy())
            if batch.seq[-1] > 20_000:
                break
        serve.send_signal(signal.SIGTERM)        # stop the engine ...
        assert serve.wait(30) == 0
        restarted, line = _serve(nats_server.url, journal,      # ... and start it on its journal
                                 "--metrics-port", "0")
        processes.append(restarted)
        resumed_at = int(re.search(r"from seq ([\d,]+)", line).group(1).replace(",", ""))
        assert resumed_at > 20_000
        for batch in stream:                     # the same stream, through the same edge
            got.append(batch.seq.copy())
            if batch.seq[-1] > resumed_at + 20_000:
                break
        stream.cancel()
    seqs = np.concatenate(got)
    assert (seqs == np.arange(len(seqs))).all()                # no gap, no duplicate
    metrics = urllib.request.urlopen(re.search(r"metrics at (\S+)", line).group(1),
                                     timeout=10).read().decode()
    published = re.search(r'^mdstream_nats_published_ticks_total\{stream="MDSTREAM"\} (\S+)$',
                          metrics, re.M)
    assert published and float(published.group(1)) > 0
    stop_process(restarted)
    stored = stored_seqs(nats_server.url)
    assert (np.sort(stored) == np.arange(len(stored))).all()   # nothing twice in JetStream


def test_bad_publish_options_are_one_line_errors():
    out = subprocess.run([sys.executable, "-m", "mdstream", "serve", "--port", "0",
                          "--publish", "127.0.0.1:4222"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip() == ("mdstream: error: a NATS server is nats://HOST:PORT, "
                                  "got '127.0.0.1:4222'")
    out = subprocess.run([sys.executable, "-m", "mdstream", "edge", "--source",
                          "nats://127.0.0.1:9", "--port", "0"], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 1 and "cannot connect to NATS at nats://127.0.0.1:9" in out.stderr
