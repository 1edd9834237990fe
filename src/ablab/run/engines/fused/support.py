"""Which runs can share a fused pack: those that differ only in what each model of the graph
keeps for itself.

Imports no TensorFlow: study planning uses it before any training.
"""

from __future__ import annotations

import hashlib
import json

from omegaconf import DictConfig

from ablab.config.groups import PER_MODEL_GROUPS
from ablab.config.run_key import drop_keys, result_settings

# Settings each model of a pack has its own value of; the rest (data, batch size, epochs, the
# engine) must match.
PER_MODEL_SETTINGS = ("trainer.seed", *PER_MODEL_GROUPS)


def pack_key(cfg: DictConfig) -> str:
    """Equal for runs that can train in one pack: all result settings but the per-model ones."""
    settings = drop_keys(result_settings(cfg), PER_MODEL_SETTINGS)
    canonical = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
