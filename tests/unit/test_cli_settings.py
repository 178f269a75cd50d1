"""`mdstream serve` settings from a TOML file and MDSTREAM_* variables:
precedence (flags > environment > file > defaults), one validation for every
source (the options' argparse types), errors naming their source, unknown keys,
and --print-config read back by --config."""

from __future__ import annotations

import json
import logging

import pytest

from mdstream import cli
from mdstream.cli import settings
from mdstream.cli.logs import JSONFormatter, TextFormatter, setup_logging

#: Not settings: how the command runs, or the parser itself.
_NOT_COMPARED = ("func", "settings_parser", "config", "print_config")


@pytest.fixture
def serve_parser():
    return cli.build_parser().parse_args(["serve"]).settings_parser


def resolve(parser, argv=(), env=None):
    return settings.resolve(parser, list(argv), env or {})


def comparable(args) -> dict:
    """The settings of a namespace, with values that compare by text (FeedSpec)."""
    return {k: (repr(v) if k == "feed" else v) for k, v in vars(args).items()
            if k not in _NOT_COMPARED}


def write(tmp_path, text: str, name: str = "serve.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_every_option_is_a_setting_with_its_variable(serve_parser):
    table = settings.settings_of(serve_parser)
    assert table["port"].env == "MDSTREAM_PORT" and table["port"].flag == "--port"
    assert table["ring_size"].flag == "--ring-size"
    assert table["reflection"].flag == "--no-reflection" and table["reflection"].switch
    assert "journal" in table and "bars" in table and "log_format" in table
    # Not settings: --help, --config, --print-config, the hidden earlier name of an option.
    assert not {"help", "config", "print_config"} & set(table)
    assert all(s.flag != "--fsync-interval-ms" for s in table.values())


def test_precedence_flags_then_environment_then_file_then_defaults(serve_parser, tmp_path):
    path = write(tmp_path, 'port = 6001\nrate = 500\nbars = ["1s", "1m"]\nseed = 11\n'
                           'durability = "fsync"\nloop = false\n')
    env = {"MDSTREAM_PORT": "6002", "MDSTREAM_SEED": "12", "MDSTREAM_GRACE": "250ms"}
    args, sources = resolve(serve_parser, ["--config", path, "--seed", "13"], env)
    assert args.seed == 13 and sources["seed"] == "flag"                   # flag > env > file
    assert args.port == 6002 and sources["port"] == "MDSTREAM_PORT"      # env > file
    assert args.grace == 0.25 and sources["grace"] == "MDSTREAM_GRACE"  # env > default
    assert args.rate == 500.0 and sources["rate"] == path                 # file > default
    assert args.bars == ["1s", "1m"] and args.durability == "fsync"
    assert args.workers == 2 and "workers" not in sources                 # the default
    # No file and no environment: the defaults, as before.
    plain, sources = resolve(serve_parser)
    assert comparable(plain) == comparable(serve_parser.parse_args([])) and sources == {}


def test_file_and_environment_values_go_through_the_flags_types(serve_parser, tmp_path):
    by_flag = serve_parser.parse_args(["--bars", "1s,1m", "--retain-age", "1h", "--symbols",
                                       "AAPL,MSFT", "--allowed-policies", "skip,disconnect"])
    path = write(tmp_path, 'bars = "1s,1m"\nretain_age = "1h"\nsymbols = ["AAPL", "MSFT"]\n'
                           'allowed_policies = ["skip", "disconnect"]\n')
    by_file, _ = resolve(serve_parser, ["--config", path])
    by_env, _ = resolve(serve_parser, env={"MDSTREAM_BARS": "1s,1m", "MDSTREAM_RETAIN_AGE": "1h",
                                           "MDSTREAM_SYMBOLS": "AAPL,MSFT",
                                           "MDSTREAM_ALLOWED_POLICIES": "skip,disconnect"})
    for args in (by_file, by_env):
        assert comparable(args) == comparable(by_flag)
    assert by_flag.retain_age == 3600.0 and by_flag.allowed_policies == ("skip", "disconnect")


def test_switches_from_the_file_and_the_environment(serve_parser, tmp_path):
    path = write(tmp_path, "reflection = false\ndetailed_stats = true\n")
    args, _ = resolve(serve_parser, ["--config", path])
    assert args.reflection is False and args.detailed_stats is True
    for word, value in (("no", False), ("0", False), ("off", False), ("TRUE", True), ("1", True)):
        args, _ = resolve(serve_parser, env={"MDSTREAM_REFLECTION": word})
        assert args.reflection is value, word
    # An empty variable is not set.
    args, sources = resolve(serve_parser, env={"MDSTREAM_PORT": "", "MDSTREAM_JOURNAL": " "})
    assert args.port == 50051 and args.journal is None and sources == {}
    # The flag still wins over the environment.
    args, _ = resolve(serve_parser, ["--no-reflection"], {"MDSTREAM_REFLECTION": "true"})
    assert args.reflection is False


@pytest.mark.parametrize("env, message", [
    ({"MDSTREAM_PORT": "abc"}, "MDSTREAM_PORT=abc: not a number: 'abc'"),
    ({"MDSTREAM_PORT": "70000"}, "MDSTREAM_PORT=70000: a port is 0 to 65535, got 70000"),
    ({"MDSTREAM_BARS": "1s,1000ms"}, "MDSTREAM_BARS=1s,1000ms: bar intervals must be distinct"),
    ({"MDSTREAM_DURABILITY": "sometimes"}, "MDSTREAM_DURABILITY=sometimes: invalid choice: "
                                           "'sometimes' (choose from write, interval, fsync)"),
    ({"MDSTREAM_LOOP": "maybe"}, "MDSTREAM_LOOP=maybe: expected true or false"),
    ({"MDSTREAM_FEED": "kafka:x"}, "MDSTREAM_FEED=kafka:x: unknown feed 'kafka'"),
])
def test_a_bad_environment_value_names_the_variable(serve_parser, env, message):
    with pytest.raises(settings.SettingsError) as info:
        resolve(serve_parser, env=env)
    assert str(info.value).startswith(message), str(info.value)


@pytest.mark.parametrize("text, message", [
    ("port = 70000", "port: a port is 0 to 65535, got 70000"),
    ('port = "abc"', "port: not a number: 'abc'"),
    ('retain_age = "soon"', "retain_age: not a duration > 0: 'soon'"),
    ('loop = "yes"', "loop: expected true or false, got 'yes'"),
    ("workers = true", "workers: expected a string or a number, got a boolean"),
    ("[journal]\ndir = 1", "journal: expected a string, a number or an array of them"),
    ("prot = 1", "unknown setting 'prot'; did you mean 'port'?"),
    ("ring-size = 1024", "unknown setting 'ring-size'; did you mean 'ring_size'?"),
    ("port = [", "not valid TOML: "),
])
def test_a_bad_file_value_names_the_file_and_the_key(serve_parser, tmp_path, text, message):
    path = write(tmp_path, text + "\n")
    with pytest.raises(settings.SettingsError) as info:
        resolve(serve_parser, ["--config", path])
    assert str(info.value).startswith(f"{path}: {message}"), str(info.value)


def test_a_missing_file_is_an_error_naming_it(serve_parser, tmp_path):
    with pytest.raises(settings.SettingsError, match="cannot read the configuration file"):
        resolve(serve_parser, ["--config", str(tmp_path / "nope.toml")])


def test_the_command_reports_a_bad_setting_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("MDSTREAM_PORT", "abc")
    with pytest.raises(SystemExit) as info:
        cli.main(["serve"])
    assert info.value.code == 2
    assert capsys.readouterr().err == "mdstream serve: error: MDSTREAM_PORT=abc: not a number: 'abc'\n"


def test_print_config_reads_back_the_same_settings(serve_parser, tmp_path, monkeypatch, capsys):
    path = write(tmp_path, 'bars = ["1s", "1m"]\nrate = 250.5\nfeed = "sim"\n'
                           'journal = "/var/lib/mdstream"\nretain_age = "1h"\n'
                           'allowed_policies = "skip"\nreflection = false\n')
    env = {"MDSTREAM_PORT": "0", "MDSTREAM_SYMBOLS": "AAA,BBB", "MDSTREAM_LOG_FORMAT": "json",
           "MDSTREAM_TOKEN": "a-secret-token-of-the-server"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["serve", "--config", path, "--grace", "500ms", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "port = 0  # MDSTREAM_PORT" in text and "grace = 0.5  # --grace" in text
    assert f'rate = 250.5  # {path}' in text and 'bars = ["1s", "1m"]' in text
    assert "a-secret-token-of-the-server" not in text
    assert "MDSTREAM_TOKEN is set in the environment (a secret: not shown)" in text
    # Unset settings say the default --help gives (a replay's speed, a venue's stale_after).
    assert "# speed: not set (default: 1)\n" in text
    assert "# stale_after: not set (default: 60)\n" in text
    effective, _ = resolve(serve_parser, ["--config", path, "--grace", "500ms"], env)
    again, sources = resolve(serve_parser, ["--config", write(tmp_path, text, "printed.toml")])
    assert comparable(again) == comparable(effective)
    assert again.symbols == ["AAA", "BBB"] and again.retain_age == 3600.0
    assert set(sources.values()) == {str(tmp_path / "printed.toml")}


# -- logging -----------------------------------------------------------------------

def _record(message, *args, level=logging.INFO, name="mdstream.serve"):
    record = logging.LogRecord(name, level, __file__, 1, message, args, None)
    record.created = 1_790_000_000.5
    return record


def test_json_log_lines_parse_with_their_fields():
    line = JSONFormatter().format(_record("listening on %s\n\x1b[2J", "127.0.0.1:1"))
    assert "\n" not in line
    assert json.loads(line) == {"ts": "2026-09-21T14:13:20.500Z", "level": "info",
                                "logger": "mdstream.serve",
                                "message": "listening on 127.0.0.1:1\n\x1b[2J"}


def test_text_log_lines_have_an_iso_utc_timestamp():
    line = TextFormatter().format(_record("journal %s: new", "/j", level=logging.WARNING))
    assert line == "2026-09-21T14:13:20.500Z warning mdstream.serve: journal /j: new"


def test_log_level_filters_mdstream_records(capsys):
    try:
        setup_logging("warning", "json")
        logging.getLogger("mdstream.serve").info("hidden")
        logging.getLogger("mdstream.serve").warning("shown")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert [(r["level"], r["message"]) for r in lines] == [("warning", "shown")]
        with pytest.raises(ValueError, match="log level"):
            setup_logging("verbose", "json")
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if type(handler).__name__ == "_StderrHandler":
                root.removeHandler(handler)
        logging.getLogger("mdstream").setLevel(logging.NOTSET)


# -- record: the same settings machinery ---------------------------------------------

@pytest.fixture
def record_parser():
    return cli.build_parser().parse_args(["record", "--parquet", "x"]).settings_parser


def test_a_required_option_may_come_from_the_environment_or_the_file(record_parser, tmp_path):
    args, sources = resolve(record_parser, env={"MDSTREAM_PARQUET": "/data/rec"})
    assert args.parquet == "/data/rec" and sources["parquet"] == "MDSTREAM_PARQUET"
    args, _ = resolve(record_parser, ["--config", write(tmp_path, 'parquet = "/data/f"\n')])
    assert args.parquet == "/data/f"
    with pytest.raises(settings.SettingsError) as info:
        resolve(record_parser)
    assert str(info.value) == ("--parquet is required (or parquet in the --config file, or "
                               "MDSTREAM_PARQUET)")


def test_print_config_works_without_a_required_option(capsys):
    """`mdstream record --print-config` shows the defaults before --parquet is
    given, and says that it is required."""
    assert cli.main(["record", "--print-config"]) == 0
    text = capsys.readouterr().out
    assert "# parquet: not set (required)\n" in text
    assert cli.main(["edge", "--print-config"]) == 0
    assert "# source: not set (required)\n" in capsys.readouterr().out


def test_print_config_never_shows_a_token(record_parser, monkeypatch, capsys):
    monkeypatch.setenv("MDSTREAM_TOKEN", "the-secret-token-value")
    assert cli.main(["record", "--parquet", "x", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "the-secret-token-value" not in out
    assert "# token = (set by MDSTREAM_TOKEN; a secret: not shown)" in out
    args, _ = resolve(record_parser, ["--parquet", "x"], {"MDSTREAM_TOKEN": "t"})
    assert args.token == "t"                 # still the token the client sends
