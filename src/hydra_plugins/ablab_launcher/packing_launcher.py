"""The ``packing`` Hydra launcher: a plain multirun's fused jobs train together, as a study's do.

``ablab-train -m activation=relu,tanh trainer.seed=0,1,2 trainer.engine=fused`` composes each
job, checks it, and hands the jobs that can share a pack (``ablab.run.engines.fused.support.pack_key``) to
one Hydra job that trains them side by side in one graph (``+pack=<file>``); the rest (the
Keras engine, a search's objective, a config that fails its checks and fails in its own job)
run as usual. Jobs run one after another in this process (Hydra's basic launcher): a pack
already keeps every core busy. Each job gets its own JobReturn back, with its run's metrics.
A thin adapter: the planning is ``ablab.study.plain_packs``.
"""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from ablab._compat import basic_launcher, quiet_hydra_launchers

log = logging.getLogger(__name__)


@dataclass
class PackingLauncherConf:
    _target_: str = "hydra_plugins.ablab_launcher.packing_launcher.PackingLauncher"
    # Most runs one fused job trains; null: every run that can share a pack.
    max_pack_size: int | None = None


ConfigStore.instance().store(
    group="hydra/launcher", name="packing", node=PackingLauncherConf, provider="ablab"
)


class PackingLauncher(Launcher):
    def __init__(self, max_pack_size: int | None = None) -> None:
        self.max_pack_size = max_pack_size
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.jobs = basic_launcher()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.jobs.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from ablab.study.plain_packs import pack_job, plan_packs, run_return

        packs = plan_packs(job_overrides, self._compose, self.max_pack_size) if len(job_overrides) > 1 else []
        packed = {index for pack in packs for index, _ in pack}
        alone = [index for index in range(len(job_overrides)) if index not in packed]
        sweep_dir = Path(self.config.hydra.runtime.cwd) / str(self.config.hydra.sweep.dir)
        launched = [pack_job(pack, sweep_dir, initial_job_idx, number) for number, pack in enumerate(packs)]
        launched += [list(job_overrides[index]) for index in alone]
        if not packs:  # nothing to pack (or not an ablab app): the basic launcher, as it is
            return self.jobs.launch(launched, initial_job_idx=initial_job_idx)
        sizes = ", ".join(str(len(p)) for p in packs)
        log.info("Launching %d jobs, sweep output dir : %s", len(job_overrides), sweep_dir)
        for index, overrides in enumerate(job_overrides, start=initial_job_idx):
            log.info("\t#%d : %s", index, " ".join(overrides))  # the jobs asked for, not the pack jobs
        log.info("Fused engine: %d runs in %d pack(s) of %s", len(packed), len(packs), sizes)
        with quiet_hydra_launchers():
            results = self.jobs.launch(launched, initial_job_idx=initial_job_idx)
        returns: list[JobReturn | None] = [None] * len(job_overrides)
        for pack, result in zip(packs, results, strict=False):
            for index, request in pack:
                returns[index] = run_return(result, request, job_overrides[index])
        for index, result in zip(alone, results[len(packs) :], strict=True):
            returns[index] = result
        return returns

    def _compose(self, overrides: list[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(self.config, overrides)
