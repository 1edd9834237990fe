"""K MLPs trained side by side in one TensorFlow graph: one ``tf.function`` call per epoch.

Keras ``fit`` pays Python and executor overhead on every step of every model; here one
``tf.while_loop`` runs an epoch's steps for all K models, whose ops are independent so
TensorFlow's inter-op threads run them in parallel. Each model keeps its own variables,
optimizer and random streams, keyed by its own seed only: its initial weights are drawn as
the Keras engine draws them (``keras.utils.set_random_seed(seed)``, then each Dense kernel in
order) and its epoch order comes from ``numpy.random.default_rng((seed, epoch))``. Nothing
crosses between models, so a model's result does not depend on which others share its pack.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from ablab.fused.optimizers import build_optimizer
from ablab.models.blocks import activation_function, initializer


@dataclass(frozen=True)
class Scores:
    """Per-model scores of one pass: arrays of shape (K,); NaN for a stopped model."""

    loss: np.ndarray
    accuracy: np.ndarray


def initial_kernels(cfg: DictConfig, input_dim: int, outputs: int) -> list[np.ndarray]:
    """One model's kernels, drawn in the order and from the seed the Keras engine uses."""
    keras.utils.set_random_seed(cfg.trainer.seed)
    widths = [input_dim, *cfg.model.hidden_units, outputs]
    return [
        keras.ops.convert_to_numpy(initializer(cfg.initializer)((fan_in, fan_out)))
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True)
    ]


def epoch_order(seed: int, epoch: int, n_rows: int) -> np.ndarray:
    """The order one model sees the training rows in, in one epoch."""
    return np.random.default_rng((seed, epoch)).permutation(n_rows).astype(np.int32)


class _MLP:
    """One model: Dense -> activation per hidden layer, Dense -> softmax; and its optimizer."""

    def __init__(self, cfg: DictConfig, input_dim: int, outputs: int) -> None:
        self.seed = int(cfg.trainer.seed)
        self.kernels = [tf.Variable(k) for k in initial_kernels(cfg, input_dim, outputs)]
        self.biases = [tf.Variable(tf.zeros(k.shape[-1])) for k in self.kernels]
        self.variables = [v for pair in zip(self.kernels, self.biases, strict=True) for v in pair]
        self.activation = activation_function(cfg.activation)
        self.l2 = float(cfg.regularization.l2)
        self.optimizer = build_optimizer(cfg.optimizer, self.variables)

    def logits(self, x: tf.Tensor) -> tf.Tensor:
        h = x
        for index, (kernel, bias) in enumerate(zip(self.kernels, self.biases, strict=True)):
            h = tf.matmul(h, kernel) + bias
            if index < len(self.kernels) - 1:
                h = self.activation(h)
        return h

    def loss(self, logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        """Mean categorical cross-entropy plus the L2 penalty, as Keras reports its loss."""
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, logits))
        if self.l2 > 0:
            loss += self.l2 * tf.add_n([tf.reduce_sum(tf.square(k)) for k in self.kernels])
        return loss


def _correct(logits: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.cast(tf.equal(tf.argmax(logits, axis=-1), tf.argmax(y, axis=-1)), tf.float32))


class FusedMLPs:
    """The pack's models; they share the data, batch size and epochs, nothing else."""

    def __init__(self, configs: Sequence[DictConfig], input_dim: int, outputs: int) -> None:
        self.models = [_MLP(cfg, input_dim, outputs) for cfg in configs]
        self.batch_size = int(configs[0].trainer.batch_size)
        self.live: tuple[int, ...] = tuple(range(len(self.models)))

    def count_params(self, index: int) -> int:
        return sum(int(np.prod(v.shape)) for v in self.models[index].variables)

    def stop(self, index: int) -> None:
        """Take model ``index`` out (it diverged): from the next epoch it is not even computed."""
        self.live = tuple(i for i in self.live if i != index)

    @tf.function(reduce_retracing=True)
    def _train_epoch(
        self, x: tf.Tensor, y: tf.Tensor, orders: tf.Tensor, live: tuple[int, ...]
    ) -> tuple[tf.Tensor, tf.Tensor]:
        n_rows = tf.shape(orders)[1]
        steps = (n_rows + self.batch_size - 1) // self.batch_size
        loss_sum = tf.zeros(len(live))
        correct = tf.zeros(len(live))
        for step in tf.range(steps):
            losses, hits = [], []
            for position, index in enumerate(live):
                model = self.models[index]
                rows = orders[position, step * self.batch_size : (step + 1) * self.batch_size]
                x_batch, y_batch = tf.gather(x, rows), tf.gather(y, rows)
                with tf.GradientTape() as tape:
                    logits = model.logits(x_batch)
                    loss = model.loss(logits, y_batch)
                model.optimizer.apply(tape.gradient(loss, model.variables), model.variables)
                losses.append(loss * tf.cast(tf.shape(rows)[0], tf.float32))
                hits.append(_correct(logits, y_batch))
            loss_sum += tf.stack(losses)
            correct += tf.stack(hits)
        n = tf.cast(n_rows, tf.float32)
        return loss_sum / n, correct / n

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor, epoch: int) -> Scores:
        """One epoch over ``x``/``y`` for every live model, each in its own row order.

        Keras' epoch loss and accuracy: per-batch values, weighted by batch size.
        """
        if not self.live:
            return self._scatter(np.array([]), np.array([]))
        orders = np.stack([epoch_order(self.models[i].seed, epoch, len(x)) for i in self.live])
        loss, accuracy = self._train_epoch(x, y, tf.constant(orders), self.live)
        return self._scatter(loss.numpy(), accuracy.numpy())

    @tf.function(reduce_retracing=True)
    def _evaluate(self, x: tf.Tensor, y: tf.Tensor, live: tuple[int, ...]) -> tuple[tf.Tensor, tf.Tensor]:
        losses, hits = [], []
        for index in live:
            logits = self.models[index].logits(x)
            losses.append(self.models[index].loss(logits, y))
            hits.append(_correct(logits, y))
        return tf.stack(losses), tf.stack(hits) / tf.cast(tf.shape(x)[0], tf.float32)

    def evaluate(self, x: tf.Tensor, y: tf.Tensor) -> Scores:
        """Every live model's loss and accuracy on one shared set, in one call."""
        if not self.live:
            return self._scatter(np.array([]), np.array([]))
        loss, accuracy = self._evaluate(x, y, self.live)
        return self._scatter(loss.numpy(), accuracy.numpy())

    def _scatter(self, loss: np.ndarray, accuracy: np.ndarray) -> Scores:
        """Live models' values into arrays over all K models (NaN for stopped ones)."""
        full_loss, full_accuracy = np.full(len(self.models), np.nan), np.full(len(self.models), np.nan)
        full_loss[list(self.live)], full_accuracy[list(self.live)] = loss, accuracy
        return Scores(full_loss, full_accuracy)
