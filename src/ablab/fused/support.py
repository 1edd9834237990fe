"""What the fused engine trains, and how: which runs share a pack, which models take the
hand-written MLP, and which built models fall back to the Keras engine.

Imports no TensorFlow: study planning uses it before any training.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from omegaconf import DictConfig

from ablab.run_key import drop_keys, result_settings

# Settings each model of a pack has its own value of; the rest (data, batch size, epochs, the
# engine) must match.
PER_MODEL_SETTINGS = (
    "trainer.seed",
    "model",
    "initializer",
    "activation",
    "normalization",
    "regularization",
    "optimizer",
    "ensemble",
)

# The hand-written MLP's optimizers, each with the arguments it understands (Keras' defaults).
HAND_WRITTEN_OPTIMIZERS = {
    "sgd": {"momentum": 0.0, "nesterov": False},
    "adam": {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": False},
}

# Methods a model class may override to change how fit trains it; the fused engine calls the
# model, its loss and its optimizer itself, so it would skip them.
TRAINING_OVERRIDES = ("train_step", "compute_loss", "test_step")


def hand_written(cfg: DictConfig) -> bool:
    """Can the hand-written MLP (``ablab.fused.hand_mlp``) train ``cfg``'s model? The built-in
    mlp on a classification task, plain Dense layers, SGD or Adam as Keras defines them."""
    optimizer = cfg.optimizer.name.lower()
    args = cfg.optimizer.args
    return (
        cfg.model.get("_target_") == "ablab.models.mlp.build_mlp"
        and cfg.dataset.get("task", "classification") == "classification"
        and cfg.normalization.name is None
        and cfg.regularization.dropout == 0
        and optimizer in HAND_WRITTEN_OPTIMIZERS
        and set(args) <= set(HAND_WRITTEN_OPTIMIZERS[optimizer])
        and not args.get("amsgrad", False)
    )


def fallback_reason(model: Any) -> str | None:
    """Why the fused engine cannot train this built model as ``fit`` would (one sentence), or None."""
    import keras

    overridden = [m for m in TRAINING_OVERRIDES if getattr(type(model), m) is not getattr(keras.Model, m)]
    if overridden:
        return (
            f"a model whose class {type(model).__name__} overrides {', '.join(overridden)} (the fused engine "
            "trains with the model's call, the task's loss and the optimizer only)"
        )
    return None


def pack_key(cfg: DictConfig) -> str:
    """Equal for runs that can train in one pack: all result settings but the per-model ones."""
    settings = drop_keys(result_settings(cfg), PER_MODEL_SETTINGS)
    canonical = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
