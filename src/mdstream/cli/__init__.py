"""The ``mdstream`` command (console script ``mdstream = mdstream.cli:main``).

One module per command (serve, subscribe, stats, demo, bench), the parser in
mdstream.cli.parser, shared options and argument types in
mdstream.cli.options, and what is printed in mdstream.cli.output.
"""

from mdstream.cli.parser import build_parser, main

__all__ = ["main", "build_parser"]
