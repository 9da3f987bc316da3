"""The analysis scripts import each other as top-level modules, as they do when run from analysis/; the
shared test inputs live in tests/ (on the path only when pytest collects a test file there)."""

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
for folder in (TESTS, TESTS.parent / "analysis"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
