"""The ``search`` Hydra sweeper: an Optuna search whose trials are ordinary ablab runs.

Selected with ``hydra/sweeper=search`` (the presets in conf/hparams_search/ do it); not named
``optuna``, so it cannot clash with hydra-optuna-sweeper's. A thin adapter: the search is
``ablab.search.sweep.SearchSweep``, imported only when a search runs.
"""

from dataclasses import dataclass
from typing import Any

from hydra.core.config_store import ConfigStore
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from ablab.search.settings import SearchSettings


@dataclass
class SearchSweeperConf(SearchSettings):
    _target_: str = "hydra_plugins.ablab_search.search_sweeper.SearchSweeper"


ConfigStore.instance().store(group="hydra/sweeper", name="search", node=SearchSweeperConf, provider="ablab")


class SearchSweeper(Sweeper):
    def __init__(self, **settings: Any) -> None:
        del settings  # untyped copies of config.hydra.sweeper, which the search reads typed
        self.search: Any = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        from hydra.core.plugins import Plugins

        from ablab.search.sweep import SearchSweep

        launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )
        self.search = SearchSweep(config, launcher)

    def sweep(self, arguments: list[str]) -> Any:
        return self.search.sweep(arguments)
