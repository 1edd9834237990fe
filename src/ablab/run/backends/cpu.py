"""The CPU's description in a run's device tag, the same on every backend."""

from __future__ import annotations

import os
import platform


def cpu_name() -> str:
    return f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
