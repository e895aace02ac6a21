"""``python -m symslow``: the ``symslow`` command."""

import sys

from .cli import main

sys.exit(main())
