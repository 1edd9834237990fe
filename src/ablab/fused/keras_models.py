"""Any Keras models, each built by the run's configured builder, trained as one fused set.

Each model is built after ``keras.utils.set_random_seed(seed)``, as the Keras engine builds
it, so its initial weights and its dropout layers' random streams are the ones ``fit`` would
start from. A step calls the model with ``training=True`` (batch normalization updates its
own moving statistics, dropout draws from its own stream), takes the task's Keras loss plus
the model's regularization losses, and applies the model's own Keras optimizer.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from ablab.fitting import ModelSpec
from ablab.fused.model_set import ModelSet
from ablab.models import build_model
from ablab.models.blocks import build_optimizer
from ablab.tasks import task_of

# Rows per forward pass when evaluating: bounds the activations a large test set needs at once.
EVALUATION_ROWS = 2048


class KerasModels(ModelSet):
    """The pack's Keras models with their own optimizers; they share data, task, batch size."""

    def __init__(self, specs: Sequence[ModelSpec], input_shape: tuple[int, ...], outputs: int) -> None:
        super().__init__([s.seed for s in specs], specs[0].config.trainer.batch_size)
        self.models: list[keras.Model] = []
        self.optimizers: list[keras.optimizers.Optimizer] = []
        for spec in specs:
            keras.utils.set_random_seed(spec.seed)
            model = build_model(spec.config, input_shape, outputs)
            optimizer = build_optimizer(spec.config.optimizer)
            optimizer.build(model.trainable_variables)  # its slots exist before the graph is traced
            self.models.append(model)
            self.optimizers.append(optimizer)
        task = task_of(specs[0].config)
        self.sample_loss = keras.losses.get(task.loss)
        self.sample_metrics = {
            name: getattr(keras.metrics, function)
            for name, function in zip(task.metrics, task.sample_metrics, strict=True)
        }

    def count_params(self, index: int) -> int:
        return self.models[index].count_params()

    def predict(self, index: int, x: np.ndarray) -> np.ndarray:
        return self.models[index].predict(x, batch_size=EVALUATION_ROWS, verbose=0)

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
                batch = tf.cast(tf.shape(rows)[0], tf.float32)
                with tf.GradientTape() as tape:
                    predicted = model(x_batch, training=True)
                    loss = tf.reduce_mean(self.sample_loss(y_batch, predicted)) + self._regularization(model)
                optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
                per_model["loss"].append(loss * batch)
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
