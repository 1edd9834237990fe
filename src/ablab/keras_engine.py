"""The Keras engine, the reference: each model built by ``model._target_`` and trained by ``fit``."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import keras
from omegaconf import DictConfig

from ablab.datasets import Splits
from ablab.ensemble import Member, describe, member_metrics, member_seeds, run_metrics
from ablab.errors import Diverged
from ablab.models import build_model
from ablab.models.blocks import build_optimizer
from ablab.tags import DIVERGED, MEMBER_SEEDS
from ablab.tasks import task_of
from ablab.tracking import RunRecorder


class _EpochLogger(keras.callbacks.Callback):
    """Sends each epoch's metrics to MLflow (unless ``recorder`` is None) and stops the fit on a
    NaN/inf loss."""

    def __init__(self, recorder: RunRecorder | None) -> None:
        super().__init__()
        self.recorder = recorder
        self.diverged_at: int | None = None

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float] | None = None) -> None:
        logs = dict(logs or {})
        if self.recorder is not None:
            self.recorder.log_epoch(epoch + 1, logs)  # step = epoch number, from 1
        if not math.isfinite(float(logs.get("loss", 0.0))):
            self.diverged_at = epoch + 1  # numbered as the logged steps
            self.model.stop_training = True


def train_keras(
    cfg: DictConfig, splits: Splits, recorder: RunRecorder
) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Fit the run's model (or each ensemble member) and test it; returns (metrics, curves)."""
    seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
    if len(seeds) > 1:
        recorder.set_tags({MEMBER_SEEDS: ",".join(map(str, seeds))})
    members: list[Member] = []
    for index, seed in enumerate(seeds):
        member, member_history = _fit_member(cfg, splits, seed, index, recorder)
        members.append(member)
        if index == 0:
            history = member_history  # member 0's curves are the run's (see _fit_member)
    for step, values in member_metrics(members):
        recorder.log_metrics(values, step=step)
    return run_metrics(members, splits.y_test), history


def _fit_member(
    cfg: DictConfig, splits: Splits, seed: int, index: int, recorder: RunRecorder
) -> tuple[Member, dict[str, list[float]]]:
    """Build, fit and test one model (of ``ensemble.size``) seeded with ``seed``.

    Member 0 logs the model summary and its per-epoch curves as the run's ``loss``,
    ``accuracy``, ``val_loss`` and ``val_accuracy``: with ``trainer.seed`` as its seed it is
    the single model of the same config, so curves stay comparable across arms. The ensemble's
    own scores are the run's final test metrics; the members' are ``member_*`` metrics.
    """
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    model = build_model(cfg, splits.input_shape, splits.outputs)
    task = task_of(cfg)
    model.compile(
        optimizer=build_optimizer(cfg.optimizer),
        loss=task.loss,
        metrics=list(task.metrics),
        steps_per_execution=cfg.trainer.steps_per_execution,
    )
    if index == 0:
        seeds = member_seeds(cfg.trainer.seed, cfg.ensemble.size)
        recorder.log_text(describe(seeds, model.count_params()) + model_summary(model), "model_summary.txt")

    epoch_logger = _EpochLogger(recorder if index == 0 else None)
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
    if epoch_logger.diverged_at is not None:
        recorder.set_tags({DIVERGED: "true"})
        which = f"ensemble member {index} (seed {seed}): " if cfg.ensemble.size > 1 else ""
        raise Diverged(
            f"{which}loss became {history.history['loss'][-1]} at epoch {epoch_logger.diverged_at}; "
            "training stopped (try a smaller optimizer.learning_rate)."
        )

    test = model.evaluate(splits.x_test, splits.y_test, verbose=0, return_dict=True)
    val_accuracy = history.history.get("val_accuracy")  # absent when validation_split is 0
    member = Member(
        seed=seed,
        test={f"test_{name}": float(value) for name, value in test.items()},
        val_accuracy=float(val_accuracy[-1]) if val_accuracy else None,
        train_seconds=train_seconds,
        param_count=model.count_params(),
        # Only a vote needs the probabilities.
        probabilities=model.predict(splits.x_test, verbose=0) if cfg.ensemble.size > 1 else None,
    )
    return member, history.history


def model_summary(model: keras.Model) -> str:
    """Keras' own ``model.summary()`` as text."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)
