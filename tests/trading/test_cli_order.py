"""mdstream serve --paper-venue, mdstream order and mdstream positions, run for
real in subprocesses against a server fed by the simulated feed."""

from __future__ import annotations

import argparse
import json
import re
import subprocess

import pytest

from grpc_trade_helpers import (PATIENCE, mdstream_command, read_line_matching, run_command,
                                subprocess_env, wait_until)
from mdstream import cli
from mdstream.grpc.client import Client

pytestmark = pytest.mark.timeout(180)

ACCOUNTS = """\
[accounts.paper]
fee_bps = 2.0

[accounts.small]
max_order_qty = 100
max_orders_per_s = 0.5
max_open_orders = 3
price_collar_bps = inf
"""
LISTENING = re.compile(r"gRPC server listening on (127\.0\.0\.1):(\d+)$")


@pytest.fixture(scope="module")
def paper_server(tmp_path_factory):
    """`mdstream serve --paper-venue --accounts FILE` on a free port, with a
    simulated feed quoting AAPL and MSFT; yields (target, the serve log so far)."""
    accounts = tmp_path_factory.mktemp("venue") / "accounts.toml"
    accounts.write_text(ACCOUNTS)
    proc = subprocess.Popen(mdstream_command(
        "serve", "--port", "0", "--symbols", "AAPL,MSFT", "--rate", "500", "--quote-ratio", "0.5",
        "--paper-venue", "--accounts", str(accounts), "--venue-latency", "0"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=subprocess_env())
    try:
        line = read_line_matching(proc.stdout, "listening on").strip()
        venue = read_line_matching(proc.stdout, "paper venue").strip()
        target = "127.0.0.1:" + LISTENING.search(line).group(2)
        with Client(target, timeout=PATIENCE) as client:      # both symbols quoted
            assert wait_until(lambda: len([r for r in client.snapshot().results.rows
                                           if r["bid"] > 0 and r["ask"] > 0]) == 2)
        yield target, venue
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_serve_says_it_takes_orders(paper_server):
    _, venue = paper_server
    assert "paper venue: taking orders for accounts paper, small; latency none" in venue


def test_the_accounts_file_becomes_the_venue(tmp_path):
    import math

    from mdstream.cli.venue_options import load_accounts
    from mdstream.venue import Account

    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS)
    accounts = load_accounts(str(path))
    assert accounts == {"paper": Account(fee_bps=2.0),
                        "small": Account(max_order_qty=100, max_orders_per_s=0.5,
                                         max_open_orders=3, price_collar_bps=math.inf)}
    assert isinstance(accounts["small"].max_open_orders, int)


def test_a_market_order_fills_and_positions_shows_it(paper_server):
    target, _ = paper_server
    done = run_command("order", "--target", target, "--account", "paper", "--symbol", "AAPL",
                       "buy", "10", "--cl-ord-id", "11")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("cl_ord_id 11: buy 10 AAPL (market) submitted to ")
    assert re.match(r"^\[exec_id \d+\] NEW +buy 10 AAPL market gtc  order_id \d+ cl_ord_id 11",
                    lines[1])
    assert re.search(r"\] FILL +buy 10 AAPL .* last_qty 10 last_px [\d.]+  ord_status FILLED "
                     r"cum_qty 10 leaves_qty 0 .* position 10 @ ", lines[2]), lines
    assert len(lines) == 3

    shown = run_command("positions", "--target", target, "--account", "paper", "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    (aapl,) = [p for p in data["positions"] if p["symbol"] == "AAPL"]
    assert (aapl["account"], aapl["quantity"], aapl["fills"]) == ("paper", 10.0, 1)
    assert aapl["fees"] == pytest.approx(aapl["avg_px"] * 10 * 2.0 / 1e4)
    assert aapl["mark_px"] > 0 and aapl["unrealized_pnl"] == pytest.approx(
        (aapl["mark_px"] - aapl["avg_px"]) * 10)


def test_a_resting_order_is_listed_then_cancelled(paper_server):
    target, _ = paper_server
    done = run_command("order", "--target", target, "--account", "paper", "--symbol", "MSFT",
                       "buy", "3", "--limit", "0.01", "--cl-ord-id", "21", "--wait", "0.2")
    assert done.returncode == 0, done.stderr
    assert "] NEW " in done.stdout and "buy 3 MSFT limit 0.01 gtc" in done.stdout
    assert "cl_ord_id 21: still open after --wait 0.2 s" in done.stdout

    table = run_command("positions", "--target", target)
    assert table.returncode == 0, table.stderr
    row = [line for line in table.stdout.splitlines() if line.startswith("paper ")
           and " MSFT " in line and " 21 " in line]
    assert row and " buy " in row[0] and " 0.01 " in row[0], table.stdout
    assert re.search(r"^open orders \(\d+\):$", table.stdout, re.M)
    assert re.search(r"^account +symbol +order_id +cl_ord_id +side", table.stdout, re.M)

    cancelled = run_command("order", "--target", target, "--account", "paper", "cancel", "21")
    assert cancelled.returncode == 0, cancelled.stderr
    assert re.search(r"\] CANCELED +buy 3 MSFT limit 0.01 gtc .* ord_status CANCELED", cancelled.stdout)
    with Client(target, timeout=PATIENCE) as client:
        assert 21 not in [o.cl_ord_id for o in client.orders("paper")]


def test_a_rejected_order_exits_with_status_1(paper_server):
    target, _ = paper_server
    done = run_command("order", "--target", target, "--account", "small", "--symbol", "AAPL",
                       "sell", "1000", "--limit", "1", "--cl-ord-id", "31")
    assert done.returncode == 1
    assert re.search(r"\] REJECTED .* reject_reason MAX_ORDER_QTY: the quantity is above the "
                     r"account's max_order_qty", done.stdout), done.stdout

    unknown = run_command("order", "--target", target, "--account", "paper", "--symbol", "NOPE",
                          "buy", "1", "--cl-ord-id", "32")
    assert unknown.returncode == 1
    assert "unknown symbol: 'NOPE'" in unknown.stdout + unknown.stderr

    nobody = run_command("positions", "--target", target, "--account", "nobody")
    assert nobody.returncode == 1
    assert nobody.stderr.startswith("mdstream: error: unknown account 'nobody'")


def test_a_server_without_a_paper_venue(tmp_path):
    proc = subprocess.Popen(mdstream_command("serve", "--port", "0", "--symbols", "AAPL",
                                             "--rate", "100"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=subprocess_env())
    try:
        line = read_line_matching(proc.stdout, "listening on").strip()
        target = "127.0.0.1:" + LISTENING.search(line).group(2)
        done = run_command("order", "--target", target, "--symbol", "AAPL", "buy", "1")
        assert done.returncode == 1
        assert ("mdstream: error: this server has no paper venue; start it with mdstream serve "
                "--paper-venue") in done.stderr
    finally:
        proc.terminate()
        proc.wait(20)
        proc.stdout.close()
        proc.stderr.close()


@pytest.mark.parametrize("text, message", [
    ("[accounts.paper]\nfee_bp = 1\n",
     "accounts.paper: unknown setting 'fee_bp'; did you mean 'fee_bps'?"),
    ("[accounts.paper]\nmax_position = \"5k\"\n",
     "accounts.paper.max_position: expected a number, got '5k'"),
    ("[accounts.paper]\nmax_open_orders = 2.5\n",
     "accounts.paper.max_open_orders: expected a whole number, got 2.5"),
    ("[accounts.paper]\nfee_bps = -1\n", "accounts.paper: Account fee_bps must be a number >= 0"),
    ("[account.paper]\n", "unknown table 'account'"),
    ("[accounts]\n", "no accounts"),
    ("[accounts.paper\n", "not valid TOML"),
])
def test_a_bad_accounts_file_names_the_file_and_the_key(tmp_path, text, message):
    path = tmp_path / "accounts.toml"
    path.write_text(text)
    done = run_command("serve", "--port", "0", "--paper-venue", "--accounts", str(path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"mdstream: error: {path}: ") and message in done.stderr, \
        done.stderr


def test_venue_options_need_paper_venue():
    done = run_command("serve", "--port", "0", "--accounts", "x.toml", "--queue-position")
    assert done.returncode == 1
    assert "--accounts, --queue-position: options of --paper-venue" in done.stderr


def test_usage_errors_of_order(capsys):
    for argv, message in ((["order", "buy"], "buy needs a quantity"),
                          (["order", "buy", "ten", "--symbol", "A"], "QTY must be a number"),
                          (["order", "sell", "1"], "--symbol is required"),
                          (["order", "cancel"], "cancel needs the order's CL_ORD_ID, or --all"),
                          (["order", "cancel", "5", "--all"], "not both")):
        assert cli.main(["order", "--target", "127.0.0.1:1", *argv[1:]]) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("mdstream order: error: ") and message in err, err


@pytest.mark.parametrize("command", ["order", "positions"])
def test_help_is_complete(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    sub = cli.build_parser()._subparsers._group_actions[0].choices[command]
    for action in sub._actions:
        for opt in action.option_strings:
            assert opt in text
        if action.option_strings and action.help and action.default not in (None, False) \
                and action.dest != "help":
            assert "default" in action.help, f"{command} {action.option_strings}: no default"
    assert isinstance(sub, argparse.ArgumentParser)


def test_serve_settings_include_the_venue(tmp_path):
    config = tmp_path / "serve.toml"
    config.write_text('paper_venue = true\nvenue_latency = "5ms"\nqueue_position = true\n')
    done = run_command("serve", "--config", str(config), "--print-config")
    assert done.returncode == 0, done.stderr
    assert "paper_venue = true" in done.stdout and "venue_latency = 0.005" in done.stdout


def test_cancel_all_waits_for_each_cancel(paper_server):
    target, _ = paper_server
    with Client(target, timeout=PATIENCE) as client, client.trade("paper") as session:
        session.submit_order(41, "MSFT", "buy", 1, price=0.02)
        session.submit_order(42, "MSFT", "buy", 2, price=0.03)
        assert wait_until(lambda: {41, 42} <= {o.cl_ord_id for o in client.orders("paper")})
    done = run_command("order", "--target", target, "--account", "paper", "cancel", "--all",
                       "--symbol", "MSFT")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) >= 2 and all(" CANCELED " in line for line in lines), lines
    assert {int(re.search(r"cl_ord_id (\d+)", line).group(1)) for line in lines} >= {41, 42}

    again = run_command("order", "--target", target, "--account", "paper", "cancel", "--all",
                        "--symbol", "MSFT")
    assert again.returncode == 0, again.stderr
    assert again.stdout == "account paper has no open orders on MSFT: nothing to cancel\n"


def test_a_refused_cancel_prints_its_report(paper_server):
    target, _ = paper_server
    done = run_command("order", "--target", target, "--account", "paper", "cancel", "999999")
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"\] REJECTED +\(no such order\) .* reject_reason UNKNOWN_ORDER", done.stdout), \
        done.stdout
