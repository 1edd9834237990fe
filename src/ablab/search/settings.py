"""What ``hydra.sweeper`` may say for a search: the schema Hydra checks at compose time (an unknown
sampler or direction is refused there), and the range checks it cannot do.

No Optuna here: the Hydra plugin registers this schema at every ``ablab-train`` start-up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ablab.errors import ConfigError


class Direction(Enum):
    minimize = "minimize"
    maximize = "maximize"


class SamplerName(Enum):
    """The samplers a search may name; each value is its class in ``optuna.samplers``."""

    tpe = "TPESampler"
    random = "RandomSampler"
    cmaes = "CmaEsSampler"
    qmc = "QMCSampler"
    nsgaii = "NSGAIISampler"


@dataclass
class SamplerSettings:
    name: SamplerName = SamplerName.tpe
    seed: int | None = None  # the same seed, the same suggestions (trials one at a time)
    # Other keyword arguments of the sampler's class, e.g. +hydra.sweeper.sampler.options.n_startup_trials=5.
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class SearchSettings:
    # The way ``objective`` (the final metric each trial returns) is better.
    direction: Direction = Direction.minimize
    study_name: str | None = None  # null: a name Optuna makes up
    # null: the Optuna study in memory. An Optuna storage URL (sqlite:///optuna.db) keeps it: a
    # later search with the same study_name adds its trials to the study's.
    storage: str | None = None
    n_trials: int = 20
    n_jobs: int = 1  # trials per batch, launched together: raise it with a parallel launcher
    # The search stops once more than this share of n_trials has failed (a diverging trial fails).
    max_failure_rate: float = 0.0
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    # Config key -> its space in Hydra's override grammar: choice(...), range(...), interval(...),
    # tag(log, interval(...)). A plain value fixes the key for every trial.
    params: dict[str, str] = field(default_factory=dict)


def check_settings(settings: SearchSettings) -> None:
    """The ranges a schema cannot state, refused before the first trial."""
    for key, value in (("n_trials", settings.n_trials), ("n_jobs", settings.n_jobs)):
        if value < 1:
            raise ConfigError(f"hydra.sweeper.{key}={value} is out of range; allowed: an integer >= 1.")
    if not 0.0 <= settings.max_failure_rate <= 1.0:
        raise ConfigError(
            f"hydra.sweeper.max_failure_rate={settings.max_failure_rate} is out of range; allowed: "
            "0.0 (no trial may fail) to 1.0 (any may)."
        )
