"""A plain multirun's fused jobs, packed as a study's are: what the ``packing`` launcher plans.

The launcher (``hydra_plugins.ablab_launcher``) composes nothing itself: ``plan_packs`` composes
each job, checks it and groups those that can share a pack (``ablab.run.engines.fused.support``);
``pack_job`` writes a pack's file; ``run_return`` gives each run its own JobReturn back.
"""

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import DictConfig, OmegaConf

from ablab.run.request import RunRequest

# A pack: (job index in the multirun, the run it trains) per run.
Pack = list[tuple[int, RunRequest]]


class PackFailed(RuntimeError):
    """A run of a fused pack that failed (diverged, or its store refused a write)."""


def plan_packs(
    job_overrides: Sequence[Sequence[str]],
    compose: Callable[[list[str]], DictConfig],
    max_pack_size: int | None,
) -> list[Pack]:
    """The fused jobs that pass their checks, grouped into packs; the rest run as Hydra jobs
    (every job of a Hydra app that is not ablab's: the launcher is installed for all of them)."""
    configs = (compose(list(overrides)) for overrides in job_overrides)
    fused = [(index, config) for index, config in enumerate(configs) if _packable(config)]
    if not fused:
        return []
    from ablab.run.backends import use_backend

    backend = fused[0][1].trainer.backend  # this process loads one: other backends' jobs run alone
    fused = [(index, config) for index, config in fused if config.trainer.backend == backend]
    use_backend(backend)  # validation builds models
    from ablab.errors import ConfigError, DatasetUnavailable
    from ablab.run.validation import validate
    from ablab.study.packing import plan_packs as plan_study_packs
    from ablab.study.packing import run_request

    candidates: dict[int, RunRequest] = {}  # id(request) -> request
    index_of: dict[int, int] = {}  # id(request) -> job index
    for index, config in fused:
        overrides = job_overrides[index]
        try:
            validate(config, config.hydra.runtime.choices, overrides)
        except (ConfigError, DatasetUnavailable):
            continue  # its own job fails with the error
        request = run_request(config, overrides)
        candidates[id(request)], index_of[id(request)] = request, index
    packs, _ = plan_study_packs(list(candidates.values()), workers=1, max_size=max_pack_size)
    return [[(index_of[id(request)], request) for request in pack] for pack in packs]


def _packable(config: DictConfig) -> bool:
    """An ablab run on the fused engine that trains on its own (not a search trial, not a pack)."""
    engine = OmegaConf.select(config, "trainer.engine", default=None)
    return engine == "fused" and config.get("objective") is None and not config.get("pack")


def pack_job(pack: Pack, sweep_dir: Path, first_index: int, number: int) -> list[str]:
    """The overrides of the one Hydra job that trains ``pack``; its pack file goes in ``sweep_dir``."""
    from ablab.study.packing import pack_overrides

    first_request = pack[0][1]
    path = sweep_dir / "packs" / f"pack-{first_index}-{number}.json"
    return pack_overrides(first_request.overrides, [request for _, request in pack], path)


def run_return(pack_result: JobReturn, request: RunRequest, overrides: Sequence[str]) -> JobReturn:
    """One run's JobReturn out of its pack's: its metrics, or its own error."""
    from ablab.config.run_key import run_key

    result = dataclasses.replace(pack_result, overrides=list(overrides))
    if pack_result.status == JobStatus.COMPLETED:
        outcome = pack_result.return_value.get(run_key(request.config), {"error": "not trained by its pack"})
        if outcome["error"]:
            result.status, result.return_value = JobStatus.FAILED, PackFailed(outcome["error"])
        else:
            result.return_value = outcome["metrics"]
    return result
