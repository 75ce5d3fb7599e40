"""``python -m anyfast_widget``: the command line (``run SPEC`` runs a grid spec headless; see ``grid._headless``)."""

import sys

from .grid import main

if __name__ == "__main__":
    sys.exit(main())
