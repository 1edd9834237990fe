"""A pack as a JSON file: how the study sweeper hands several composed runs to one Hydra job.

The sweeper composes and checks every run itself; the job it launches (``pack=<file>``) reads
the runs back instead of composing them again, so the configs it trains are the ones planned.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import OmegaConf

from ablab.run.request import RunRequest


def write_pack(path: Path, members: Sequence[RunRequest]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    records = [
        {
            "config": OmegaConf.to_container(m.config, resolve=True),
            "choices": dict(m.choices),
            "overrides": list(m.overrides),
        }
        for m in members
    ]
    path.write_text(json.dumps(records, indent=1))
    return path


def read_pack(path: str | Path) -> list[RunRequest]:
    records = json.loads(Path(path).read_text())
    return [
        RunRequest(config=OmegaConf.create(r["config"]), choices=r["choices"], overrides=r["overrides"])
        for r in records
    ]
