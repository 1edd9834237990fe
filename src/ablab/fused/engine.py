"""The fused engine's fit: the K models of a pack, trained side by side, epoch by epoch.

Models the hand-written MLP covers (``ablab.fused.support.hand_written``) train as one set,
every other model as Keras models in another; each set is one ``tf.function`` call per epoch.
A model whose loss turns NaN/inf is stopped; the others train on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from ablab.datasets import Splits
from ablab.fitting import EpochLog, FitData, Fitted, ModelSpec
from ablab.fused.hand_mlp import HandWrittenMLPs
from ablab.fused.keras_models import KerasModels
from ablab.fused.model_set import ModelSet, Scores
from ablab.fused.support import hand_written


class _Set:
    """One model set, the indices of its models among the specs, and the data as it takes it."""

    def __init__(self, models: ModelSet, indices: list[int], splits: Splits, data: FitData) -> None:
        self.models, self.indices = models, indices

        def tensor(x: np.ndarray | None) -> tf.Tensor | None:
            return None if x is None else tf.constant(models.inputs(x))

        self.fit = tensor(data.x), tf.constant(data.y)
        self.validation = None if data.x_val is None else (tensor(data.x_val), tf.constant(data.y_val))
        self.test = tensor(splits.x_test), tf.constant(splits.y_test)


def _model_sets(specs: Sequence[ModelSpec], splits: Splits, data: FitData) -> list[_Set]:
    by_kind: dict[type[ModelSet], list[int]] = {}
    for index, spec in enumerate(specs):
        kind = HandWrittenMLPs if hand_written(spec.config) else KerasModels
        by_kind.setdefault(kind, []).append(index)
    return [
        _Set(kind([specs[i] for i in indices], splits.input_shape, splits.outputs), indices, splits, data)
        for kind, indices in by_kind.items()
    ]


def fit_models(specs: Sequence[ModelSpec], splits: Splits, on_epoch: EpochLog) -> list[Fitted]:
    """Train the specs' models side by side; they share data, batch size and epochs."""
    first = specs[0].config
    data = FitData.split(splits.x_train, splits.y_train, first.trainer.validation_split)
    sets = _model_sets(specs, splits, data)
    histories: list[dict[str, list[float]]] = [{} for _ in specs]
    diverged_at: list[int | None] = [None] * len(specs)
    started = time.perf_counter()
    for epoch in range(1, first.trainer.epochs + 1):
        for model_set in sets:
            train = model_set.models.train_epoch(*model_set.fit, epoch)
            val = model_set.models.evaluate(*model_set.validation) if model_set.validation else {}
            for position, index in enumerate(model_set.indices):
                if diverged_at[index] is not None:
                    continue
                values = _values(train, position) | _values(val, position, prefix="val_")
                for key, value in values.items():
                    histories[index].setdefault(key, []).append(value)
                on_epoch(index, epoch, values)
                if not math.isfinite(values["loss"]):
                    diverged_at[index] = epoch
                    model_set.models.stop(position)
        if first.trainer.verbose:
            _print_epoch(epoch, first.trainer.epochs, histories, diverged_at)
        if all(at is not None for at in diverged_at):
            break
    seconds_per_model = (time.perf_counter() - started) / len(specs)

    fitted: list[Fitted | None] = [None] * len(specs)
    for model_set in sets:
        test = model_set.models.evaluate(*model_set.test)
        for position, index in enumerate(model_set.indices):
            vote = specs[index].vote and diverged_at[index] is None
            fitted[index] = Fitted(
                history=histories[index],
                test=_values(test, position, prefix="test_"),
                predictions=model_set.models.predict(position, model_set.test[0]) if vote else None,
                param_count=model_set.models.count_params(position),
                train_seconds=seconds_per_model,  # the pack's fit time, shared equally
                diverged_at=diverged_at[index],
            )
    return fitted


def _values(scores: Scores, position: int, prefix: str = "") -> dict[str, float]:
    """One model's scores, named as Keras logs them."""
    return {f"{prefix}{name}": float(values[position]) for name, values in scores.items()}


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
