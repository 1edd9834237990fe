"""The ``ablation`` Hydra sweeper: runs a study's arms x seeds as one multirun.

Selected with ``hydra/sweeper=ablation`` (the study presets in conf/study/ do it). A thin
adapter, as Hydra's own launchers are: the launch itself is ``ablab.study.sweep.StudySweep``.
"""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


@dataclass
class AblationSweeperConf:
    _target_: str = "hydra_plugins.ablab_sweeper.ablation_sweeper.AblationSweeper"
    dry_run: bool = False  # print the plan and what is already done, train nothing
    report: bool = True  # write the comparison report when the study ends
    # Most runs one fused job trains (trainer.engine=fused); null: as many as balance the workers.
    max_pack_size: int | None = None


ConfigStore.instance().store(
    group="hydra/sweeper", name="ablation", node=AblationSweeperConf, provider="ablab"
)


class AblationSweeper(Sweeper):
    def __init__(self, dry_run: bool = False, report: bool = True, max_pack_size: int | None = None) -> None:
        self.options = {"dry_run": dry_run, "report": report, "max_pack_size": max_pack_size}
        self.study: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        from ablab.study.sweep import StudySweep

        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.study = StudySweep(hydra_context, config, launcher, **self.options)

    def sweep(self, arguments: list[str]) -> Any:
        return self.study.sweep(arguments)
