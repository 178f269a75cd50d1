"""A process that journals the deterministic tick stream until it is killed.

Run as: python writer_process.py DIRECTORY DURABILITY. It prints "ready" once
its engine runs, then publishes the stream (continuing where a journal left
off) in small batches, as fast as it can.
"""

import sys

import mdstream
from mdstream.journal import JournalConfig

from helpers import SYMBOLS, publish_ticks, tick_stream

TOTAL = 400_000


def main() -> None:
    directory, durability = sys.argv[1], sys.argv[2]
    ticks = tick_stream(TOTAL)
    engine = mdstream.Engine(symbols=SYMBOLS, journal=JournalConfig(
        directory, durability=durability, segment_bytes=1 << 20))
    engine.start()
    print("ready", engine.recovery.next_seq, flush=True)
    position = engine.recovery.next_seq
    while position < TOTAL:
        batch = ticks[position:position + 97]
        publish_ticks(engine, batch)
        position += len(batch)
    engine.stop()
    print("done", flush=True)


if __name__ == "__main__":
    main()
