"""The ``packing`` Hydra launcher: a plain multirun's fused jobs train together, as a study's do.

``ablab-train -m activation=relu,tanh trainer.seed=0,1,2 trainer.engine=fused`` composes each
job, checks it, and hands the jobs that can share a pack (``ablab.fused.support.pack_key``) to
one Hydra job that trains them side by side in one graph (``+pack=<file>``); the rest (the
Keras engine, a search's objective, a config that fails its checks and fails in its own job)
run as usual. Jobs run one after another in this process (Hydra's basic launcher): a pack
already keeps every core busy. Each job gets its own JobReturn back, with its run's metrics.
"""


import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from hydra._internal.core_plugins.basic_launcher import BasicLauncher
from hydra.core.config_store import ConfigStore
from hydra.core.utils import JobReturn, JobStatus
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig

from ablab.run_request import RunRequest

log = logging.getLogger(__name__)


@dataclass
class PackingLauncherConf:
    _target_: str = "hydra_plugins.ablab_launcher.packing_launcher.PackingLauncher"
    # Most runs one fused job trains; null: every run that can share a pack.
    max_pack_size: int | None = None


ConfigStore.instance().store(
    group="hydra/launcher", name="packing", node=PackingLauncherConf, provider="ablab"
)


class PackFailed(RuntimeError):
    """A run of a fused pack that failed (diverged, or its store refused a write)."""


class PackingLauncher(Launcher):
    def __init__(self, max_pack_size: int | None = None) -> None:
        self.max_pack_size = max_pack_size
        self.config: DictConfig | None = None
        self.hydra_context: HydraContext | None = None
        self.jobs = BasicLauncher()

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config, self.hydra_context = config, hydra_context
        self.jobs.setup(hydra_context=hydra_context, task_function=task_function, config=config)

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        packs = self._plan(job_overrides) if len(job_overrides) > 1 else []
        packed = {index for pack in packs for index, _ in pack}
        alone = [index for index in range(len(job_overrides)) if index not in packed]
        launched = [self._pack_job(pack, initial_job_idx, number) for number, pack in enumerate(packs)]
        launched += [list(job_overrides[index]) for index in alone]
        if packs:
            sizes = ", ".join(str(len(p)) for p in packs)
            log.info("Fused engine: %d runs in %d pack(s) of %s", len(packed), len(packs), sizes)
        results = self.jobs.launch(launched, initial_job_idx=initial_job_idx)
        returns: list[JobReturn | None] = [None] * len(job_overrides)
        for pack, result in zip(packs, results, strict=False):
            for index, request in pack:
                returns[index] = _run_return(result, request, job_overrides[index])
        for index, result in zip(alone, results[len(packs) :], strict=True):
            returns[index] = result
        return returns

    def _plan(self, job_overrides: Sequence[Sequence[str]]) -> list[list[tuple[int, RunRequest]]]:
        """Packs of (job index, RunRequest): the fused jobs that pass their checks, grouped."""
        from ablab.runtime import import_tensorflow

        import_tensorflow()  # validation builds models
        from ablab.errors import ConfigError, DatasetUnavailable
        from ablab.study.packing import plan_packs, run_request
        from ablab.validation import validate

        candidates: dict[int, RunRequest] = {}  # id(request) -> request
        index_of: dict[int, int] = {}  # id(request) -> job index
        for index, overrides in enumerate(job_overrides):
            config = self.hydra_context.config_loader.load_sweep_config(self.config, list(overrides))
            if config.trainer.engine != "fused" or config.get("objective") is not None or config.get("pack"):
                continue
            try:
                validate(config, config.hydra.runtime.choices)
            except (ConfigError, DatasetUnavailable):
                continue  # its own job fails with the error
            request = run_request(config, overrides)
            candidates[id(request)], index_of[id(request)] = request, index
        packs, _ = plan_packs(list(candidates.values()), workers=1, max_size=self.max_pack_size)
        return [[(index_of[id(request)], request) for request in pack] for pack in packs]

    def _pack_job(self, pack: list[tuple[int, RunRequest]], first_index: int, number: int) -> list[str]:
        from ablab.study.packing import pack_overrides

        sweep_dir = Path(self.config.hydra.runtime.cwd) / str(self.config.hydra.sweep.dir)
        first_request = pack[0][1]
        path = sweep_dir / "packs" / f"pack-{first_index}-{number}.json"
        return pack_overrides(first_request.overrides, [request for _, request in pack], path)


def _run_return(pack_result: JobReturn, request: RunRequest, overrides: Sequence[str]) -> JobReturn:
    """One run's JobReturn out of its pack's: its metrics, or its own error."""
    from ablab.run_key import run_key

    result = dataclasses.replace(pack_result, overrides=list(overrides))
    if pack_result.status == JobStatus.COMPLETED:
        outcome = pack_result.return_value.get(run_key(request.config), {"error": "not trained by its pack"})
        if outcome["error"]:
            result.status, result.return_value = JobStatus.FAILED, PackFailed(outcome["error"])
        else:
            result.return_value = outcome["metrics"]
    return result
