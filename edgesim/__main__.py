"""``python -m edgesim`` runs the command line."""

import sys

from edgesim.cli import main

sys.exit(main())
