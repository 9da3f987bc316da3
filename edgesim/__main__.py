"""``python -m edgesim`` runs the command line."""

import sys

from edgesim.launch import main

sys.exit(main())
