"""Checks a config's ``_target_`` (a user's builder or loader) imports, before anything runs."""

from __future__ import annotations

import logging

from hydra.utils import get_method

_NOT_INSTALLED = (
    "; if it is your own code, install its package in this environment (`pip install -e .` in "
    "your project's folder) or put its folder on PYTHONPATH"
)


def target_import_problem(group: str, target: object, kind: str) -> str | None:
    """Why ``<group>._target_`` names no importable ``kind`` function (one sentence), or None."""
    if not isinstance(target, str) or not target:
        return f"{group}._target_={target!r} must be the dotted path of a {kind} function"
    hydra_log = logging.getLogger("hydra.utils")  # it logs the error it raises: said once, below
    level = hydra_log.level
    hydra_log.setLevel(logging.CRITICAL)
    try:
        get_method(target)
    except Exception as error:  # noqa: BLE001 - user code runs here: any error, reported whole
        # Hydra wraps the import error twice; its own first line ("Error loading 'x':") says no reason.
        root = error
        while root.__cause__ is not None:
            root = root.__cause__
        hint = _NOT_INSTALLED if isinstance(root, ModuleNotFoundError) else ""
        reason = " ".join(str(root).split())[:300]
        return f"{group}._target_={target!r} does not import: {type(root).__name__}: {reason}{hint}"
    finally:
        hydra_log.setLevel(level)
    return None
