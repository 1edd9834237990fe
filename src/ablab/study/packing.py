"""Groups a study's fused jobs into packs, one Hydra job each, sized to the launcher's workers.

Jobs share a pack when the fused engine can train them side by side (``pack_key``). Packs are
cut to about (fused jobs / workers) models so every worker gets a similar share, largest first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from ablab.fused.pack_file import write_pack
from ablab.fused.support import pack_key
from ablab.run_request import RunRequest
from ablab.study.jobs import Job, bookkeeping_overrides, quote


def plan_packs(jobs: Sequence[Job], workers: int, max_size: int | None) -> tuple[list[list[Job]], list[Job]]:
    """(packs of two or more fused jobs, largest first; the jobs that run alone)."""
    fused = [job for job in jobs if job.config.trainer.engine == "fused"]
    alone = [job for job in jobs if job.config.trainer.engine != "fused"]
    groups: dict[str, list[Job]] = {}
    for job in fused:
        groups.setdefault(pack_key(job.config), []).append(job)
    size = max(1, math.ceil(len(fused) / max(1, workers)))
    if max_size is not None:
        size = min(size, max_size)
    packs = [group[i : i + size] for group in groups.values() for i in range(0, len(group), size)]
    packs.sort(key=len, reverse=True)
    return [p for p in packs if len(p) > 1], [p[0] for p in packs if len(p) == 1] + alone


def member(job: Job, tracking: dict[str, Any]) -> RunRequest:
    """The job as a pack member: its composed config with the study's tracking settings."""
    container = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in job.config.items_ex(resolve=False)
        if key != "hydra"  # job-time interpolations; the pack job has its own
    }
    tags = {**container["tracking"].get("tags", {}), **tracking["tags"]}
    container["tracking"].update(tracking, tags=tags)
    choices = OmegaConf.to_container(job.config.hydra.runtime.choices, resolve=True)
    return RunRequest(
        config=OmegaConf.create(container),
        choices={k: v for k, v in choices.items() if v is not None},
        overrides=[*job.overrides, *bookkeeping_overrides(tracking)],
    )


def pack_overrides(pack: Sequence[Job], members: Sequence[RunRequest], path: Path) -> list[str]:
    """The pack's Hydra job: its first run's overrides plus the pack file it trains."""
    write_pack(path, members)
    return [*pack[0].overrides, f"+pack={quote(str(path.resolve()))}"]
