"""Where the packaged default configs live: ``conf/`` at the repository top, shipped in the
wheel as ``ablab/conf`` (the symlink ``src/ablab/conf``), so any install finds them."""

from pathlib import Path

CONFIG_DIR = str(Path(__file__).parents[1] / "conf")
