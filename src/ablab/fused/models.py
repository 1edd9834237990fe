"""K Keras models, each built by the run's configured builder, trained side by side in one graph.

Keras ``fit`` pays Python and executor overhead on every step of every model; here one
``tf.function`` call runs an epoch's steps for all K models, whose ops are independent, so
TensorFlow's inter-op threads run them in parallel.

Each model is built after ``keras.utils.set_random_seed(seed)``, as the Keras engine builds it,
so its initial weights and its dropout layers' random streams are the ones ``fit`` would start
from. A step calls the model with ``training=True`` (batch normalization updates its own
moving statistics, dropout draws from its own stream), takes the task's Keras loss plus the
model's regularization losses, and applies the model's own Keras optimizer (plain SGD and Adam
as TensorFlow's fused kernels, ``ablab.fused.optimizer_kernels``). Its row order comes from
its seed (``row_order``). Nothing crosses between models, so a model's result does not depend
on which others share its pack.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from ablab.fitting import ModelSpec
from ablab.fused.optimizer_kernels import kernel_optimizer
from ablab.models import build_model
from ablab.models.blocks import build_optimizer
from ablab.tasks import task_of

# Rows per forward pass when evaluating: bounds the activations a large test set needs at once.
EVALUATION_ROWS = 2048

# Methods a model class may override to change how fit trains it; the fused engine calls the
# model, its loss and its optimizer itself, so it would skip them.
TRAINING_OVERRIDES = ("train_step", "compute_loss", "test_step")


def fallback_reason(model: keras.Model) -> str | None:
    """Why the fused engine cannot train this built model as ``fit`` would (one sentence), or None."""
    overridden = [m for m in TRAINING_OVERRIDES if getattr(type(model), m) is not getattr(keras.Model, m)]
    if overridden:
        return (
            f"a model whose class {type(model).__name__} overrides {', '.join(overridden)} (the fused engine "
            "trains with the model's call, the task's loss and the optimizer only)"
        )
    return None


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


class FusedModels:
    """The pack's models with their own optimizers; they share data, task, batch size, epochs."""

    def __init__(self, specs: Sequence[ModelSpec], input_shape: tuple[int, ...], outputs: int) -> None:
        self.seeds = [s.seed for s in specs]
        self.batch_size = int(specs[0].config.trainer.batch_size)
        self.live: tuple[int, ...] = tuple(range(len(specs)))
        self.models: list[keras.Model] = []
        self.optimizers: list = []  # each applies gradients: apply(gradients, variables)
        for spec in specs:
            keras.utils.set_random_seed(spec.seed)
            model = build_model(spec.config, input_shape, outputs)
            optimizer = build_optimizer(spec.config.optimizer)
            kernels = kernel_optimizer(optimizer, model.trainable_variables)
            if kernels is None:
                optimizer.build(model.trainable_variables)  # its slots exist before the graph is traced
            self.models.append(model)
            self.optimizers.append(kernels or optimizer)
        task = task_of(specs[0].config)
        self.sample_loss = keras.losses.get(task.loss)
        self.sample_metrics = {
            name: getattr(keras.metrics, function)
            for name, function in zip(task.metrics, task.sample_metrics, strict=True)
        }

    def stop(self, index: int) -> None:
        """Take model ``index`` out (it diverged): from the next epoch it is not even computed."""
        self.live = tuple(i for i in self.live if i != index)

    def count_params(self, index: int) -> int:
        return self.models[index].count_params()

    def predict(self, index: int, x: tf.Tensor) -> np.ndarray:
        return self.models[index].predict(x, batch_size=EVALUATION_ROWS, verbose=0)

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor) -> Scores:
        """One epoch over ``x``/``y`` for every live model, each in its own row order.

        Keras' epoch metrics: per-batch values, weighted by batch size.
        """
        if not self.live:
            return {}
        orders = np.stack([row_order(self.seeds[i], int(x.shape[0])) for i in self.live])
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
            scores[name] = np.full(len(self.models), np.nan)
            scores[name][list(self.live)] = value.numpy()
        return scores

    def _regularization(self, model: keras.Model) -> tf.Tensor:
        return tf.add_n(model.losses) if model.losses else tf.constant(0.0)

    def _metric_sums(self, y: tf.Tensor, predicted: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each metric's per-sample values, summed over the batch."""
        return {
            name: tf.reduce_sum(tf.cast(function(y, predicted), tf.float32))
            for name, function in self.sample_metrics.items()
        }

    @tf.function(reduce_retracing=True)
    def _train_epoch(
        self, x: tf.Tensor, y: tf.Tensor, orders: tf.Tensor, live: tuple[int, ...]
    ) -> dict[str, tf.Tensor]:
        n_rows = tf.shape(orders)[1]
        steps = (n_rows + self.batch_size - 1) // self.batch_size
        totals = {name: tf.zeros(len(live)) for name in ("loss", *self.sample_metrics)}
        for step in tf.range(steps):
            per_model: dict[str, list[tf.Tensor]] = {name: [] for name in totals}
            for position, index in enumerate(live):
                model, optimizer = self.models[index], self.optimizers[index]
                rows = orders[position, step * self.batch_size : (step + 1) * self.batch_size]
                x_batch, y_batch = tf.gather(x, rows), tf.gather(y, rows)
                with tf.GradientTape() as tape:
                    predicted = model(x_batch, training=True)
                    loss = tf.reduce_mean(self.sample_loss(y_batch, predicted)) + self._regularization(model)
                optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
                per_model["loss"].append(loss * tf.cast(tf.shape(rows)[0], tf.float32))
                for name, value in self._metric_sums(y_batch, predicted).items():
                    per_model[name].append(value)
            totals = {name: totals[name] + tf.stack(per_model[name]) for name in totals}
        n = tf.cast(n_rows, tf.float32)
        return {name: total / n for name, total in totals.items()}

    @tf.function(reduce_retracing=True)
    def _evaluate(self, x: tf.Tensor, y: tf.Tensor, live: tuple[int, ...]) -> dict[str, tf.Tensor]:
        n_rows = tf.shape(x)[0]
        totals = {name: tf.zeros(len(live)) for name in ("loss", *self.sample_metrics)}
        for start in tf.range(0, n_rows, EVALUATION_ROWS):
            per_model: dict[str, list[tf.Tensor]] = {name: [] for name in totals}
            x_part, y_part = x[start : start + EVALUATION_ROWS], y[start : start + EVALUATION_ROWS]
            for index in live:
                predicted = self.models[index](x_part, training=False)
                per_model["loss"].append(tf.reduce_sum(self.sample_loss(y_part, predicted)))
                for name, value in self._metric_sums(y_part, predicted).items():
                    per_model[name].append(value)
            totals = {name: totals[name] + tf.stack(per_model[name]) for name in totals}
        n = tf.cast(n_rows, tf.float32)
        means = {name: total / n for name, total in totals.items()}
        # Keras' evaluate() loss includes the regularization penalty, as fit's does.
        means["loss"] += tf.stack([self._regularization(self.models[index]) for index in live])
        return means
