"""``python -m igselect``: the same as the ``igselect`` command."""

import sys

from igselect.cli import main

sys.exit(main())
