"""Hydra override text that ablab writes for the jobs it launches (a study's, a search's)."""

from __future__ import annotations

from collections.abc import Mapping


def quote(text: str) -> str:
    """A Hydra override string literal for arbitrary text."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def tracking_overrides(
    uri: str, parent_run_id: str, tags: Mapping[str, str], experiment: str | None = None
) -> list[str]:
    """A child run's ``tracking`` node as overrides: its store, (its experiment,) its parent run
    (``+``: not a schema key) and its tags."""
    tag_dict = "{" + ",".join(f"{key}:{quote(value)}" for key, value in tags.items()) + "}"
    return [
        f"tracking.uri={quote(uri)}",
        *([f"tracking.experiment={quote(experiment)}"] if experiment is not None else []),
        f"+tracking.parent_run_id={parent_run_id}",
        f"++tracking.tags={tag_dict}",
    ]
