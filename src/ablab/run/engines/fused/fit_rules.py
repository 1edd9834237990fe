"""What every fused engine does as Keras' ``fit`` does, whichever backend runs it: each model's
row order and how much of a set one evaluation pass takes (the models it cannot train:
``ablab.run.engines.fallback``). Imports no backend."""

from __future__ import annotations

import numpy as np

# Rows per forward pass when evaluating: bounds the activations a large test set needs at once.
EVALUATION_ROWS = 2048

# Scores of one pass, named as Keras logs them (loss, accuracy, mse, ...): arrays over the K
# models, NaN for a stopped one.
Scores = dict[str, np.ndarray]


def row_order(seed: int, n_rows: int) -> np.ndarray:
    """The order one model sees the training rows in, every epoch.

    One shuffle, repeated: Keras 3's ``fit`` under ``keras.utils.set_random_seed`` visits the
    rows in the same shuffled order each epoch (its tf.data shuffle restarts from the same
    seed), so the engines agree only when the fused engine does the same.
    """
    return np.random.default_rng(seed).permutation(n_rows).astype(np.int32)
