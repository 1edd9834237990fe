"""One architecture's models stacked: an epoch of all of them is one compiled call.

Their variables (trainable, non-trainable: batch-norm statistics and dropout's seed state, and
their optimizers') are stacked on a leading model axis. The step of one model is Keras'
``stateless_call`` and ``stateless_apply`` on the template (the group's first model) with that
model's values; ``jax.vmap`` runs it for every model of the group, ``jax.lax.scan`` runs it over
the epoch's batches, and ``jax.jit`` compiles the epoch once. Nothing crosses between the
models' slices, so a model computes what it would alone (a NaN stays in its own slice).

Each model's optimizer is its own: the template's applies any model's values, its learning rate
included (a Keras optimizer keeps a float learning rate as a variable, so models differing only
there share the group); every other optimizer setting is traced in, so it is part of the key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import keras
import numpy as np


class State(NamedTuple):
    """What training changes, per model (stacked: a leading model axis on every array)."""

    trainable: list
    non_trainable: list
    optimizer: list

    @classmethod
    def of(cls, model: keras.Model, optimizer: keras.optimizers.Optimizer) -> State:
        return cls(
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
            [v.value for v in optimizer.variables],
        )


class ArchitectureGroup:
    """The models (``members``: their indices in the pack) that share ``template``'s architecture
    and optimizer structure, with their task's per-sample loss and metrics."""

    def __init__(
        self,
        members: Sequence[int],
        template: keras.Model,
        optimizer: keras.optimizers.Optimizer,
        states: Sequence[State],
        batch_size: int,
        sample_loss: Callable,
        sample_metrics: Mapping[str, Callable],
    ) -> None:
        self.members = tuple(members)
        self.template, self.optimizer = template, optimizer
        self.batch_size = batch_size
        self.sample_loss, self.sample_metrics = sample_loss, sample_metrics
        self.state = jax.tree.map(lambda *values: jnp.stack(values), *states)
        self.train_epoch = jax.jit(jax.vmap(self._epoch, in_axes=(0, 0, None, None)), donate_argnums=0)
        self.evaluate = jax.jit(jax.vmap(self._evaluate, in_axes=(0, None, None)))

    def train(self, orders: jax.Array, x: jax.Array, y: jax.Array) -> dict[str, np.ndarray]:
        """One epoch for every model of the group, each in its own row order (a row of
        ``orders``): the epoch's mean loss and metrics per model, as Keras' fit logs them."""
        self.state, means = self.train_epoch(self.state, orders, x, y)
        return {name: np.asarray(value) for name, value in means.items()}

    def _epoch(self, state: State, order: jax.Array, x: jax.Array, y: jax.Array) -> tuple[State, dict]:
        """One model's epoch: the full batches by ``lax.scan``, then the last, shorter one."""
        n_rows = order.shape[0]
        full = n_rows // self.batch_size
        batches = order[: full * self.batch_size].reshape(full, self.batch_size)
        totals = {name: jnp.zeros(()) for name in ("loss", *self.sample_metrics)}

        def batch(carry: tuple[State, dict], rows: jax.Array) -> tuple[tuple[State, dict], None]:
            state, totals = carry
            state, sums = self._step(state, x[rows], y[rows])
            return (state, {name: totals[name] + sums[name] for name in totals}), None

        (state, totals), _ = jax.lax.scan(batch, (state, totals), batches)
        if n_rows % self.batch_size:
            rows = order[full * self.batch_size :]
            state, sums = self._step(state, x[rows], y[rows])
            totals = {name: totals[name] + sums[name] for name in totals}
        return state, {name: total / n_rows for name, total in totals.items()}

    def _step(self, state: State, x: jax.Array, y: jax.Array) -> tuple[State, dict]:
        """One batch: the loss fit minimizes (the task's mean loss plus the model's own losses),
        its gradient applied by the model's optimizer; the loss and metrics summed over the rows."""

        def loss_of(trainable: list, non_trainable: list) -> tuple[jax.Array, tuple]:
            predicted, non_trainable, losses = self.template.stateless_call(
                trainable, non_trainable, x, training=True, return_losses=True
            )
            loss = jnp.mean(self.sample_loss(y, predicted)) + sum(losses, jnp.zeros(()))
            return loss, (non_trainable, predicted)

        (loss, (non_trainable, predicted)), gradients = jax.value_and_grad(loss_of, has_aux=True)(
            state.trainable, state.non_trainable
        )
        trainable, optimizer = self.optimizer.stateless_apply(state.optimizer, gradients, state.trainable)
        sums = {"loss": loss * x.shape[0], **self._metric_sums(y, predicted)}
        return State(trainable, non_trainable, optimizer), sums

    def _evaluate(self, state: State, x: jax.Array, y: jax.Array) -> tuple[dict, jax.Array, jax.Array]:
        """One model on a chunk of rows: its loss and metric sums, its outputs, its own losses
        (regularization, which Keras' evaluate adds to the loss)."""
        predicted, _, losses = self.template.stateless_call(
            state.trainable, state.non_trainable, x, training=False, return_losses=True
        )
        sums = {"loss": jnp.sum(self.sample_loss(y, predicted)), **self._metric_sums(y, predicted)}
        return sums, predicted, sum(losses, jnp.zeros(()))

    def _metric_sums(self, y: jax.Array, predicted: jax.Array) -> dict[str, jax.Array]:
        return {
            name: jnp.sum(jnp.asarray(function(y, predicted), jnp.float32))
            for name, function in self.sample_metrics.items()
        }
