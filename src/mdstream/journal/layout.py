"""The files of a journal directory: segment and state file names, and the
plain CRC-32C reference the core's checksum is tested against."""

from __future__ import annotations

from pathlib import Path

__all__ = ["SEGMENT_SUFFIX", "STATE_SUFFIX", "FORMAT_VERSION", "list_segments",
           "list_states", "crc32c_reference"]

SEGMENT_SUFFIX = ".mdj"
STATE_SUFFIX = ".mds"
FORMAT_VERSION = 1


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """(first_seq, path) of every segment, oldest first."""
    out = []
    for p in directory.iterdir():
        if p.suffix == SEGMENT_SUFFIX and p.stem.isdigit():
            out.append((int(p.stem), p))
    return sorted(out)


def list_states(directory: Path) -> list[tuple[int, Path]]:
    """(seq, path) of every state file, oldest first."""
    out = []
    for p in directory.iterdir():
        if p.suffix == STATE_SUFFIX and p.stem.startswith("state-") and p.stem[6:].isdigit():
            out.append((int(p.stem[6:]), p))
    return sorted(out)


def crc32c_reference(data: bytes) -> int:
    """CRC-32C, bit by bit: the plain reference the core's version is tested against."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF
