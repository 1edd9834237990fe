"""``study.target``: the configuration an ablation path walks to from the baseline (its source).

Each factor's first alternative by default; ``study.target`` sets any factor or baseline key to
another value. Checked here, with the study, so a bad target fails before anything trains.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ablab.errors import ConfigError


def read_target(
    raw: object,
    design: str,
    baseline: Mapping[str, Any],
    factors: Mapping[str, Sequence[Any]],
    group_options: Callable[[str], Sequence[str]],
) -> dict[str, Any] | None:
    """The path's target, key -> value, in factor order then the baseline keys the target adds;
    None for the other designs (which refuse a target)."""
    if design != "path":
        if raw:
            raise ConfigError(
                f"study.target={raw!r} is only read by study.design=path (the ablation path); "
                f"study.design={design!r} runs the arms its factors give. Remove study.target or use "
                "design path."
            )
        return None
    given = raw or {}
    if not isinstance(given, Mapping):
        raise ConfigError(
            f"study.target={raw!r} must map study keys to their target values, e.g. "
            "{activation: relu, optimizer: adam}."
        )
    unknown = [key for key in given if key not in baseline]
    if unknown:
        raise ConfigError(
            f"study.target names {unknown}, which are not study keys; a path flips only keys of "
            f"study.factors or study.baseline: {', '.join(baseline)}."
        )
    target = {key: alternatives[0] for key, alternatives in factors.items()}
    target.update(given)
    for key, value in given.items():
        options = list(group_options(key))
        if options and value not in options:
            raise ConfigError(
                f"study.target.{key}={value!r} is not an option of conf/{key}/; allowed: "
                f"{', '.join(sorted(options))}."
            )
    unchanged = [key for key, value in target.items() if value == baseline[key]]
    if unchanged and len(unchanged) == len(target):
        raise ConfigError(
            f"study.target {target} equals the source (study.baseline): a path needs at least one "
            "key whose target value differs from the baseline's."
        )
    if unchanged:
        raise ConfigError(
            f"study.target sets {unchanged} to the baseline's own value(s): a path step flips a key "
            "from its baseline value to its target value, so each target value must differ from the "
            "baseline's. Leave those keys out of study.factors and study.target."
        )
    return target
