"""The fused engine's fit: the K models of a pack, trained side by side, epoch by epoch.

One ``tf.function`` call per epoch trains them all (``ablab.run.engines.fused.models``). A model whose
loss turns NaN/inf is stopped; the others train on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import tensorflow as tf

from ablab.datasets import Splits
from ablab.run.engines.contract import EpochLog, FitData, Fitted, ModelSpec
from ablab.run.engines.fused.models import FusedModels, Scores


def fit_models(specs: Sequence[ModelSpec], splits: Splits, on_epoch: EpochLog) -> list[Fitted]:
    """Train the specs' models side by side; they share data, batch size and epochs."""
    first = specs[0].config
    data = FitData.split(splits.x_train, splits.y_train, first.trainer.validation_split)
    fit = tf.constant(data.x), tf.constant(data.y)
    validation = None if data.x_val is None else (tf.constant(data.x_val), tf.constant(data.y_val))
    models = FusedModels(specs, splits.input_shape, splits.outputs)
    histories: list[dict[str, list[float]]] = [{} for _ in specs]
    diverged_at: list[int | None] = [None] * len(specs)
    started = time.perf_counter()
    for epoch in range(1, first.trainer.epochs + 1):
        train = models.train_epoch(*fit)
        val = models.evaluate(*validation)[0] if validation else {}
        for index in models.live:
            values = _values(train, index) | _values(val, index, prefix="val_")
            for key, value in values.items():
                histories[index].setdefault(key, []).append(value)
            on_epoch(index, epoch, values)
            if not math.isfinite(values["loss"]):
                diverged_at[index] = epoch
                models.stop(index)
        if first.trainer.verbose:
            _print_epoch(epoch, first.trainer.epochs, histories, diverged_at)
        if not models.live:
            break
    seconds_per_model = (time.perf_counter() - started) / len(specs)

    test, outputs = models.evaluate(tf.constant(splits.x_test), tf.constant(splits.y_test))
    return [
        Fitted(
            history=histories[index],
            test=_values(test, index, prefix="test_"),
            predictions=outputs[index] if spec.vote else None,
            param_count=models.count_params(index),
            train_seconds=seconds_per_model,  # the pack's fit time, shared equally
            diverged_at=diverged_at[index],
        )
        for index, spec in enumerate(specs)
    ]


def _values(scores: Scores, index: int, prefix: str = "") -> dict[str, float]:
    """One model's scores, named as Keras logs them."""
    return {f"{prefix}{name}": float(values[index]) for name, values in scores.items()}


def _print_epoch(
    epoch: int, epochs: int, histories: list[dict[str, list[float]]], diverged_at: list[int | None]
) -> None:
    """A one-line progress report for the pack (Keras prints one per model)."""
    live = [h for h, at in zip(histories, diverged_at, strict=True) if at is None]
    if not live:
        print(f"Epoch {epoch}/{epochs} - every model of the pack diverged", flush=True)
        return
    loss = [h["loss"][-1] for h in live]
    text = f"Epoch {epoch}/{epochs} - {len(live)} models - loss {min(loss):.4f}..{max(loss):.4f}"
    if "val_loss" in live[0]:
        val_loss = [h["val_loss"][-1] for h in live]
        text += f" - val_loss {min(val_loss):.4f}..{max(val_loss):.4f}"
    print(text, flush=True)
