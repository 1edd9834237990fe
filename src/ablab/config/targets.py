"""Checks a config's ``_target_`` (a user's builder or loader) imports, before anything runs."""

from __future__ import annotations

from hydra.utils import get_method


def target_import_problem(group: str, target: object, kind: str) -> str | None:
    """Why ``<group>._target_`` names no importable ``kind`` function (one sentence), or None."""
    if not isinstance(target, str) or not target:
        return f"{group}._target_={target!r} must be the dotted path of a {kind} function"
    try:
        get_method(target)
    except Exception as error:  # Hydra's locate raises ImportError or ValueError
        return f"{group}._target_={target!r} does not import: {str(error).splitlines()[0][:200]}"
    return None
