"""A stable identity for a run: the hash of every setting that can change its result.

The study sweeper uses it to skip runs already FINISHED; training tags each run with it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Settings that change where or how verbosely a run is recorded, never what it computes.
NOT_PART_OF_RESULT = (
    "hydra",
    "tracking",
    "study",
    "objective",
    "trainer.verbose",
    "trainer.threads",
    "trainer.steps_per_execution",
    "pack",
)


def drop_keys(container: dict[str, Any], dotted_keys: tuple[str, ...]) -> dict[str, Any]:
    """``container`` (nested dicts) without the given dotted keys; changed in place."""
    for dotted in dotted_keys:
        *parents, leaf = dotted.split(".")
        node = container
        for parent in parents:
            node = node.get(parent, {})
        node.pop(leaf, None)
    return container


def result_settings(cfg: DictConfig) -> dict[str, Any]:
    """The resolved config without the bookkeeping keys of NOT_PART_OF_RESULT."""
    top_level = {d for d in NOT_PART_OF_RESULT if "." not in d}
    # Resolve key by key: a composed sweep config's hydra node holds job-time interpolations.
    container = {
        key: OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value
        for key, value in cfg.items_ex(resolve=False)
        if key not in top_level
    }
    return drop_keys(container, NOT_PART_OF_RESULT)


def run_key(cfg: DictConfig) -> str:
    canonical = json.dumps(result_settings(cfg), sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
