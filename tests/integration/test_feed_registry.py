"""Feeds found by name: the built-in ones, and a feed another package
registers in the ``mdstream.feeds`` entry-point group."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from mdstream.errors import InvalidArgumentError
from mdstream.feeds import CSVFeedConfig, SimulatedFeedConfig, feed_config, feed_names

PLUGIN = '''
from dataclasses import dataclass
from typing import ClassVar

from mdstream.feeds import SimulatedFeed


@dataclass(frozen=True)
class EchoConfig:
    symbols: tuple
    kind: ClassVar[str] = "echo"

    def build(self):
        return SimulatedFeed(symbols=list(self.symbols), rate=0, count=10)

    def describe(self, feed):
        return "echo feed of " + ",".join(feed.symbols)


def factory(arg, *, speed=None):
    return EchoConfig(tuple(arg.split(",")))
'''


@pytest.fixture
def plugin_path(tmp_path, monkeypatch):
    """A package on sys.path with an entry point in the mdstream.feeds group."""
    (tmp_path / "echo_feed.py").write_text(PLUGIN)
    dist = tmp_path / "echo_feed-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-feed\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[mdstream.feeds]\necho = echo_feed:factory\n"
                                           "broken = echo_feed:missing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path


def test_built_in_feeds_by_name():
    assert feed_names()[:2] == ["sim", "csv"]
    sim = feed_config("sim:AAPL,MSFT", rate=10.0)
    assert sim == SimulatedFeedConfig(symbols=("AAPL", "MSFT"), rate=10.0)
    csv = feed_config("csv:a.csv,b.csv", speed=0.0, loop=True)
    assert csv == CSVFeedConfig(("a.csv", "b.csv"), speed=0.0, loop=True)


def test_unknown_feed_lists_the_known_ones():
    with pytest.raises(InvalidArgumentError, match=r"unknown feed 'nope'.*sim, csv"):
        feed_config("nope:x")


def test_an_option_a_feed_does_not_take_is_named():
    with pytest.raises(InvalidArgumentError, match=r"speed: not a setting of the 'sim' feed"):
        feed_config("sim", speed=2.0)
    with pytest.raises(InvalidArgumentError, match="needs at least one file"):
        feed_config("csv:")


def test_entry_point_feed_is_found(plugin_path):
    assert "echo" in feed_names()
    config = feed_config("echo:X,Y", speed=3.0)
    assert config.kind == "echo" and config.symbols == ("X", "Y")
    with pytest.raises(InvalidArgumentError, match="loop: not a setting of the 'echo' feed"):
        feed_config("echo:X", loop=True)
    with pytest.raises(InvalidArgumentError, match=r"feed 'broken' \(echo_feed:missing\) could not"):
        feed_config("broken:x")


def _serve(plugin_path, *args):
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    return subprocess.Popen([sys.executable, "-m", "mdstream", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_serve_runs_an_entry_point_feed(plugin_path):
    """`mdstream serve --feed echo:...` with the plug-in's package on the path."""
    proc = _serve(plugin_path, "--feed", "echo:ZZ1,ZZ2")
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "echo feed of ZZ1,ZZ2" in line:
                break
        assert any("echo feed of ZZ1,ZZ2" in line for line in lines), (lines, proc.poll())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    assert proc.returncode == 0

    proc = _serve(plugin_path, "--feed", "echo:ZZ1", "--loop")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "--loop: not an option of --feed echo" in err, err
