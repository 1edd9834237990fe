"""The Keras engine, the reference: each model built by ``model._target_`` and trained by ``fit``,
one after another."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence

import keras

from ablab.config.tasks import task_of
from ablab.datasets import Splits
from ablab.models import build_model, objective
from ablab.models.blocks import build_optimizer
from ablab.run.backends import active_backend
from ablab.run.engines.contract import EpochLog, Fitted, ModelSpec


class _EpochLogger(keras.callbacks.Callback):
    """Hands each epoch's metrics on and stops the fit on a NaN/inf loss."""

    def __init__(self, index: int, on_epoch: EpochLog) -> None:
        super().__init__()
        self.index, self.on_epoch = index, on_epoch
        self.diverged_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = {name: float(value) for name, value in (logs or {}).items()}
        self.on_epoch(self.index, epoch + 1, logs)  # epochs numbered from 1
        if not math.isfinite(logs.get("loss", 0.0)):
            self.diverged_at = epoch + 1
            self.model.stop_training = True


def fit_models(specs: Sequence[ModelSpec], splits: Splits, on_epoch: EpochLog) -> list[Fitted]:
    """Build, fit and test each spec's model in turn."""
    return [_fit(index, spec, splits, on_epoch) for index, spec in enumerate(specs)]


def _fit(index: int, spec: ModelSpec, splits: Splits, on_epoch: EpochLog) -> Fitted:
    cfg = spec.config
    keras.backend.clear_session()
    keras.utils.set_random_seed(spec.seed)
    model = build_model(cfg, splits.input_shape, splits.outputs)
    task = task_of(cfg)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer),
        loss=objective.loss(task),
        metrics=objective.metrics(task),
        steps_per_execution=_steps_per_execution(cfg.trainer.steps_per_execution),
    )
    epoch_logger = _EpochLogger(index, on_epoch)
    started = time.perf_counter()
    history = model.fit(
        splits.x_train,
        splits.y_train,
        validation_split=cfg.trainer.validation_split,
        epochs=cfg.trainer.epochs,
        batch_size=cfg.trainer.batch_size,
        verbose=cfg.trainer.verbose,
        callbacks=[epoch_logger],
    )
    train_seconds = time.perf_counter() - started
    diverged = epoch_logger.diverged_at is not None
    test = {} if diverged else model.evaluate(splits.x_test, splits.y_test, verbose=0, return_dict=True)
    return Fitted(
        history={name: [float(v) for v in values] for name, values in history.history.items()},
        test={f"test_{name}": float(value) for name, value in test.items()},
        predictions=model.predict(splits.x_test, verbose=0) if spec.vote and not diverged else None,
        param_count=model.count_params(),
        train_seconds=train_seconds,
        diverged_at=epoch_logger.diverged_at,
    )


def _steps_per_execution(requested: int) -> int:
    """``trainer.steps_per_execution``, within what the backend allows (speed only, same numbers)."""
    limit = active_backend().MAX_STEPS_PER_EXECUTION
    return requested if limit is None else min(requested, limit)


def model_summary(model: keras.Model) -> str:
    """Keras' own ``model.summary()`` as text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)
