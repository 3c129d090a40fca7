"""asv suites of dropbench: thin classes over dropbench.suites (docs/asv.md)."""

import os
from pathlib import Path

# The profiles are this checkout's (like the suites), whichever commit is installed: the wheel
# asv builds does not carry hardware_profiles/.
os.environ.setdefault("DROPBENCH_PROFILES", str(Path(__file__).resolve().parents[1] / "hardware_profiles"))

from dropbench import suites  # noqa: E402  (after the profile directory is set)

suites.warm_up()  # once in asv's fork server rather than in every benchmark forked from it
