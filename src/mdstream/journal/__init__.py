"""The journal directory (Python side): configuration, recovery, replay and
retention, and JournalReader, which reads a journal without an engine. The
writer thread and the block format live in the core (core/journal.pxi)."""

from mdstream.journal.config import JournalConfig, RecoveryReport
from mdstream.journal.directory import Journal
from mdstream.journal.layout import crc32c_reference, list_segments, list_states
from mdstream.journal.reader import JournalInfo, JournalReader

__all__ = ["Journal", "JournalConfig", "JournalInfo", "JournalReader", "RecoveryReport",
           "list_segments", "list_states", "crc32c_reference"]
