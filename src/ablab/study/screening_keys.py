"""``study.resolution`` and ``study.confirm``: the keys only a fractional screening takes."""

from __future__ import annotations

from typing import Any

from ablab.errors import ConfigError
from ablab.study.fractional_design import DEFAULT_RESOLUTION, check_resolution


def read_screening(raw: dict[str, Any], design: str, n_factors: int) -> dict[str, Any]:
    """The StudySpec fields ``resolution`` and ``confirm``, checked; refused on another design, where
    they would silently mean nothing."""
    given = [key for key in ("resolution", "confirm") if raw.get(key) is not None]
    if design != "fractional":
        if given:
            raise ConfigError(
                f"study.{given[0]}={raw[given[0]]!r} applies to study.design='fractional' only, but "
                f"study.design={design!r}; remove it, or use design fractional."
            )
        return {}
    if isinstance(raw.get("seeds"), dict):
        raise ConfigError(
            "study.seeds is an adaptive schedule, but study.design='fractional' needs every seed to run "
            "every arm (seeds are its blocks); give a list of seeds, e.g. [0, 1, 2]."
        )
    confirm = raw.get("confirm", False)
    if confirm is not None and not isinstance(confirm, bool):
        raise ConfigError(
            f"study.confirm={confirm!r} must be true (rerun the factors that screen in as ofat) or false."
        )
    resolution = raw.get("resolution")
    resolution = check_resolution(DEFAULT_RESOLUTION if resolution is None else resolution, n_factors)
    return {"resolution": resolution, "confirm": bool(confirm)}
