"""The ``mdstream`` command."""

from mdstream.cli.app import main

__all__ = ["main"]
