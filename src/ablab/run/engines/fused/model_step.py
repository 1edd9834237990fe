"""One architecture's training step and evaluation, traced once and run with the variables of any
model of that architecture.

Tracing a Keras model's step is Python work: ~0.25 s for the series' batch-norm MLP, 3.4 s for a
14-model series pack when each model traced its own. Here the step is traced on one model of
the architecture (the template) and takes the variables it trains as arguments: the template
runs under ``keras.StatelessScope`` with their values, its gradients step them, and its updated
state (batch-norm statistics, dropout's seed) is written back to them. The functions are not
inlined into the pack's epoch graph (``_noinline``), so TensorFlow optimizes and instantiates
each body once, not once per model. A model's numbers do not change: the same ops run on its
own variables.

The pack's epoch graph runs each step with TensorFlow's single-threaded executor, which runs a
function's ops in order with less bookkeeping per op than the default one: the steps are
hundreds of small ops, and their pack's epoch takes ~8% less (``benchmarks/fused_pack_start.py``).
That executor must not run a step that calls other functions (control flow, nested
``tf.function``): with one inter-op thread such a call can wait on itself forever. Those steps
keep the default executor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import keras
import tensorflow as tf

from ablab.run.engines.fused.optimizer_kernels import Update

# Each architecture's function stays whole in the epoch graph (see the module docstring); no
# AutoGraph, as in Keras' fit: a model's call runs as written.
_TRACING = {"experimental_attributes": {"_noinline": True}, "autograph": False}

# The executor of a step with no calls in it (see the module docstring); "" is TF's default.
STEP_EXECUTOR = "SINGLE_THREADED_EXECUTOR"


class ModelVariables(NamedTuple):
    """What training one model changes: its trainable and non-trainable variables (batch-norm
    statistics, random seeds) and its optimizer's state."""

    trainable: tuple[tf.Variable, ...]
    non_trainable: tuple[tf.Variable, ...]
    optimizer: tuple[tf.Variable, ...]

    @classmethod
    def of(cls, model: keras.Model, update: Update) -> ModelVariables:
        return cls(
            tuple(v.value for v in model.trainable_variables),
            tuple(v.value for v in model.non_trainable_variables),
            tuple(update.state),
        )


# One evaluation's results: the loss and metric sums, the outputs, the regularization penalty.
Evaluation = tuple[tf.Tensor, dict[str, tf.Tensor], tf.Tensor, tf.Tensor]


class ModelStep:
    """The traced step and evaluation of ``template``'s architecture, with its task's per-sample
    loss and metrics (name -> Keras function)."""

    def __init__(
        self,
        template: keras.Model,
        update: Update,
        sample_loss: Callable,
        sample_metrics: Mapping[str, Callable],
    ) -> None:
        self.template, self.update = template, update
        self.sample_loss, self.sample_metrics = sample_loss, sample_metrics
        self.train_function = tf.function(self._train, **_TRACING)
        self.evaluate_function = tf.function(self._evaluate, **_TRACING)
        self._executors: dict[str, str] = {}  # per traced function, judged once: the scan reads every op

    def train(
        self, x: tf.Tensor, y: tf.Tensor, variables: ModelVariables
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """The step, called from the pack's epoch graph as it is traced."""
        return self._call_in_graph(self.train_function, x, y, variables)

    def evaluate(self, x: tf.Tensor, y: tf.Tensor, variables: ModelVariables) -> Evaluation:
        """The evaluation, called from the pack's evaluation graph as it is traced. Only the
        model's variables go in, not its optimizer's state: every variable passed is an input."""
        return self._call_in_graph(self.evaluate_function, x, y, variables.trainable, variables.non_trainable)

    def _call_in_graph(self, function: Callable, *args: object) -> object:
        """Call ``function`` from the graph being traced, on the single-threaded executor unless
        it calls other functions."""
        concrete = function.get_concrete_function(*args)
        if concrete.name not in self._executors:
            self._executors[concrete.name] = "" if calls_functions(concrete.graph) else STEP_EXECUTOR
        with tf.experimental.function_executor_type(self._executors[concrete.name]):
            return concrete(*args)

    def _train(
        self, x: tf.Tensor, y: tf.Tensor, variables: ModelVariables
    ) -> tuple[tf.Tensor, dict[str, tf.Tensor]]:
        """One batch: the model's mean loss (regularization included) and its metrics' sums."""
        values = [v.read_value() for v in variables.trainable]
        with tf.GradientTape() as tape:
            tape.watch(values)
            predicted, updated, penalty = self._call(values, variables.non_trainable, x, training=True)
            loss = tf.reduce_mean(self.sample_loss(y, predicted)) + penalty
        gradients = tape.gradient(loss, values)
        for variable, value in zip(variables.non_trainable, updated, strict=True):
            variable.assign(value)
        self.update.apply(gradients, variables.trainable, variables.optimizer)
        return loss, self._metric_sums(y, predicted)

    def _evaluate(
        self,
        x: tf.Tensor,
        y: tf.Tensor,
        trainable: Sequence[tf.Variable],
        non_trainable: Sequence[tf.Variable],
    ) -> Evaluation:
        """The loss and metric sums over the rows, the outputs, the regularization penalty."""
        values = [v.read_value() for v in trainable]
        predicted, _, penalty = self._call(values, non_trainable, x, training=False)
        loss = tf.reduce_sum(self.sample_loss(y, predicted))
        return loss, self._metric_sums(y, predicted), predicted, penalty

    def _call(
        self, values: Sequence[tf.Tensor], non_trainable: Sequence[tf.Variable], x: tf.Tensor, training: bool
    ) -> tuple[tf.Tensor, list[tf.Tensor], tf.Tensor]:
        """The template called as the model whose variables these are (``__call__``, as fit
        calls it): its outputs, its non-trainable state after the call, its losses' sum."""
        template = self.template
        state = [v.read_value() for v in non_trainable]
        mapping = [
            *zip(template.trainable_variables, values, strict=True),
            *zip(template.non_trainable_variables, state, strict=True),
        ]
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
            predicted = template(x, training=training)
            losses = template.losses
        updated = [scope.get_current_value(v) for v in template.non_trainable_variables]
        return predicted, updated, tf.add_n(losses) if losses else tf.constant(0.0)

    def _metric_sums(self, y: tf.Tensor, predicted: tf.Tensor) -> dict[str, tf.Tensor]:
        """Each metric's per-sample values, summed over the batch."""
        return {
            name: tf.reduce_sum(tf.cast(function(y, predicted), tf.float32))
            for name, function in self.sample_metrics.items()
        }


def calls_functions(graph: tf.Graph) -> bool:
    """Whether an op of ``graph`` runs another function (a loop, a branch, a nested call): every
    such op names it in an attribute."""
    return any(
        value.HasField("func") or len(value.list.func) > 0
        for op in graph.get_operations()
        for value in op.node_def.attr.values()
    )
