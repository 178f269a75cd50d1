"""The journal directory (Python side): configuration, recovery, replay and
retention. The writer thread and the block format live in the core
(core/journal.pxi)."""

from mdstream.journal.config import JournalConfig, RecoveryReport
from mdstream.journal.directory import Journal
from mdstream.journal.layout import crc32c_reference, list_segments, list_states

__all__ = ["Journal", "JournalConfig", "RecoveryReport", "list_segments", "list_states",
           "crc32c_reference"]
