"""Where ablab keeps what it makes once per machine: parsed datasets, an empty MLflow store."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """$ABLAB_CACHE_DIR, else ~/.cache/ablab."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ablab"
    return Path(os.environ.get("ABLAB_CACHE_DIR", default)).expanduser()
