"""A command's settings from a TOML file and MDSTREAM_* environment variables.

    mdstream serve --config serve.toml             # port = 50051, bars = ["1s", "1m"], ...
    MDSTREAM_PORT=0 MDSTREAM_BARS=1s,1m mdstream serve
    mdstream serve --config serve.toml --print-config   # the effective settings, as TOML

Precedence: command-line flags > environment variables > the file > defaults.

The settings are the command's own options, read from its argparse parser
(there is no second list): a setting's key is the option's destination, e.g.
``ring_size`` for ``--ring-size`` and ``reflection`` for ``--no-reflection``;
its environment variable is ``MDSTREAM_`` + the key in capitals
(``MDSTREAM_RING_SIZE``). Values go through the option's own argparse type
and choices (one validation for every source): in the file a string, a number,
an array (joined with commas, e.g. ``bars = ["1s", "1m"]``) or, for a switch
(``loop``, ``reflection``, ``detailed_stats``), true or false; in the
environment the text a flag takes, or true/false/1/0/yes/no/on/off for a
switch (an empty variable counts as not set). Durations are seconds, or a string with a unit ("500ms").

Errors name their source and end the command with status 2, like a bad flag:
``MDSTREAM_PORT=abc: not a number: 'abc'``, ``serve.toml: port: a port is 0 to
65535, got 70000``, ``serve.toml: unknown setting 'prot'; did you mean 'port'?``.
A syntax error in the file names its line and column (tomllib's message).

``MDSTREAM_TOKEN`` (a secret) is not a setting: it stays the environment
variable the server and the clients read (mdstream.grpc.auth.TOKEN_ENV), and
``--print-config`` only says whether it is set.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

__all__ = ["ENV_PREFIX", "SECRETS", "Setting", "SettingsError", "settings_of", "add_config_options",
           "resolve", "format_config", "read_file"]

ENV_PREFIX = "MDSTREAM_"
#: Options that are not settings: how to read them, not what to run.
_NOT_SETTINGS = ("help", "config", "print_config", "required_settings")
#: Settings whose value --print-config never shows.
SECRETS = ("token",)
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off")


class SettingsError(Exception):
    """A bad setting in the file or the environment; the message names the source."""


@dataclass(frozen=True)
class Setting:
    """One option of a command as a setting: ``key`` (in the file), ``env``
    (the variable), ``flag`` (the long option), the argparse action."""

    key: str
    env: str
    flag: str
    action: argparse.Action

    @property
    def switch(self) -> bool:
        """True for an option without a value (--loop, --no-reflection)."""
        return self.action.nargs == 0

    def convert(self, text: str) -> Any:
        """The parsed value of ``text``, as the flag would take it (ValueError:
        the argparse type's message)."""
        action = self.action
        try:
            value = action.type(text) if callable(action.type) else text
        except argparse.ArgumentTypeError as exc:
            raise ValueError(str(exc)) from None
        except (TypeError, ValueError):
            name = getattr(action.type, "__name__", "value")
            raise ValueError(f"invalid {name} value: {text!r}") from None
        if action.choices is not None and value not in action.choices:
            raise ValueError(f"invalid choice: {text!r} (choose from "
                             f"{', '.join(map(str, action.choices))})")
        return value


def settings_of(parser: argparse.ArgumentParser) -> dict[str, Setting]:
    """Every setting of the command ``parser``, by key (hidden options aside)."""
    out: dict[str, Setting] = {}
    # argparse keeps its actions in _actions: the one list of the options there is.
    for action in parser._actions:
        if (action.dest in _NOT_SETTINGS or action.help == argparse.SUPPRESS
                or not action.option_strings or action.dest in out):
            continue
        flag = next((o for o in action.option_strings if o.startswith("--")),
                    action.option_strings[0])
        out[action.dest] = Setting(action.dest, ENV_PREFIX + action.dest.upper(), flag, action)
    return out


def add_config_options(p: argparse.ArgumentParser) -> None:
    """--config FILE and --print-config; call it after every other option.

    A required option may then come from the file or the environment too:
    argparse no longer requires it on the command line, and resolve()
    checks that some source gave it. Sets the default ``settings_parser``
    to ``p``: the parser whose options the file and the MDSTREAM_*
    variables set (mdstream.cli.parser.main resolves them)."""
    required = []
    for action in p._actions:
        if action.required and action.option_strings:
            action.required = False
            required.append(action.dest)
    p.set_defaults(required_settings=tuple(required), settings_parser=p)
    g = p.add_argument_group("configuration (precedence: flags > MDSTREAM_* environment > "
                             "file > defaults)")
    g.add_argument("--config", default=None, metavar="FILE",
                   help="read settings from this TOML file: each key is a long option of this "
                        "command without '--', with '_' for '-' (--some-option X is "
                        "some_option = X; a list is an array, a switch true or false); every "
                        "option can also be set by an environment variable MDSTREAM_<KEY> "
                        "(MDSTREAM_SOME_OPTION) (default: none)")
    g.add_argument("--print-config", action="store_true",
                   help="print the effective settings as TOML (a file --config reads) and exit")


def read_file(path: str) -> dict:
    """The table of a TOML file (SettingsError naming the file for a bad one)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:                                   # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the configuration file: "
                            f"{exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _file_text(value: Any) -> str:
    """A TOML value as the text a flag takes (TypeError for a table or a date)."""
    if isinstance(value, bool):
        raise TypeError("expected a string or a number, got a boolean")
    if isinstance(value, (int, float, str)):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, (int, float, str)) and not isinstance(v, bool)
                                       for v in value):
        return ",".join(str(v) for v in value)
    raise TypeError(f"expected a string, a number or an array of them, got {value!r}")


def _from_file(path: str, settings: dict[str, Setting], values: dict, sources: dict) -> None:
    table = read_file(path)
    for key, value in table.items():
        setting = settings.get(key)
        if setting is None:
            near = difflib.get_close_matches(key, list(settings), n=1, cutoff=0.6)
            hint = (f"; did you mean {near[0]!r}?" if near else
                    f"; the settings are the options of the command with '_' for '-', e.g. "
                    f"{', '.join(list(settings)[:4])}")
            raise SettingsError(f"{path}: unknown setting {key!r}{hint}")
        try:
            if setting.switch:
                if not isinstance(value, bool):
                    raise ValueError(f"expected true or false, got {value!r}")
                values[key] = value          # the key is the switch's destination
            else:
                values[key] = setting.convert(_file_text(value))
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{path}: {key}: {exc}") from None
        sources[key] = path


def _from_env(env: Mapping[str, str], settings: dict[str, Setting], values: dict,
              sources: dict) -> None:
    for setting in settings.values():
        text = env.get(setting.env, "")
        if not text.strip():
            continue                         # unset, or set to nothing: not given
        try:
            if setting.switch:
                word = text.strip().lower()
                if word not in _TRUE + _FALSE:
                    raise ValueError(f"expected true or false (or 1/0, yes/no, on/off), got {text!r}")
                values[setting.key] = word in _TRUE
            else:
                values[setting.key] = setting.convert(text)
        except ValueError as exc:
            raise SettingsError(f"{setting.env}={text}: {exc}") from None
        sources[setting.key] = setting.env


def resolve(parser: argparse.ArgumentParser, argv: Sequence[str],
            env: Mapping[str, str] | None = None) -> tuple[argparse.Namespace, dict[str, str]]:
    """Parse ``argv`` (the command's arguments) with ``parser``, with values
    not given as flags taken from the environment, then from ``--config``,
    then the defaults. Returns (args, sources): sources maps each setting
    not at its default to where it came from (a file path, a variable
    name, or "flag"). Raises SettingsError naming the source of a bad value.
    """
    env = os.environ if env is None else env
    settings = settings_of(parser)
    flags = parser.parse_args(argv)         # bad flags: argparse's usage error, as always
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if getattr(flags, "config", None):
        _from_file(flags.config, settings, values, sources)
    _from_env(env, settings, values, sources)
    # argparse fills in a default only where the namespace has no value yet:
    # file and environment values go in first, and flags given override them.
    args = parser.parse_args(argv, namespace=argparse.Namespace(**values))
    given = parser.parse_args(argv, namespace=argparse.Namespace(
        **{key: _Unset for key in settings}))
    for key in settings:
        if getattr(given, key) is not _Unset:
            sources[key] = "flag"
    missing = [settings[k] for k in getattr(args, "required_settings", ()) if
               getattr(args, k, None) is None]
    if missing and not getattr(args, "print_config", False):    # printed as "required" then
        raise SettingsError("; ".join(f"{s.flag} is required (or {s.key} in the --config file, "
                                      f"or {s.env})" for s in missing))
    return args, sources


class _Unset:
    """A marker: the option was not on the command line."""


def _toml_value(value: Any) -> Any:
    """A parsed option value as a TOML value its option reads back."""
    if isinstance(value, (list, tuple)):
        return [_toml_value(v) for v in value]
    if isinstance(value, (bool, int, float, str)):
        return value
    return str(value)                       # e.g. a FeedSpec: its text form


def _toml_scalar(value: Any, key: str = "v") -> str:
    """``key = value`` in TOML (tomli_w's quoting), or the value alone for key "v"."""
    import tomli_w

    line = tomli_w.dumps({key: value}).strip()
    return line[len("v = "):] if key == "v" else line


def _help_default(action: argparse.Action) -> str:
    """" (default: X)" as the option's --help ends, or ""."""
    match = re.search(r"\(default: ([^()]*(?:\([^()]*\)[^()]*)*)\)\s*$", action.help or "")
    return f" (default: {' '.join(match.group(1).split())})" if match else ""


def format_config(args: argparse.Namespace, parser: argparse.ArgumentParser,
                  sources: Mapping[str, str], env: Mapping[str, str] | None = None) -> str:
    """The effective settings of ``args`` as TOML that --config reads back:
    one ``key = value`` line per setting, with where it came from as a
    comment (flag, variable or file; none: the default); unset settings as
    comments. Secrets (a ``token`` setting, MDSTREAM_TOKEN) are only said to
    be set, never shown."""
    env = os.environ if env is None else env
    settings = settings_of(parser)
    lines = ["# mdstream settings: flags > MDSTREAM_* environment > file > defaults"]
    unset = []
    for key, setting in settings.items():
        value = getattr(args, key, None)
        if key in SECRETS:
            if value is not None:
                lines.append(f"# {key} = (set by {sources.get(key, 'a flag')}; a secret: not shown)")
            continue
        if value is None:
            unset.append(key)
            continue
        value = _toml_value(value)
        if isinstance(value, list):         # on one line, as a person writes it
            line = f"{key} = [{', '.join(_toml_scalar(v) for v in value)}]"
        else:
            line = _toml_scalar(value, key)
        source = sources.get(key)
        if source == "flag":
            line += f"  # {setting.flag}"
        elif source is not None:
            line += f"  # {source}"
        lines.append(line)
    required = getattr(args, "required_settings", ())
    for key in unset:          # with the default --help gives (a feed's own, or none)
        what = " (required)" if key in required else _help_default(settings[key].action)
        lines.append(f"# {key}: not set{what}")
    from mdstream.grpc.auth import TOKEN_ENV

    if env.get(TOKEN_ENV, "").strip() and "token" not in settings:
        lines.append(f"# {TOKEN_ENV} is set in the environment (a secret: not shown)")
    return "\n".join(lines) + "\n"
