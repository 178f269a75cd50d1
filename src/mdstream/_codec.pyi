"""Type stub of the compiled wire codec (mdstream._codec)."""

from typing import Any, Sequence

import numpy as np
from typing_extensions import disjoint_base

__all__ = ["BatchEncoder", "ResultEncoder", "decode_batch", "MAX_SYMBOL_ID", "FrameError"]

MAX_DECODE_TICKS: int
MAX_SYMBOL_ID: int
BATCH_FIELD_NUMBERS: dict[str, int]
RESULT_FIELD_NUMBERS: dict[str, int]

class FrameError(ValueError): ...

@disjoint_base  # a cdef class: no common subclass with another
class BatchEncoder:
    def __init__(self, names: Sequence[str]) -> None: ...
    @property
    def frames(self) -> int: ...
    def encode(self, rows: np.ndarray, gap: Any = None,
               heartbeat: tuple[int, int] | None = None) -> bytes: ...
    def heartbeat(self, last_seq: int, server_time_ns: int) -> bytes: ...

@disjoint_base  # a cdef class: no common subclass with another
class ResultEncoder:
    def __init__(self, names: Sequence[str]) -> None: ...
    def encode(self, rows: np.ndarray, missed_before: int = 0) -> list[bytes]: ...

def decode_batch(data: bytes) -> tuple[np.ndarray, dict[int, str], tuple[int, int, int] | None,
                                       tuple[int, int] | None]: ...
