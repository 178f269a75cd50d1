"""The allowed range of each of the Engine's sizing settings.

Each bound keeps a setting where the engine starts at once and its memory
stays plausible (a ring slot is a 184-byte result, a channel slot an 88-byte
tick, per worker); a value outside is an InvalidArgumentError naming the
setting and its range, before anything is allocated.
"""

from __future__ import annotations

import math
import numbers

from mdstream.errors import InvalidArgumentError

__all__ = ["LIMITS", "check_engine_settings"]

#: setting -> (lowest, highest, power of two only)
LIMITS: dict[str, tuple[int, int, bool]] = {
    "workers": (1, 256, False),
    "ring_size": (2, 1 << 24, True),               # 16,777,216 results, 3 GiB
    "channel_capacity": (1, 1 << 22, False),       # 4,194,304 ticks per worker, 352 MiB
    "max_symbols": (1, 1 << 20, False),
    "max_subscribers": (1, 4096, False),
}

#: Engine(max_subscribers=...)'s default.
DEFAULT_MAX_SUBSCRIBERS = 256

MAX_DRAIN_TIMEOUT_S = 3600.0


def _int_setting(name: str, value: object) -> int:
    lo, hi, power_of_two = LIMITS[name]
    what = f"a power of two from {lo:,} to {hi:,}" if power_of_two else f"from {lo:,} to {hi:,}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidArgumentError(f"{name} must be an integer {what}, got {value!r}")
    value = int(value)
    if not lo <= value <= hi or (power_of_two and value & (value - 1)):
        raise InvalidArgumentError(f"{name} must be {what}, got {value:,}")
    return value


def check_engine_settings(**settings) -> dict:
    """The settings (those of LIMITS, and drain_timeout) as ints/floats, or
    InvalidArgumentError naming the first one out of its range."""
    out = {}
    for name, value in settings.items():
        if name == "drain_timeout":
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = math.nan
            if not 0 <= value <= MAX_DRAIN_TIMEOUT_S:
                raise InvalidArgumentError(
                    f"drain_timeout must be from 0 to {MAX_DRAIN_TIMEOUT_S:g} seconds, "
                    f"got {settings[name]!r}")
            out[name] = value
        else:
            out[name] = _int_setting(name, value)
    return out
