"""K Keras models of a pack on the JAX backend, grouped by architecture, each group trained as
one compiled, vmapped epoch (``ablab.run.engines.fused_jax.group``).

Each model is built after ``keras.utils.set_random_seed(seed)``, as the Keras engine builds it,
so its initial weights and its dropout layers' seed state are the ones ``fit`` starts from; it
gets its own optimizer, built from its own config, and its own row order (``row_order``). Groups
are models whose step is the same computation: the same layer settings, variable shapes and
optimizer class and settings but the learning rate (``group_key``). Different groups are
separate compiled functions run one after another in the same process.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import keras
import numpy as np
from omegaconf import OmegaConf

from ablab.config.groups import groups_of
from ablab.config.schema import Part
from ablab.config.tasks import task_of
from ablab.models import build_model, objective
from ablab.models.blocks import build_optimizer
from ablab.run.engines.contract import ModelSpec
from ablab.run.engines.fused.fit_rules import EVALUATION_ROWS, Scores, row_order
from ablab.run.engines.fused_jax.group import ArchitectureGroup, State

# What a model's computation depends on besides its optimizer: its layers. The initializer and
# the seed only set its variables' starting values.
LAYER_GROUPS = groups_of(Part.LAYERS)


class JaxFusedModels:
    """The pack's models with their own optimizers; they share data, task, batch size, epochs."""

    def __init__(self, specs: Sequence[ModelSpec], input_shape: tuple[int, ...], outputs: int) -> None:
        self.seeds = [s.seed for s in specs]
        self.live: tuple[int, ...] = tuple(range(len(specs)))
        task = task_of(specs[0].config)
        sample_loss = objective.loss(task).call
        sample_metrics = objective.sample_metrics(task)
        self.models: list[keras.Model] = []
        built: dict[str, list[tuple[int, keras.Model, keras.optimizers.Optimizer]]] = {}
        for index, spec in enumerate(specs):
            keras.utils.set_random_seed(spec.seed)
            model = build_model(spec.config, input_shape, outputs)
            optimizer = build_optimizer(spec.config.optimizer)
            optimizer.build(model.trainable_variables)
            self.models.append(model)
            built.setdefault(group_key(spec, model, optimizer), []).append((index, model, optimizer))
        batch_size = int(specs[0].config.trainer.batch_size)
        self.groups = [
            ArchitectureGroup(
                members=[index for index, _, _ in group],
                template=group[0][1],
                optimizer=group[0][2],
                states=[State.of(model, optimizer) for _, model, optimizer in group],
                batch_size=batch_size,
                sample_loss=sample_loss,
                sample_metrics=sample_metrics,
            )
            for group in built.values()
        ]
        self._orders: dict[int, list[jax.Array]] = {}  # per number of rows: each group's orders

    def stop(self, index: int) -> None:
        """Take model ``index`` out (it diverged): its scores are NaN from now on. Its group
        still computes it (its NaNs stay in its own slice) unless the whole group stopped: a
        smaller stack would compile the epoch again."""
        self.live = tuple(i for i in self.live if i != index)

    def count_params(self, index: int) -> int:
        return self.models[index].count_params()

    def train_epoch(self, x: jax.Array, y: jax.Array) -> Scores:
        """One epoch over ``x``/``y`` for every live model, each in its own row order; Keras'
        epoch metrics (per-batch values weighted by batch size)."""
        orders = self._orders.setdefault(int(x.shape[0]), [
            jnp.asarray(np.stack([row_order(self.seeds[i], int(x.shape[0])) for i in group.members]))
            for group in self.groups
        ])  # fmt: skip
        scores: Scores = {}
        for group, order in zip(self.groups, orders, strict=True):
            if self._running(group):
                self._scatter(scores, group, group.train(order, x, y))
        return scores

    def evaluate(self, x: jax.Array, y: jax.Array) -> tuple[Scores, list[np.ndarray | None]]:
        """Every live model's loss and metrics on one shared set, and its outputs (the test set's
        feed an ensemble's vote); a stopped model's outputs are None. The rows go through in
        chunks of ``EVALUATION_ROWS``, as on TensorFlow."""
        n_rows = int(x.shape[0])
        scores: Scores = {}
        outputs: list[np.ndarray | None] = [None] * len(self.models)
        for group in filter(self._running, self.groups):
            totals: dict[str, np.ndarray] = {}
            parts = []
            for start in range(0, max(1, n_rows), EVALUATION_ROWS):  # an empty set: NaN scores
                chunk = slice(start, start + EVALUATION_ROWS)
                sums, predicted, penalty = group.evaluate(group.state, x[chunk], y[chunk])
                for name, value in sums.items():
                    totals[name] = totals.get(name, 0.0) + np.asarray(value)
                parts.append(np.asarray(predicted))
            means = {name: total / n_rows for name, total in totals.items()}
            means["loss"] = means["loss"] + np.asarray(penalty)  # as Keras' evaluate(), as fit's loss
            self._scatter(scores, group, means)
            stacked = np.concatenate(parts, axis=1)
            for position, index in enumerate(group.members):
                if index in self.live:
                    outputs[index] = stacked[position]
        return scores, outputs

    def _running(self, group: ArchitectureGroup) -> bool:
        return any(index in self.live for index in group.members)

    def _scatter(self, scores: Scores, group: ArchitectureGroup, values: dict[str, np.ndarray]) -> None:
        """A group's values into arrays over all K models (NaN for stopped ones)."""
        for name, value in values.items():
            column = scores.setdefault(name, np.full(len(self.models), np.nan))
            for position, index in enumerate(group.members):
                if index in self.live:
                    column[index] = value[position]


def group_key(spec: ModelSpec, model: keras.Model, optimizer: keras.optimizers.Optimizer) -> str:
    """Models with the same key run one compiled step: the same layer settings (a builder may
    read more than its groups), variables of the same shapes, the same optimizer class and
    settings but a float learning rate (a variable of the optimizer's, stacked like the rest)."""
    settings = {group: OmegaConf.to_container(spec.config[group], resolve=True) for group in LAYER_GROUPS}
    config = optimizer.get_config()
    config.pop("name", None)
    if isinstance(config.get("learning_rate"), float):
        config.pop("learning_rate")
    variables = [*model.trainable_variables, *model.non_trainable_variables, *optimizer.variables]
    shapes = [(tuple(v.shape), str(v.dtype)) for v in variables]
    return json.dumps(
        [type(model).__qualname__, settings, type(optimizer).__qualname__, config, shapes],
        sort_keys=True,
        default=str,
    )
