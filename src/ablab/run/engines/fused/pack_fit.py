"""A fused engine's fit, whichever backend trains the models: the K models of a pack, side by
side, epoch by epoch. A model whose loss turns NaN/inf is stopped; the others train on.

Imports no backend: each engine hands in its models (``PackModels``) and how it wants the rows.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np

from ablab.datasets import Splits
from ablab.run.engines.contract import EpochLog, FitData, Fitted, ModelSpec
from ablab.run.engines.fused.fit_rules import Scores


class PackModels(Protocol):
    """The pack's models as one engine trains them (``ablab.run.engines.fused.models``,
    ``ablab.run.engines.fused_jax.models``)."""

    live: tuple[int, ...]  # the models not stopped, by index in the specs

    def train_epoch(self, x: Any, y: Any) -> Scores: ...

    def evaluate(self, x: Any, y: Any) -> tuple[Scores, list[np.ndarray | None]]: ...

    def stop(self, index: int) -> None: ...

    def count_params(self, index: int) -> int: ...


def fit_pack(
    build: Callable[[], PackModels],
    specs: Sequence[ModelSpec],
    splits: Splits,
    on_epoch: EpochLog,
    tensor: Callable[[np.ndarray], Any],
) -> list[Fitted]:
    """Train the models ``build`` makes for ``specs`` (they share data, batch size and epochs);
    ``tensor`` puts a set's rows where the engine reads them, once."""
    first = specs[0].config
    data = FitData.split(splits.x_train, splits.y_train, first.trainer.validation_split)
    fit = tensor(data.x), tensor(data.y)
    validation = None if data.x_val is None else (tensor(data.x_val), tensor(data.y_val))
    models = build()
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

    test, outputs = models.evaluate(tensor(splits.x_test), tensor(splits.y_test))
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
