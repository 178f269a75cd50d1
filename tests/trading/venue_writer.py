"""A process that feeds the venue input into a journaled engine until killed.

Run as: python venue_writer.py DIRECTORY TOTAL. Prints "ready NEXT_SEQ" once
its engine runs, then sends items from where the journal ended.
"""

import sys

import mdstream
from mdstream.journal import JournalConfig
from mdstream.venue import Account, PaperVenue

from venue_input import SYMBOLS, feed, sequence

VENUE = PaperVenue(accounts={"alice": Account(fee_bps=1.0), "bob": Account()})


def main() -> None:
    directory, total = sys.argv[1], int(sys.argv[2])
    items = sequence(total)
    engine = mdstream.Engine(symbols=SYMBOLS, workers=2, venue=VENUE,
                             journal=JournalConfig(directory, segment_bytes=1 << 18))
    engine.start()
    start = engine.recovery.next_seq
    print("ready", start, flush=True)
    feed(engine, items[start:])
    engine.stop()
    print("done", flush=True)


if __name__ == "__main__":
    main()
