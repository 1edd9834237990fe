"""K Keras models, each built by the run's configured builder, trained side by side in one graph.

Keras ``fit`` pays Python and executor overhead on every step of every model; here one
``tf.function`` call runs an epoch's steps for all K models, whose ops are independent, so
TensorFlow's inter-op threads run them in parallel.

Each model is built after ``keras.utils.set_random_seed(seed)``, as the Keras engine builds it,
so its initial weights and its dropout layers' random streams are the ones ``fit`` would start
from. A step calls the model with ``training=True`` (batch normalization updates its own
moving statistics, dropout draws from its own stream), takes the task's Keras loss plus the
model's regularization losses, and applies the model's own Keras optimizer (plain SGD and Adam
as TensorFlow's fused kernels, ``ablab.run.engines.fused.optimizer_kernels``). Models of one architecture
share one traced step, each run with its own variables (``ablab.run.engines.fused.model_step``). Its row
order comes from its seed (``row_order``). Nothing crosses between models, so a model's result
does not depend on which others share its pack.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np
import tensorflow as tf
from omegaconf import OmegaConf

from ablab.config.groups import STEP_GROUPS
from ablab.config.tasks import task_of
from ablab.models import build_model, objective
from ablab.models.blocks import build_optimizer
from ablab.run.engines.contract import ModelSpec
from ablab.run.engines.fused.fit_rules import EVALUATION_ROWS, Scores, row_order
from ablab.run.engines.fused.model_step import ModelStep, ModelVariables
from ablab.run.engines.fused.optimizer_kernels import Update, model_update


class FusedModels:
    """The pack's models with their own optimizers; they share data, task, batch size, epochs."""

    def __init__(self, specs: Sequence[ModelSpec], input_shape: tuple[int, ...], outputs: int) -> None:
        self.seeds = [s.seed for s in specs]
        self.batch_size = int(specs[0].config.trainer.batch_size)
        self.live: tuple[int, ...] = tuple(range(len(specs)))
        task = task_of(specs[0].config)
        self.sample_loss = objective.loss(task).call
        self.sample_metrics = objective.sample_metrics(task)
        self.models: list[keras.Model] = []
        self.variables: list[ModelVariables] = []
        self.steps: list[ModelStep] = []  # shared by the models of one architecture
        by_architecture: dict[str, ModelStep] = {}
        for index, spec in enumerate(specs):
            keras.utils.set_random_seed(spec.seed)
            model = build_model(spec.config, input_shape, outputs)
            update = model_update(build_optimizer(spec.config.optimizer), model.trainable_variables)
            key = _architecture(spec, model, update, index)
            if key not in by_architecture:
                by_architecture[key] = ModelStep(model, update, self.sample_loss, self.sample_metrics)
            self.models.append(model)
            self.variables.append(ModelVariables.of(model, update))
            self.steps.append(by_architecture[key])
        self._evaluators: dict[tuple[int, ...], Callable] = {}

    def stop(self, index: int) -> None:
        """Take model ``index`` out (it diverged): from the next epoch it is not even computed."""
        self.live = tuple(i for i in self.live if i != index)

    def count_params(self, index: int) -> int:
        return self.models[index].count_params()

    def train_epoch(self, x: tf.Tensor, y: tf.Tensor) -> Scores:
        """One epoch over ``x``/``y`` for every live model, each in its own row order.

        Keras' epoch metrics: per-batch values, weighted by batch size.
        """
        if not self.live:
            return {}
        orders = np.stack([row_order(self.seeds[i], int(x.shape[0])) for i in self.live])
        return self._scatter(self._train_epoch(x, y, tf.constant(orders), self.live))

    def evaluate(self, x: tf.Tensor, y: tf.Tensor) -> tuple[Scores, list[np.ndarray | None]]:
        """Every live model's loss and metrics on one shared set, and its outputs (the test set's
        feed an ensemble's vote); a stopped model's outputs are None.

        The rows go through in chunks of ``EVALUATION_ROWS``: a large set's activations never
        all exist at once.
        """
        if not self.live:
            return {}, [None] * len(self.models)
        evaluate = self._evaluator(x, y)
        totals: dict[str, np.ndarray] = {}
        outputs: list[list[np.ndarray]] = [[] for _ in self.models]
        for start in range(0, max(1, int(x.shape[0])), EVALUATION_ROWS):  # an empty set: NaN scores
            chunk = slice(start, start + EVALUATION_ROWS)
            sums, parts, regularization = evaluate(x[chunk], y[chunk])
            for name, value in sums.items():
                totals[name] = totals.get(name, 0.0) + value.numpy()
            for index, part in zip(self.live, parts, strict=True):
                outputs[index].append(part.numpy())
        means = {name: total / int(x.shape[0]) for name, total in totals.items()}
        # Keras' evaluate() loss includes the regularization penalty, as fit's does.
        means["loss"] = means["loss"] + regularization.numpy()
        stacked = [np.concatenate(parts) if parts else None for parts in outputs]
        return self._scatter(means), stacked

    def _scatter(self, values: Mapping[str, tf.Tensor | np.ndarray]) -> Scores:
        """Live models' values into arrays over all K models (NaN for stopped ones)."""
        scores = {}
        for name, value in values.items():
            scores[name] = np.full(len(self.models), np.nan)
            scores[name][list(self.live)] = np.asarray(value)
        return scores

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
                rows = orders[position, step * self.batch_size : (step + 1) * self.batch_size]
                batch = tf.gather(x, rows), tf.gather(y, rows)
                loss, sums = self.steps[index].train(*batch, self.variables[index])
                per_model["loss"].append(loss * tf.cast(tf.shape(rows)[0], tf.float32))
                for name, value in sums.items():
                    per_model[name].append(value)
            totals = {name: totals[name] + tf.stack(per_model[name]) for name in totals}
        n = tf.cast(n_rows, tf.float32)
        return {name: total / n for name, total in totals.items()}

    def _evaluator(self, x: tf.Tensor, y: tf.Tensor) -> Callable:
        """The live models' evaluation of one chunk of rows, traced once for any chunk length
        (validation, test and the last partial chunk share it)."""
        if self.live not in self._evaluators:
            rows = [tf.TensorSpec([None, *t.shape[1:]], t.dtype) for t in (x, y)]
            evaluate = functools.partial(self._evaluate_chunk, live=self.live)
            self._evaluators[self.live] = tf.function(evaluate, input_signature=rows, autograph=False)
        return self._evaluators[self.live]

    def _evaluate_chunk(
        self, x: tf.Tensor, y: tf.Tensor, live: tuple[int, ...]
    ) -> tuple[dict[str, tf.Tensor], list[tf.Tensor], tf.Tensor]:
        """Per live model: loss and metric sums over the rows, its outputs, its regularization."""
        per_model: dict[str, list[tf.Tensor]] = {name: [] for name in ("loss", *self.sample_metrics)}
        outputs, penalties = [], []
        for index in live:
            loss, sums, predicted, penalty = self.steps[index].evaluate(x, y, self.variables[index])
            per_model["loss"].append(loss)
            for name, value in sums.items():
                per_model[name].append(value)
            outputs.append(predicted)
            penalties.append(penalty)
        sums = {name: tf.stack(values) for name, values in per_model.items()}
        return sums, outputs, tf.stack(penalties)


def _architecture(spec: ModelSpec, model: keras.Model, update: Update, index: int) -> str:
    """Models with the same key share one traced step: the same step settings and variables of
    the same shapes (a builder may read more than its groups). A Keras-applied optimizer steps
    only its own model's variables, so that model has a key of its own."""
    if not update.shareable:
        return f"model {index}"
    settings = {group: OmegaConf.to_container(spec.config[group], resolve=True) for group in STEP_GROUPS}
    variables = [*model.trainable_variables, *model.non_trainable_variables]
    shapes = [(tuple(v.shape), str(v.dtype)) for v in variables]
    return json.dumps([type(model).__qualname__, settings, shapes], sort_keys=True, default=str)
