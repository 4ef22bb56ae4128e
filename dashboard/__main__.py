"""``python -m dashboard`` is the same as ``hbm``."""

import sys

from dashboard.cli import main

sys.exit(main())
