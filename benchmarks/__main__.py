"""``python -m benchmarks [NAME ...] [options]``: see benchmarks/__init__.py."""

import sys

from benchmarks import main

sys.exit(main())
