"""``python -m mdstream``: the same as the ``mdstream`` command."""

from mdstream.cli import main

raise SystemExit(main())
