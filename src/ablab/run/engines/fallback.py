"""Which engine trains a run: ``trainer.engine``, unless the fused engine cannot train its model
or the backend has no fused engine (``FUSED_ENGINE`` of ``ablab.run.backends.<name>``); then the
Keras engine, said in one log line. Backend-free: no fused engine is imported to decide."""

from __future__ import annotations

import logging

import keras

log = logging.getLogger(__name__)

# Methods a model class may override to change how fit trains it; the fused engine calls the
# model, its loss and its optimizer itself, so it would skip them.
TRAINING_OVERRIDES = ("train_step", "compute_loss", "test_step")


def fallback_reason(model: keras.Model) -> str | None:
    """Why the fused engine cannot train this built model as ``fit`` would (one sentence), or None."""
    overridden = [m for m in TRAINING_OVERRIDES if getattr(type(model), m) is not getattr(keras.Model, m)]
    if overridden:
        return (
            f"a model whose class {type(model).__name__} overrides {', '.join(overridden)} (the fused engine "
            "trains with the model's call, the task's loss and the optimizer only)"
        )
    return None


def engine_for(engine: str, backend: str, fused_engine: str | None, fallback: str | None) -> str:
    """The engine (``trainer.engine``: keras or fused, as tagged) that trains a run asking for
    ``engine`` on ``backend``, whose fused engine module is ``fused_engine`` (None: none);
    ``fallback`` is why its model cannot be fused (``fallback_reason``), None when it can."""
    if engine != "fused":
        return engine
    if fused_engine is None:
        log.warning(
            "trainer.engine=fused has no fused engine on trainer.backend=%s: this run trains on the "
            "Keras engine.",
            backend,
        )
        return "keras"
    if fallback:
        log.warning("trainer.engine=fused cannot train %s: this run trains on the Keras engine.", fallback)
        return "keras"
    return "fused"
