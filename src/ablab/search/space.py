"""The search space: ``hydra.sweeper.params`` and the command line, in Hydra's override grammar,
as Optuna distributions.

Hydra's own parser reads it (as hydra-optuna-sweeper did), so ``choice``, ``range`` and
``interval`` mean here what they mean in any Hydra sweep; ``range``'s stop is left out, as in
Hydra's basic sweeper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from hydra.errors import HydraException
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from ablab.errors import ConfigError

ALLOWED = (
    "choice(a, b, ...), range(start, stop[, step]), interval(low, high), tag(log, interval(low, high)), "
    "tag(log, range(start, stop)), or a plain value that fixes the key"
)


@dataclass(frozen=True)
class SearchSpace:
    distributions: dict[str, BaseDistribution]  # what the sampler picks, by config key
    written: dict[str, str]  # each searched key's space as written: what the parent run records
    fixed: list[str]  # the overrides every trial gets as they are (the command line's)

    def overrides(self, params: Mapping[str, Any]) -> list[str]:
        """One trial's overrides: the fixed ones and the sampler's ``params``."""
        return [*self.fixed, *(f"{key}={value}" for key, value in params.items())]


def search_space(params: Mapping[str, str], arguments: Sequence[str]) -> SearchSpace:
    """``params`` (the preset's), then ``arguments`` (the command line): a key on the command
    line is the command line's, fixed by a plain value, or searched over its sweep."""
    parser = OverridesParser.create()
    lines = [(f"{key}={value}", f"hydra.sweeper.params.{key}") for key, value in params.items()]
    lines += [(argument, "the command line") for argument in arguments]
    chosen: dict[str, tuple[Override, str]] = {}
    for line, source in lines:
        override = _parse(parser, line, source)
        chosen[override.get_key_element()] = (override, source)
    searched = {key: (o, source) for key, (o, source) in chosen.items() if o.is_sweep_override()}
    return SearchSpace(
        distributions={key: distribution(o, source) for key, (o, source) in searched.items()},
        written={key: o.input_line.partition("=")[2] for key, (o, _) in searched.items()},
        fixed=[o.input_line for o, _ in chosen.values() if not o.is_sweep_override()],
    )


def _parse(parser: OverridesParser, line: str, source: str) -> Override:
    try:
        return parser.parse_override(line)
    except HydraException as error:
        raise ConfigError(f"{source}: {line!r} cannot be parsed ({error}); allowed: {ALLOWED}.") from error


def distribution(override: Override, source: str) -> BaseDistribution:
    """The Optuna distribution of one sweep override; an error names it and what is allowed."""
    sweep = override.value()
    line = override.input_line
    tags = set(getattr(sweep, "tags", ()))
    if tags - {"log"} or (tags and isinstance(sweep, ChoiceSweep)):
        raise ConfigError(
            f"{source}: {line!r}: tags {sorted(tags)} are not allowed here; the one search tag is log, "
            "on an interval(...) or a range(...)."
        )
    log = "log" in tags
    try:
        if isinstance(sweep, IntervalSweep):
            return FloatDistribution(sweep.start, sweep.end, log=log)
        if isinstance(sweep, RangeSweep):
            return _range(override, sweep, log)
        if isinstance(sweep, ChoiceSweep):
            return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
    except ValueError as error:  # Optuna's checks: low > high, a log space with a step, ...
        raise ConfigError(f"{source}: {line!r} is not a search space: {error}") from error
    raise ConfigError(f"{source}: {line!r} is not a search space; allowed: {ALLOWED}.")


def _range(override: Override, sweep: RangeSweep, log: bool) -> BaseDistribution:
    values = list(override.sweep_iterator())
    if not values:
        raise ValueError(f"range({sweep.start}, {sweep.stop}, {sweep.step}) has no values")
    low, high, step = min(values), max(values), abs(sweep.step)
    if all(isinstance(v, int) for v in values):
        return IntDistribution(low, high, log=log, step=step)
    return FloatDistribution(low, high, log=log, step=step)
