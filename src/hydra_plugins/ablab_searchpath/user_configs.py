"""Puts a user's config folders ahead of ablab's packaged ``conf/`` on Hydra's search path.

A user adds ``conf/optimizer/lion.yaml`` (or ``conf/model/mynet.yaml``, ``conf/study/mine.yaml``)
in their project and uses it like a built-in option; a file of the same name overrides the
packaged one. Folders, first match wins: ``$ABLAB_CONFIG_DIR`` (``os.pathsep``-separated),
``./conf`` of the directory ``ablab-train`` starts in, ablab's own; Hydra puts ``--config-dir``
after those (it adds options, it cannot replace a packaged file).
``ablab-train --info searchpath`` lists them.
"""

from __future__ import annotations

import os
from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

ENV_VAR = "ABLAB_CONFIG_DIR"


def user_config_dirs() -> list[Path]:
    """The existing user config folders, in lookup order."""
    named = [Path(p).expanduser() for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p]
    return [d.resolve() for d in [*named, Path("conf")] if d.is_dir()]


class UserConfigSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        from ablab.config.packaged import CONFIG_DIR

        packaged = Path(CONFIG_DIR).resolve()
        mains = [e for e in search_path.get_path() if e.provider == "main"]
        if not mains or Path(mains[0].path.removeprefix("file://")).resolve() != packaged:
            return  # another Hydra app in the same environment: leave its search path alone
        for directory in reversed(user_config_dirs()):
            if directory != packaged:
                search_path.prepend("ablab-user", f"file://{directory}")
