"""Groups a study's fused jobs into packs, one Hydra job each, sized to the launcher's workers.

Jobs share a pack when the fused engine can train them side by side (``pack_key``). Packs are
cut so every worker gets a similar share of the work: by the models' step costs when the caller
weighed them (``ablab.run.engines.fused.step_cost``), by model count otherwise; largest first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from omegaconf import DictConfig, OmegaConf

from ablab.config.overrides import quote
from ablab.run.engines.fused.pack_file import write_pack
from ablab.run.engines.fused.support import pack_key
from ablab.run.request import RunRequest
from ablab.study.jobs import Job, bookkeeping_overrides


class Planned(Protocol):
    """What packing needs of a job: its composed config (a study's Job, a sweep's request)."""

    config: DictConfig


def plan_packs(
    jobs: Sequence[Planned],
    workers: int,
    max_size: int | None,
    cost: Callable[[Planned], float] | None = None,
) -> tuple[list[list[Planned]], list[Planned]]:
    """(packs of two or more fused jobs, heaviest first; the jobs that run alone).

    A job weighs ``cost(job)``, or its model count (an ensemble run brings one per member).
    Each group of jobs that can share a pack is dealt into as few packs as give every worker
    about (fused weight / workers) and keep ``max_size`` runs at most: heaviest job first, each
    into the lightest pack, so every pack gets a share of each arm; a pack keeps its jobs in
    plan order.
    """
    weight = cost or _models
    fused = [job for job in jobs if job.config.trainer.engine == "fused"]
    alone = [job for job in jobs if job.config.trainer.engine != "fused"]
    groups: dict[str, list[Planned]] = {}
    for job in fused:
        groups.setdefault(pack_key(job.config), []).append(job)
    share = sum(map(weight, fused)) / max(1, workers) or 1.0
    packs = []
    for group in groups.values():
        count = max(1, round(sum(map(weight, group)) / share))
        if max_size is not None:
            count = max(count, math.ceil(len(group) / max_size))
        dealt: list[list[Planned]] = [[] for _ in range(count)]
        for job in sorted(group, key=weight, reverse=True):
            open_packs = [p for p in dealt if max_size is None or len(p) < max_size]
            min(open_packs, key=lambda p: sum(map(weight, p))).append(job)
        order = {id(job): position for position, job in enumerate(group)}
        packs += [sorted(p, key=lambda job: order[id(job)]) for p in dealt if p]
    packs.sort(key=lambda p: sum(map(weight, p)), reverse=True)
    return [p for p in packs if len(p) > 1], [p[0] for p in packs if len(p) == 1] + alone


def _models(job: Planned) -> int:
    """How many models the job's run trains: one per ensemble member."""
    return int(job.config.ensemble.size)


def run_request(
    config: DictConfig, overrides: Sequence[str], tracking: dict[str, Any] | None = None
) -> RunRequest:
    """A composed sweep config (with its ``hydra`` node) as a pack member; ``tracking`` (a
    study's settings) is merged into its ``tracking`` node and its overrides."""
    container = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in config.items_ex(resolve=False)
        if key != "hydra"  # job-time interpolations; the pack job has its own
    }
    if tracking:
        tags = {**container["tracking"].get("tags", {}), **tracking["tags"]}
        container["tracking"].update(tracking, tags=tags)
        overrides = [*overrides, *bookkeeping_overrides(tracking)]
    choices = OmegaConf.to_container(config.hydra.runtime.choices, resolve=True)
    return RunRequest(
        config=OmegaConf.create(container),
        choices={k: v for k, v in choices.items() if v is not None},
        overrides=list(overrides),
    )


def member(job: Job, tracking: dict[str, Any]) -> RunRequest:
    """The study job as a pack member, with the study's tracking settings."""
    return run_request(job.config, job.overrides, tracking)


def pack_overrides(first_overrides: Sequence[str], members: Sequence[RunRequest], path: Path) -> list[str]:
    """The pack's Hydra job: its first run's overrides plus the pack file it trains."""
    write_pack(path, members)
    return [*first_overrides, f"+pack={quote(str(path.resolve()))}"]
