"""K models trained side by side in one TensorFlow graph: one ``tf.function`` call per epoch.

Keras ``fit`` pays Python and executor overhead on every step of every model; here one
``tf.while_loop`` runs an epoch's steps for all K models, whose ops are independent, so
TensorFlow's inter-op threads run them in parallel. Each model keeps its own variables,
optimizer and random streams, keyed by its own seed only, and its own epoch order,
``numpy.random.default_rng((seed, epoch))``. Nothing crosses between models, so a model's
result does not depend on which others share its pack.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

# Scores of one pass, named as Keras logs them (loss, accuracy, mse, ...): arrays over the K
# models of the set, NaN for a stopped one.
Scores = dict[str, np.ndarray]


def epoch_order(seed: int, epoch: int, n_rows: int) -> np.ndarray:
    """The order one model sees the training rows in, in one epoch."""
    return np.random.default_rng((seed, epoch)).permutation(n_rows).astype(np.int32)


class ModelSet:
    """What every set of fused models shares: seeds, batch size, which models are still live.

    A subclass writes the graph: ``_train_epoch(x, y, orders, live)`` and ``_evaluate(x, y, live)``,
    each returning ``{metric: tensor of shape (len(live),)}``.
    """

    def __init__(self, seeds: Sequence[int], batch_size: int) -> None:
        self.seeds = list(seeds)
        self.batch_size = int(batch_size)
        self.live: tuple[int, ...] = tuple(range(len(self.seeds)))

    def stop(self, index: int) -> None:
        """Take model ``index`` out (it diverged): from the next epoch it is not even computed."""
        self.live = tuple(i for i in self.live if i != index)

    def inputs(self, x: np.ndarray) -> np.ndarray:
        """The rows as the set's models take them."""
        return x

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor, epoch: int) -> Scores:
        """One epoch over ``x``/``y`` for every live model, each in its own row order.

        Keras' epoch metrics: per-batch values, weighted by batch size.
        """
        if not self.live:
            return {}
        orders = np.stack([epoch_order(self.seeds[i], epoch, int(x.shape[0])) for i in self.live])
        return self._scatter(self._train_epoch(x, y, tf.constant(orders), self.live))

    def evaluate(self, x: tf.Tensor, y: tf.Tensor) -> Scores:
        """Every live model's loss and metrics on one shared set, in one call."""
        if not self.live:
            return {}
        return self._scatter(self._evaluate(x, y, self.live))

    def _scatter(self, values: dict[str, tf.Tensor]) -> Scores:
        """Live models' values into arrays over all K models (NaN for stopped ones)."""
        scores = {}
        for name, value in values.items():
            scores[name] = np.full(len(self.seeds), np.nan)
            scores[name][list(self.live)] = value.numpy()
        return scores
