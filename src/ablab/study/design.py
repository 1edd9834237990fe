"""Which arms a study runs: the four ablation designs over a baseline and its factors.

Pure functions on plain values, so the designs are easy to test and reason about; the
sweeper turns the arms into Hydra overrides.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ablab.errors import ConfigError

DESIGNS = ("ofat", "leave_one_out", "ladder", "factorial", "fractional", "path")


@dataclass(frozen=True)
class Arm:
    """One configuration of the study: the factor settings it runs and how they differ."""

    name: str
    settings: dict[str, Any]  # every factor key -> the value this arm uses
    changed: dict[str, tuple[Any, Any]]  # key -> (baseline value, this arm's value)
    reference: bool = False  # the arm the others are compared against


def _arm(name: str, baseline: Mapping[str, Any], settings: Mapping[str, Any], reference: bool) -> Arm:
    changed = {k: (baseline[k], v) for k, v in settings.items() if v != baseline[k]}
    return Arm(name=name, settings=dict(settings), changed=changed, reference=reference)


def _label(key: str, value: Any) -> str:
    return f"{key}={value}"


def _single_alternatives(factors: Mapping[str, Sequence[Any]], design: str) -> dict[str, Any]:
    """leave_one_out and ladder switch each factor on once: one alternative per factor."""
    several = {k: list(v) for k, v in factors.items() if len(v) != 1}
    if several:
        raise ConfigError(
            f"study.design={design!r} needs exactly one alternative per factor, but study.factors "
            f"has {several}; split them into separate studies or use design ofat or factorial."
        )
    return {k: v[0] for k, v in factors.items()}


def plan_arms(
    baseline: Mapping[str, Any],
    factors: Mapping[str, Sequence[Any]],
    design: str,
    resolution: int | None = None,
) -> list[Arm]:
    """The arms of ``design``; ``baseline`` must give a value for every factor key; ``resolution``:
    the fractional design's (ablab.study.fractional_design; None: its default)."""
    check_factors(baseline, factors)
    base = dict(baseline)
    if design == "ofat":
        arms = [_arm("baseline", base, base, True)]
        for key, alternatives in factors.items():
            for value in alternatives:
                arms.append(_arm(_label(key, value), base, {**base, key: value}, False))
        return arms
    if design == "leave_one_out":
        improved = {**base, **_single_alternatives(factors, design)}
        arms = [_arm("all", base, improved, True)]
        for key in factors:
            arms.append(_arm(f"all but {key}", base, {**improved, key: base[key]}, False))
        return arms
    if design == "ladder":
        steps = _single_alternatives(factors, design)
        arms, current = [_arm("baseline", base, base, True)], dict(base)
        for key, value in steps.items():
            current = {**current, key: value}
            arms.append(_arm("+" + _label(key, value), base, current, False))
        return arms
    if design == "factorial":
        keys = list(factors)
        levels = [[base[k], *factors[k]] for k in keys]
        arms = []
        for combination in itertools.product(*levels):
            settings = {**base, **dict(zip(keys, combination, strict=True))}
            changed = [_label(k, v) for k, v in zip(keys, combination, strict=True) if v != base[k]]
            arms.append(_arm(",".join(changed) or "baseline", base, settings, not changed))
        return arms
    if design == "fractional":
        from ablab.study.fractional_design import DEFAULT_RESOLUTION, fractional_arms  # imports Arm

        return fractional_arms(base, factors, resolution or DEFAULT_RESOLUTION)
    raise ConfigError(f"study.design={design!r} is not a design; allowed: {', '.join(DESIGNS)}.")


def check_factors(baseline: Mapping[str, Any], factors: Mapping[str, Sequence[Any]]) -> None:
    if not factors:
        raise ConfigError("study.factors is empty; give at least one key with alternatives to try.")
    for key, alternatives in factors.items():
        if isinstance(alternatives, str | bytes) or not isinstance(alternatives, Sequence):
            raise ConfigError(
                f"study.factors.{key}={alternatives!r} must be a list of alternatives, e.g. [he_normal]."
            )
        if not alternatives:
            raise ConfigError(f"study.factors.{key} is an empty list; give at least one alternative.")
        if key not in baseline:
            raise ConfigError(f"study.factors.{key} has no baseline value.")
        if baseline[key] in alternatives:
            raise ConfigError(
                f"study.factors.{key} lists {baseline[key]!r}, which is the baseline's own value; "
                "a factor's alternatives must differ from the baseline."
            )
        if len(set(map(repr, alternatives))) != len(alternatives):
            raise ConfigError(f"study.factors.{key}={list(alternatives)!r} lists a value twice.")


def check_seeds(seeds: Sequence[Any]) -> list[int]:
    values = list(seeds)
    if not values or not all(isinstance(s, int) and not isinstance(s, bool) for s in values):
        raise ConfigError(f"study.seeds={values!r} must be a non-empty list of integers, e.g. [0, 1, 2].")
    duplicates = sorted({s for s in values if values.count(s) > 1})
    if duplicates:
        raise ConfigError(f"study.seeds={values!r} repeats {duplicates}; each seed must appear once.")
    return values
