"""What every fused engine does as Keras' ``fit`` does, whichever backend runs it: each model's
row order, the models it cannot train, how much of a set one evaluation pass takes.

Imports no backend: the pipeline decides fallbacks with it before any engine is imported.
"""

from __future__ import annotations

import keras
import numpy as np

# Rows per forward pass when evaluating: bounds the activations a large test set needs at once.
EVALUATION_ROWS = 2048

# Methods a model class may override to change how fit trains it; the fused engine calls the
# model, its loss and its optimizer itself, so it would skip them.
TRAINING_OVERRIDES = ("train_step", "compute_loss", "test_step")

# Scores of one pass, named as Keras logs them (loss, accuracy, mse, ...): arrays over the K
# models, NaN for a stopped one.
Scores = dict[str, np.ndarray]


def fallback_reason(model: keras.Model) -> str | None:
    """Why the fused engine cannot train this built model as ``fit`` would (one sentence), or None."""
    overridden = [m for m in TRAINING_OVERRIDES if getattr(type(model), m) is not getattr(keras.Model, m)]
    if overridden:
        return (
            f"a model whose class {type(model).__name__} overrides {', '.join(overridden)} (the fused engine "
            "trains with the model's call, the task's loss and the optimizer only)"
        )
    return None


def row_order(seed: int, n_rows: int) -> np.ndarray:
    """The order one model sees the training rows in, every epoch.

    One shuffle, repeated: Keras 3's ``fit`` under ``keras.utils.set_random_seed`` visits the
    rows in the same shuffled order each epoch (its tf.data shuffle restarts from the same
    seed), so the engines agree only when the fused engine does the same.
    """
    return np.random.default_rng(seed).permutation(n_rows).astype(np.int32)
