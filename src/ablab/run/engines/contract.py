"""What an engine is given and what it gives back: K models to fit on one dataset, each one's result.

The run pipeline (``ablab.run.pipeline``) opens, logs and closes the runs; an engine only fits
K >= 1 models (``ablab.run.engines.keras`` one after another, ``ablab.run.engines.fused`` side by side) and
returns each model's curves and test scores.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from ablab.datasets.scaling import fit_rows


@dataclass(frozen=True)
class ModelSpec:
    """One model to fit: its run's composed config and its own seed (``trainer.seed``, or an
    ensemble member's); ``vote`` asks for its test-set predictions (an ensemble member)."""

    config: DictConfig
    seed: int
    vote: bool = False


@dataclass(frozen=True)
class Fitted:
    """One fitted model: its per-epoch curves named as Keras logs them, its test scores
    (``test_loss``, ``test_<metric>``), and the epoch its loss turned NaN/inf (None if never)."""

    history: dict[str, list[float]]
    test: dict[str, float]
    predictions: np.ndarray | None
    param_count: int
    train_seconds: float
    diverged_at: int | None


# Called after each epoch of each model: (model index in the specs, epoch from 1, its metrics).
EpochLog = Callable[[int, int, Mapping[str, float]], None]


@dataclass(frozen=True)
class FitData:
    """The rows a fit trains on and the held-out tail ``validation_split`` leaves (as Keras)."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray | None
    y_val: np.ndarray | None

    @classmethod
    def split(cls, x: np.ndarray, y: np.ndarray, validation_split: float) -> FitData:
        rows = fit_rows(len(x), validation_split)
        if rows == len(x):
            return cls(x, y, None, None)
        return cls(x[:rows], y[:rows], x[rows:], y[rows:])
