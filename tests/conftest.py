"""Test-wide settings. In CI (``CI`` set in the environment), hypothesis draws the same examples on
every run, so that a red run means a change broke something, not that a new random example was found;
locally it keeps exploring new examples."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
