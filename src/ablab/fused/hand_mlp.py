"""The seed's MLP written out by hand: the fused engine's fast path for the plain ``mlp`` with
SGD or Adam (``ablab.fused.support.hand_written``).

Its initial weights are drawn as the Keras engine draws them (``keras.utils.set_random_seed``,
then each Dense kernel in order), so its runs start where ``fit``'s do; it skips Keras' layer
calls and runs the optimizers as TensorFlow's fused kernels (``ablab.fused.optimizers``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf
from omegaconf import DictConfig

from ablab.fitting import ModelSpec
from ablab.fused.model_set import ModelSet
from ablab.fused.optimizers import build_optimizer
from ablab.models.blocks import activation_function, initializer


def initial_kernels(cfg: DictConfig, seed: int, input_dim: int, outputs: int) -> list[np.ndarray]:
    """One model's kernels, drawn in the order and from the seed the Keras engine uses."""
    keras.utils.set_random_seed(seed)
    widths = [input_dim, *cfg.model.hidden_units, outputs]
    return [
        keras.ops.convert_to_numpy(initializer(cfg.initializer)((fan_in, fan_out)))
        for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True)
    ]


class _MLP:
    """One model: Dense -> activation per hidden layer, Dense -> softmax; and its optimizer."""

    def __init__(self, cfg: DictConfig, seed: int, input_dim: int, outputs: int) -> None:
        self.kernels = [tf.Variable(k) for k in initial_kernels(cfg, seed, input_dim, outputs)]
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


class HandWrittenMLPs(ModelSet):
    """The pack's plain MLPs; they share the data, batch size and epochs, nothing else."""

    def __init__(self, specs: Sequence[ModelSpec], input_shape: tuple[int, ...], outputs: int) -> None:
        super().__init__([s.seed for s in specs], specs[0].config.trainer.batch_size)
        input_dim = int(np.prod(input_shape))  # the mlp flattens images first
        self.models = [_MLP(s.config, s.seed, input_dim, outputs) for s in specs]

    def inputs(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), -1)

    def count_params(self, index: int) -> int:
        return sum(int(np.prod(v.shape)) for v in self.models[index].variables)

    def predict(self, index: int, x: tf.Tensor) -> np.ndarray:
        """Class probabilities, as the Keras model's softmax head gives them."""
        return tf.nn.softmax(self.models[index].logits(x)).numpy()

    @tf.function(reduce_retracing=True)
    def _train_epoch(
        self, x: tf.Tensor, y: tf.Tensor, orders: tf.Tensor, live: tuple[int, ...]
    ) -> dict[str, tf.Tensor]:
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
        return {"loss": loss_sum / n, "accuracy": correct / n}

    @tf.function(reduce_retracing=True)
    def _evaluate(self, x: tf.Tensor, y: tf.Tensor, live: tuple[int, ...]) -> dict[str, tf.Tensor]:
        losses, hits = [], []
        for index in live:
            logits = self.models[index].logits(x)
            losses.append(self.models[index].loss(logits, y))
            hits.append(_correct(logits, y))
        return {"loss": tf.stack(losses), "accuracy": tf.stack(hits) / tf.cast(tf.shape(x)[0], tf.float32)}
