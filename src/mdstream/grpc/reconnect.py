"""How a resuming stream reconnects (Reconnect), and how it gives up (ReconnectError)."""

from __future__ import annotations

import dataclasses

import grpc

from mdstream.errors import InvalidArgumentError
from mdstream.grpc.errors import RemoteError

__all__ = ["Reconnect", "ReconnectError"]


@dataclasses.dataclass(frozen=True)
class Reconnect:
    """How a resuming stream reconnects.

    After a failure the stream waits ``initial_backoff`` seconds, then
    ``multiplier`` times longer after each further failure, up to
    ``max_backoff`` (each wait varies by +/- ``jitter``, a fraction, so that
    many clients do not come back in step). Once ``give_up_after`` seconds
    have passed since the connection was lost without a new one delivering
    anything, it raises ReconnectError. A connection that delivers a message
    (results, a heartbeat) resets both.

    Retried: UNAVAILABLE (and the codes in ``retry_codes``), and a server that
    has no stream slot free (TooManySubscribersError). Anything else (an
    invalid request, DATA_LOSS, a 'disconnect' subscriber found too slow) is
    raised at once. Raises InvalidArgumentError for settings out of range.
    """

    initial_backoff: float = 0.05
    max_backoff: float = 1.0
    multiplier: float = 2.0
    jitter: float = 0.2
    give_up_after: float = 60.0
    retry_codes: tuple = (grpc.StatusCode.UNAVAILABLE,)

    def __post_init__(self):
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise InvalidArgumentError(
                f"need 0 < initial_backoff <= max_backoff, got {self.initial_backoff} and "
                f"{self.max_backoff}")
        if self.multiplier < 1:
            raise InvalidArgumentError(f"multiplier must be >= 1, got {self.multiplier}")
        if not 0 <= self.jitter < 1:
            raise InvalidArgumentError(f"jitter must be in [0, 1), got {self.jitter}")
        if self.give_up_after <= 0:
            raise InvalidArgumentError(f"give_up_after must be > 0, got {self.give_up_after}")


class ReconnectError(RemoteError):
    """A resuming stream lost its connection and could not get a working one
    back within Reconnect.give_up_after seconds (``code`` UNAVAILABLE).

    ``last_seq`` is the newest sequence number the stream accounted for
    (resume later with ``from_seq=last_seq + 1``), ``attempts`` the
    connection attempts made, ``last_error`` the error of the last one.
    """

    def __init__(self, target: str, last_seq: int | None, attempts: int, down_for: float,
                 last_error: Exception):
        where = "before it had received anything" if last_seq is None else f"after seq {last_seq}"
        resume = "" if last_seq is None else f"; resume later with from_seq={last_seq + 1}"
        super().__init__(grpc.StatusCode.UNAVAILABLE,
                         f"lost the stream from {target} {where} and could not reconnect within "
                         f"{down_for:.1f} s ({attempts} attempts; last error: {last_error}){resume}")
        self.last_seq = last_seq
        self.attempts = attempts
        self.down_for = down_for
        self.last_error = last_error
