"""One Keras backend per study: a process imports Keras once, on one backend, and a study's
workers are reused from job to job, so every run of a study trains on the command line's
``trainer.backend``. An arm or factor that changes it is refused while the study plans."""

from __future__ import annotations

from collections.abc import Mapping

from omegaconf import DictConfig

from ablab.errors import ConfigError


def refuse_mixed_backends(backend: str, arm_configs: Mapping[str, DictConfig]) -> None:
    """Raise ConfigError naming the arms whose ``trainer.backend`` is not the study's ``backend``."""
    others = {arm: cfg.trainer.backend for arm, cfg in arm_configs.items() if cfg.trainer.backend != backend}
    if others:
        listed = ", ".join(f"{arm!r} ({name})" for arm, name in others.items())
        raise ConfigError(
            f"trainer.backend differs between the arms of this study: {listed}, but the study trains on "
            f"trainer.backend={backend!r}. Keras loads one backend per process, so a study runs on one: "
            "give trainer.backend on the command line for the whole study (not as a factor or in an "
            "arm), and run one study per backend to compare backends."
        )
