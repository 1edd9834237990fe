"""Input scaling, fit on the images ``model.fit`` trains on and applied to every split.

The statistics never see the test images nor the validation tail that ``validation_split``
holds out, so neither leaks into training.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from ablab.datasets import Splits

# Scaled = (x - offset) / scale, per feature; a scaler computes both from the fit rows.
Scaler = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _unit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros(x.shape[1]), np.full(x.shape[1], 255.0)


def _standardize(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and std; a constant feature keeps std 1 (as sklearn's StandardScaler)."""
    x = x.astype(np.float64)
    std = x.std(axis=0)
    return x.mean(axis=0), np.where(std > 0, std, 1.0)


# ``none`` is the seed's raw 0..255 pixels.
SCALERS: dict[str, Scaler | None] = {"none": None, "unit": _unit, "standardize": _standardize}


def fit_rows(n_train: int, validation_split: float) -> int:
    """How many leading training rows ``model.fit`` trains on (Keras holds out the last ones)."""
    return int(math.floor(n_train * (1.0 - validation_split)))


def scale_splits(splits: Splits, name: str, validation_split: float) -> Splits:
    """``splits`` scaled by ``name``, its statistics fit on the rows that are trained on only."""
    scaler = SCALERS[name]
    if scaler is None:
        return splits
    rows = fit_rows(len(splits.x_train), validation_split)
    offset, scale = scaler(splits.x_train[:rows].reshape(rows, -1))  # per feature (pixel, channel)

    def apply(x: np.ndarray) -> np.ndarray:
        return ((x.reshape(len(x), -1) - offset) / scale).astype(np.float32).reshape(x.shape)

    return dataclasses.replace(splits, x_train=apply(splits.x_train), x_test=apply(splits.x_test))
