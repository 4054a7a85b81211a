"""``python -m research``: the lab's command line (see :mod:`research.cli`)."""
import sys

from research.cli import main

sys.exit(main())
