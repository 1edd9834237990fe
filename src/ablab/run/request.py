"""One run to train: its composed config and what Hydra composed it from.

A single run, or one of a fused pack's runs (``ablab.run.engines.fused.pack_file``); imports no TensorFlow,
so study planning can build them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import DictConfig


@dataclass(frozen=True)
class RunRequest:
    config: DictConfig
    choices: dict[str, str] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
