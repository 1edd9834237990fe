"""The arms of a fractional factorial screening (``study.design: fractional``).

Two levels per factor: its baseline option (-1) and its one alternative (+1). pyDOE's
``fracfact_by_res`` gives the design of the asked resolution in the fewest runs; of its equivalent
fractions (the same aliases, other signs) the one holding the all-baseline row is run, so the
baseline is an arm and the reference, as in the other designs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pydoe import fracfact_by_res

from ablab.errors import ConfigError
from ablab.stats.aliasing import MAX_FACTORS, resolution, roman
from ablab.study.design import Arm

DEFAULT_RESOLUTION = 4


def check_resolution(value: Any, n_factors: int) -> int:
    """``study.resolution``: an integer from 3 (main effects clear of each other) to the factor
    count (the half fraction); higher needs every combination, i.e. design factorial."""
    if n_factors < 3:
        raise ConfigError(
            f"study.design='fractional' needs at least 3 factors, but study.factors has {n_factors}: "
            "with fewer, every fraction loses a main effect; use design factorial (2^k arms)."
        )
    if n_factors > MAX_FACTORS:
        raise ConfigError(
            f"study.design='fractional' takes at most {MAX_FACTORS} factors (the alias table's limit), "
            f"but study.factors has {n_factors}; split them into separate screenings."
        )
    integer = isinstance(value, int) and not isinstance(value, bool)
    if not integer or not 3 <= value <= n_factors:
        raise ConfigError(
            f"study.resolution={value!r} is not a resolution {n_factors} factors can have as a fraction; "
            f"allowed: an integer from 3 to {n_factors} (3: main effects aliased with two-factor "
            "interactions, 4: main effects clear of them, 5: two-factor interactions estimable too). "
            "Every combination is design factorial."
        )
    return value


def screening_design(n_factors: int, resolution_value: int) -> np.ndarray:
    """The ±1 design (rows: arms, columns: factors) with the all-baseline row first."""
    design = fracfact_by_res(n_factors, resolution_value)
    return design * -design[0]  # flip the columns where row 0 is +1: row 0 becomes all -1


def two_levels(factors: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    several = {key: list(values) for key, values in factors.items() if len(values) != 1}
    if several:
        raise ConfigError(
            f"study.design='fractional' runs two levels per factor (its baseline and one alternative), "
            f"but study.factors gives {', '.join(several)} more: {several}. Keep one alternative per "
            "factor, or use design ofat or factorial."
        )
    return {key: values[0] for key, values in factors.items()}


def fractional_arms(
    baseline: Mapping[str, Any], factors: Mapping[str, Sequence[Any]], resolution_value: int
) -> list[Arm]:
    """One arm per design row, named by its changed factors as the factorial design names them."""
    high = two_levels(factors)
    keys = list(high)
    check_resolution(resolution_value, len(keys))
    arms = []
    for row in screening_design(len(keys), resolution_value):
        switched = [key for key, level in zip(keys, row, strict=True) if level > 0]
        settings = {**baseline, **{key: high[key] for key in switched}}
        changed = {key: (baseline[key], high[key]) for key in switched}
        name = ",".join(f"{key}={value}" for key, (_, value) in changed.items()) or "baseline"
        arms.append(Arm(name=name, settings=settings, changed=changed, reference=not changed))
    return arms


def plan_summary(arms: Sequence[Arm], factor_keys: Sequence[str], n_seeds: int) -> str:
    """The plan's screening line: the design's resolution and the runs saved vs the full factorial."""
    design = np.array([[1.0 if key in arm.changed else -1.0 for key in factor_keys] for arm in arms])
    full = 2 ** len(factor_keys)
    runs, full_runs = len(arms) * n_seeds, full * n_seeds
    return (
        f"Fractional factorial: resolution {roman(resolution(design))}, {len(arms)} of the {full} arms "
        f"of the full factorial (2^{len(factor_keys)}) x {n_seeds} seeds = {runs} runs instead of "
        f"{full_runs}: {full_runs - runs} runs saved ({runs / full_runs:.0%} of the full factorial's)."
    )
