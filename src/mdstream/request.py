"""StreamRequest: what a subscriber asks for, validated once for every transport.

The in-process ``Engine.subscribe``, the gRPC servicer (after decoding a
``SubscribeRequest``) and the Python clients (before encoding one) all build
a StreamRequest, so each rule below is written once. Durations are seconds
here; the wire's microseconds and milliseconds are converted in
``mdstream.grpc.contract`` alone, and the core's nanoseconds in the core.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Literal, get_args

from mdstream.batch import KIND_NAMES
from mdstream.errors import InvalidArgumentError

__all__ = [
    "StreamRequest",
    "Policy",
    "POLICIES",
    "DEFAULT_TICKS_PER_FRAME",
    "MAX_TICKS_PER_FRAME",
    "MAX_WAIT_S",
    "DEFAULT_HEARTBEAT_INTERVAL_S",
    "DEFAULT_BLOCK_DEADLINE_S",
    "DEFAULT_MAX_STREAMS_PER_CLIENT",
    "HEARTBEAT_INTERVAL_RANGE_S",
    "CONFLATE_RANGE_S",
    "symbol_list",
    "FIELDS",
    "field_list",
    "KINDS",
    "kind_list",
]

Policy = Literal["block", "skip", "disconnect"]
"""What happens to a subscriber that falls a whole ring behind: the engine
waits for it (``block``), it jumps ahead with a gap notice (``skip``), or it
is disconnected (``disconnect``: SlowConsumerError). The one definition of
the names: StreamRequest, Engine.subscribe, Client and AsyncClient take a
Policy, so a type checker rejects a misspelled one."""
#: The policy names, in the order of Policy.
POLICIES: tuple[Policy, ...] = get_args(Policy)

DEFAULT_TICKS_PER_FRAME = 4096
#: A frame of 16384 ticks of about 190 bytes stays below gRPC's default
#: 4 MiB message limit (checked for requests that go over the wire).
MAX_TICKS_PER_FRAME = 16384
#: The longest a result may wait for its frame to fill (seconds).
MAX_WAIT_S = 1.0
DEFAULT_HEARTBEAT_INTERVAL_S = 1.0
#: How long (seconds) a server's 'block' subscriber may hold the engine back
#: without reading before it is disconnected (RESOURCE_EXHAUSTED /
#: SLOW_CONSUMER), unless the server is given another (``mdstream serve
#: --block-deadline``); in process, 'block' has no deadline unless asked.
#: The same order as NATS's default write deadline (10 s).
DEFAULT_BLOCK_DEADLINE_S = 5.0
#: Streams one client (IP address, or token) may hold open on a server at
#: once, by default.
DEFAULT_MAX_STREAMS_PER_CLIENT = 16
HEARTBEAT_INTERVAL_RANGE_S = (0.01, 60.0)
#: The conflation intervals a subscription may ask for (seconds).
CONFLATE_RANGE_S = (0.001, 3600.0)


def symbol_list(symbols: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Symbols as a tuple without repeats, in the order given; None means all.

    A string is one name, or several separated by commas ("AAPL,MSFT").
    Raises InvalidArgumentError for an empty list (pass None for all).
    """
    if symbols is None:
        return None
    if isinstance(symbols, str):
        symbols = [s for s in symbols.split(",") if s]
    names = tuple(dict.fromkeys(symbols))
    if not names:
        raise InvalidArgumentError("symbols is empty: pass None to receive every symbol")
    return names


#: The columns a subscription may ask for (``fields``), in frame order: the
#: fields of RESULT_DTYPE, i.e. the columns of ResultBatch and of
#: ResultBatch in mdstream.proto (same names).
FIELDS: tuple[str, ...] = (
    "seq", "ts_ns", "recv_ns", "done_ns", "symbol_id", "kind", "price", "size", "value",
    "bid", "ask", "bid_size", "ask_size", "volume", "vwap", "high", "low", "ema",
    "volatility", "mid", "spread", "trade_count", "interval_ns", "open")


def field_list(fields: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Column names as a tuple in FIELDS order (so the same projection is
    always the same request); None or empty means every column.

    A string is one name, or several separated by commas ("seq,price").
    ``seq`` and ``symbol_id`` are always included (a stream needs them to
    resume and to name symbols). Raises InvalidArgumentError naming the
    unknown names and listing the valid ones.
    """
    if fields is None:
        return None
    if isinstance(fields, str):
        fields = [f.strip() for f in fields.split(",") if f.strip()]
    wanted = set(fields)
    if not wanted:
        return None
    unknown = sorted(str(f) for f in wanted - set(FIELDS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}: "
            f"choose from {', '.join(FIELDS)}")
    wanted |= {"seq", "symbol_id"}
    if wanted == set(FIELDS):
        return None
    return tuple(f for f in FIELDS if f in wanted)


#: The kinds a subscription may ask for (``kinds``): the names of the kind
#: codes of mdstream.batch (KIND_NAMES), in code order (TRADE 0, QUOTE 1, BAR 2).
KINDS: tuple[str, ...] = tuple(KIND_NAMES[code] for code in sorted(KIND_NAMES))


def kind_list(kinds: Iterable[str] | str | None) -> tuple[str, ...] | None:
    """Kind names as a tuple in KINDS order; None (or empty, or all three)
    means every kind. A string may name several ("trade,bar"); plurals are
    accepted ("trades"). Raises InvalidArgumentError for an unknown kind."""
    if kinds is None:
        return None
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    wanted = {k[:-1] if isinstance(k, str) and k.endswith("s") else k for k in kinds}
    unknown = sorted(str(k) for k in wanted - set(KINDS))
    if unknown:
        raise InvalidArgumentError(
            f"unknown kind {', '.join(map(repr, unknown))}: choose from {', '.join(KINDS)}")
    if not wanted or wanted == set(KINDS):
        return None
    return tuple(k for k in KINDS if k in wanted)


def _bound(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        raise InvalidArgumentError(f"{name} must be a number (or None for no bound), got {value!r}")
    return float(value)


@dataclass(frozen=True)
class StreamRequest:
    """A validated subscription request.

    symbols:
        Names to receive (a tuple), or None for every symbol, including ones
        added later.
    policy:
        ``"block"``, ``"skip"`` or ``"disconnect"`` (see POLICIES); None: the
        serving side's default (``"block"`` in process; over gRPC the
        server's, ``"skip"`` unless its operator chose otherwise).
    max_ticks_per_frame:
        Most results in one batch (one frame on the wire), >= 1; requests sent
        over gRPC are limited to MAX_TICKS_PER_FRAME.
    max_wait:
        Seconds, 0 to MAX_WAIT_S: how long a batch may wait after its first
        result for more to fill it (0: hand out what is there at once).
    heartbeat_interval:
        Seconds without results after which a gRPC batch stream sends a
        heartbeat (HEARTBEAT_INTERVAL_RANGE_S).
    from_seq:
        Start at this engine sequence number (>= 0), or None for "from now".
    snapshot:
        Start with the newest result of each symbol, then stream from the
        next sequence number; cannot be combined with from_seq.
    fields:
        The columns to receive (names of FIELDS, normalised by field_list:
        FIELDS order, ``seq`` and ``symbol_id`` always added), or None for
        every column. Over gRPC the StreamBatches frames carry only these
        columns; in process, batches keep every column (the rows are views
        of the engine's ring, no copy) but their ``fields`` say which ones
        were asked for (see ResultBatch.fields).
    kinds, min_size, min_price, max_price:
        Filters beyond symbols, evaluated in the core without the GIL: only
        results of these kinds (names of KINDS; None: every kind) that meet
        every bound set (inclusive; None: no bound) are delivered. ``price``
        is a trade's price, a quote's mid, a bar's close; ``size`` a trade's
        size, a bar's volume, and 0 for quotes. Results filtered out are not
        gaps (no Gap reports them); ``last_seq`` moves past them. The
        opening snapshot is not filtered.
    conflate:
        Seconds (CONFLATE_RANGE_S), or None: at most one result per symbol
        per interval, the newest (last-value conflation); each batch's Gap
        counts the results folded away (like results skipped), and the
        interval starts with the first result after the previous batch.
        Filters apply first.

    Raises InvalidArgumentError naming the setting and its allowed range.
    """

    symbols: tuple[str, ...] | None = None
    policy: Policy | None = "block"
    max_ticks_per_frame: int = DEFAULT_TICKS_PER_FRAME
    max_wait: float = 0.0
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL_S
    from_seq: int | None = None
    snapshot: bool = False
    fields: tuple[str, ...] | None = None
    kinds: tuple[str, ...] | None = None
    min_size: float | None = None
    min_price: float | None = None
    max_price: float | None = None
    conflate: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "symbols", symbol_list(self.symbols))
        object.__setattr__(self, "fields", field_list(self.fields))
        object.__setattr__(self, "kinds", kind_list(self.kinds))
        for name in ("min_size", "min_price", "max_price"):
            object.__setattr__(self, name, _bound(name, getattr(self, name)))
        if self.min_size is not None and self.min_size < 0:
            raise InvalidArgumentError(f"min_size must be >= 0, got {self.min_size:g}")
        if (self.min_price is not None and self.max_price is not None
                and self.min_price > self.max_price):
            raise InvalidArgumentError(
                f"min_price {self.min_price:g} is above max_price {self.max_price:g}: "
                "no result could pass")
        if self.conflate is not None:
            lo, hi = CONFLATE_RANGE_S
            if (isinstance(self.conflate, bool) or not isinstance(self.conflate, (int, float))
                    or not lo <= self.conflate <= hi):
                raise InvalidArgumentError(
                    f"conflate must be {lo:g} to {hi:g} seconds (or None), got {self.conflate!r}")
            object.__setattr__(self, "conflate", float(self.conflate))
        if self.policy is not None and self.policy not in POLICIES:
            raise InvalidArgumentError(
                f"unknown policy {self.policy!r}: choose one of {', '.join(POLICIES)}")
        if isinstance(self.max_ticks_per_frame, bool) or int(self.max_ticks_per_frame) < 1:
            raise InvalidArgumentError(
                f"max_ticks_per_frame must be >= 1, got {self.max_ticks_per_frame}")
        object.__setattr__(self, "max_ticks_per_frame", int(self.max_ticks_per_frame))
        if not 0 <= self.max_wait <= MAX_WAIT_S:
            raise InvalidArgumentError(
                f"max_wait must be 0 to {MAX_WAIT_S:g} seconds, got {self.max_wait}")
        lo, hi = HEARTBEAT_INTERVAL_RANGE_S
        if not lo <= self.heartbeat_interval <= hi:
            raise InvalidArgumentError(
                f"heartbeat_interval must be {lo:g} to {hi:g} seconds, got {self.heartbeat_interval}")
        if self.from_seq is not None:
            if self.from_seq < 0:
                raise InvalidArgumentError(f"from_seq must be >= 0, got {self.from_seq}")
            if self.snapshot:
                raise InvalidArgumentError(
                    "snapshot and from_seq cannot be combined: a snapshot starts the stream at "
                    "the newest results; to resume from a sequence number, leave snapshot unset")
            object.__setattr__(self, "from_seq", int(self.from_seq))
        object.__setattr__(self, "snapshot", bool(self.snapshot))

    def check_frame_limit(self) -> "StreamRequest":
        """This request, if its frames fit a gRPC message; else InvalidArgumentError."""
        if self.max_ticks_per_frame > MAX_TICKS_PER_FRAME:
            raise InvalidArgumentError(
                f"max_ticks_per_frame {self.max_ticks_per_frame} is too large: use 1 to "
                f"{MAX_TICKS_PER_FRAME} (or 0 over the wire for the default "
                f"{DEFAULT_TICKS_PER_FRAME})")
        return self

    def at(self, from_seq: int) -> "StreamRequest":
        """The same request, starting at ``from_seq`` (and without a snapshot):
        how a resuming stream reopens after a lost connection."""
        return replace(self, from_seq=from_seq, snapshot=False)

    @property
    def filters_rows(self) -> bool:
        """True if kinds or a price/size bound leave some results out."""
        return (self.kinds is not None or self.min_size is not None
                or self.min_price is not None or self.max_price is not None)
