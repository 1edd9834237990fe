"""What the fused engine can train, and which runs can share one pack.

A run it cannot train falls back to the Keras engine (the reference) with the reason logged;
runs share a pack when they differ only in what each model of the graph keeps for itself.
"""

from __future__ import annotations

import hashlib
import json

from omegaconf import DictConfig

from ablab.fused.optimizers import SUPPORTED_ARGS
from ablab.run_key import drop_keys, result_settings

# Settings each model of a pack has its own value of; the rest (data, batch size, epochs, the
# engine) must match.
PER_MODEL_SETTINGS = (
    "trainer.seed",
    "initializer",
    "activation",
    "optimizer",
    "model.hidden_units",
    "regularization",
)


# The one model the fused engine trains: the built-in MLP (ablab.fused.models writes it by hand).
FUSED_BUILDER = "ablab.models.mlp.build_mlp"


def fallback_reason(cfg: DictConfig) -> str | None:
    """Why the fused engine cannot train ``cfg`` (one sentence), or None when it can."""
    builder = cfg.model.get("_target_")
    if builder != FUSED_BUILDER:
        return f"model._target_={builder!r} (the fused engine trains the built-in mlp only)"
    task = cfg.dataset.get("task", "classification")
    if task != "classification":
        return f"dataset.task={task!r} (the fused engine trains multi-class classification only)"
    optimizer = cfg.optimizer.name.lower()
    if optimizer not in SUPPORTED_ARGS:
        return f"optimizer {cfg.optimizer.name!r} (the fused engine has {sorted(SUPPORTED_ARGS)})"
    known = sorted(SUPPORTED_ARGS[optimizer])
    extra = sorted(set(cfg.optimizer.args) - set(known))
    if extra:
        return f"optimizer.args {extra} (the fused engine's {optimizer} takes {known})"
    if optimizer == "adam" and cfg.optimizer.args.get("amsgrad", False):
        return "optimizer.args.amsgrad=true"
    if cfg.normalization.name is not None:
        return f"normalization {cfg.normalization.name} (the fused engine has no normalization layers)"
    if cfg.regularization.dropout > 0:
        return f"regularization.dropout={cfg.regularization.dropout} (the fused engine has no dropout)"
    if cfg.ensemble.size > 1:
        return f"ensemble.size={cfg.ensemble.size} (the fused engine trains single models)"
    return None


def fall_back_if_needed(cfg: DictConfig) -> str | None:
    """Switch a fused run the fused engine cannot train to the Keras engine; returns why.

    Callers log the reason: a study once per arm, a single run once.
    """
    if cfg.trainer.engine != "fused":
        return None
    reason = fallback_reason(cfg)
    if reason is not None:
        cfg.trainer.engine = "keras"
    return reason


def pack_key(cfg: DictConfig) -> str:
    """Equal for runs that can train in one pack: all result settings but the per-model ones."""
    settings = drop_keys(result_settings(cfg), PER_MODEL_SETTINGS)
    canonical = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
