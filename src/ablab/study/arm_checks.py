"""The checks of a study's arms that need their models built: what Keras refuses in a config,
arms that train the same thing (dead factors), and each arm's step cost (packs balance it).

They need the Keras backend. The sweeper runs them in a warm launcher worker, which has it loaded
already, so the planning process never imports it (TensorFlow: ~2.5 s of a 2-core machine's planning, the
workers importing at the same time); with no warm workers, in the planning process.
"""

from __future__ import annotations

from collections.abc import Sequence

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ablab.run.backends import use_backend
from ablab.run.runtime import configure_threads
from ablab.study.design import Arm


def arm_source(arm: str) -> str:
    """Where a study job's overridden values come from, for the errors that name it."""
    return f"arm {arm!r} or the command line"


def check_arms(arms: Sequence[tuple[Arm, DictConfig]], jobs: int | None = None) -> dict[str, int]:
    """Each arm's step cost, once its config passed ``ablab.run.validation`` and no two arms build the
    same model; raises ConfigError otherwise, before anything trains.

    ``jobs``: in a launcher worker, how many jobs share the cores. Building a model fixes the backend's
    thread pools, so they are sized here as the worker's jobs would size them.
    """
    use_backend(arms[0][1].trainer.backend)  # one per study (ablab.study.backend_check)
    from ablab.models.fingerprint import Fingerprints
    from ablab.models.probe import ProbeModels
    from ablab.run.engines.fused.step_cost import step_cost
    from ablab.run.validation import validate
    from ablab.study.dead_factors import refuse_dead_factors

    if not HydraConfig.initialized():  # a worker: the configs' ${hydra:...} values resolve as in a job
        HydraConfig.instance().set_config(arms[0][1])
    if jobs is not None:
        configure_threads(arms[0][1].trainer.threads, jobs)
    for arm, cfg in arms:
        validate(cfg, cfg.hydra.runtime.choices, cfg.hydra.overrides.task, arm_source(arm.name))
    probes = ProbeModels()  # each arm's model, built once for both uses
    refuse_dead_factors(arms, Fingerprints(probes))
    return {arm.name: step_cost(probes(cfg)) for arm, cfg in arms}
