"""The Optuna sampler ``hydra.sweeper.sampler`` names, built before any trial trains."""

from __future__ import annotations

import inspect

import optuna

from ablab.errors import ConfigError
from ablab.search.settings import SamplerSettings


def make_sampler(settings: SamplerSettings) -> optuna.samplers.BaseSampler:
    """``optuna.samplers.<name's class>(seed=..., **options)``; options it does not take are refused."""
    sampler = getattr(optuna.samplers, settings.name.value)
    try:
        return sampler(seed=settings.seed, **settings.options)
    except TypeError as error:
        allowed = [p for p in inspect.signature(sampler).parameters if p != "seed"]
        raise ConfigError(
            f"hydra.sweeper.sampler.options={settings.options} do not suit {sampler.__name__} "
            f"(sampler.name={settings.name.name}): {error}; its options: {', '.join(allowed)}."
        ) from error
