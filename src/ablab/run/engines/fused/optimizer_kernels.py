"""A model's optimizer as the fused engine applies it: Keras' SGD and Adam as TensorFlow's fused
training kernels (one op per variable and step), any other optimizer by Keras itself.

Next to a small model's batch, Keras' own update (a dozen elementwise ops per variable) costs
more than the model (docs/development/decisions.md has the measurement). Only an optimizer
exactly as Keras defines it, with none of Keras' extras (clipping, weight decay, EMA, loss
scaling, accumulation, a schedule), takes the kernels.

A kernel update keeps its slots in ``state`` and steps whichever variables and state it is
given, so one traced step serves every model of an architecture (``ablab.run.engines.fused.model_step``).
Keras' optimizers step only the variables they were built for (the TensorFlow backend has no
``stateless_apply``), so a model with one shares its traced step with no other.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import tensorflow as tf

# Optimizer settings that must be off for the kernels to compute what Keras computes.
_OFF = {
    "weight_decay": None,
    "clipnorm": None,
    "global_clipnorm": None,
    "clipvalue": None,
    "use_ema": False,
    "loss_scale_factor": None,
    "gradient_accumulation_steps": None,
}


def _slots(variables: Sequence[keras.Variable]) -> list[tf.Variable]:
    return [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in variables]


class _SGD:
    """``keras.optimizers.SGD``: ``m = momentum * m - lr * g; w += m`` (nesterov alike), which is
    TensorFlow's ``ResourceApplyKerasMomentum``; plain ``w -= lr * g`` without momentum."""

    shareable = True

    def __init__(self, optimizer: keras.optimizers.SGD, variables: Sequence[keras.Variable]) -> None:
        self.learning_rate = optimizer.learning_rate
        self.momentum, self.nesterov = float(optimizer.momentum), bool(optimizer.nesterov)
        self.state = _slots(variables) if self.momentum else []  # the momenta

    def apply(
        self, gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable], state: Sequence[tf.Variable]
    ) -> None:
        if not self.momentum:
            for gradient, variable in zip(gradients, variables, strict=True):
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=variable.handle, alpha=self.learning_rate, delta=gradient
                )
            return
        for gradient, variable, momentum in zip(gradients, variables, state, strict=True):
            tf.raw_ops.ResourceApplyKerasMomentum(
                var=variable.handle,
                accum=momentum.handle,
                lr=self.learning_rate,
                grad=gradient,
                momentum=self.momentum,
                use_nesterov=self.nesterov,
            )


class _Adam:
    """``keras.optimizers.Adam`` without amsgrad: the step ``lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``
    and ``epsilon`` outside the square root, as Keras."""

    shareable = True

    def __init__(self, optimizer: keras.optimizers.Adam, variables: Sequence[keras.Variable]) -> None:
        self.learning_rate = optimizer.learning_rate
        self.beta_1, self.beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
        self.epsilon = float(optimizer.epsilon)
        # The step count, then the first and the second moments.
        self.state = [tf.Variable(0.0, trainable=False), *_slots(variables), *_slots(variables)]

    def apply(
        self, gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable], state: Sequence[tf.Variable]
    ) -> None:
        iterations, moments = state[0], state[1:]
        step = iterations + 1.0
        beta_1_power, beta_2_power = tf.pow(self.beta_1, step), tf.pow(self.beta_2, step)
        first, second = moments[: len(variables)], moments[len(variables) :]
        for gradient, variable, m, v in zip(gradients, variables, first, second, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=variable.handle,
                m=m.handle,
                v=v.handle,
                beta1_power=beta_1_power,
                beta2_power=beta_2_power,
                lr=self.learning_rate,
                beta1=self.beta_1,
                beta2=self.beta_2,
                epsilon=self.epsilon,
                grad=gradient,
            )
        iterations.assign_add(1.0)


class _Keras:
    """Any other optimizer, applied by Keras to the variables it was built for."""

    shareable = False

    def __init__(self, optimizer: keras.optimizers.Optimizer, variables: Sequence[keras.Variable]) -> None:
        optimizer.build(variables)  # its slots exist before the step is traced
        self.optimizer, self.variables = optimizer, list(variables)
        self.state: list[tf.Variable] = []  # Keras keeps its own

    def apply(
        self, gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable], state: Sequence[tf.Variable]
    ) -> None:
        self.optimizer.apply(gradients, self.variables)  # ``variables`` are these, unshared


Update = _SGD | _Adam | _Keras


def model_update(optimizer: keras.optimizers.Optimizer, variables: Sequence[keras.Variable]) -> Update:
    """How the fused engine applies ``optimizer`` to a model's trainable ``variables``."""
    return kernel_optimizer(optimizer, variables) or _Keras(optimizer, variables)


def kernel_optimizer(
    optimizer: keras.optimizers.Optimizer, variables: Sequence[keras.Variable]
) -> _SGD | _Adam | None:
    """The optimizer as fused kernels over ``variables``; None when Keras must apply it itself."""
    config = optimizer.get_config()
    if any(config.get(key) != value for key, value in _OFF.items()):
        return None
    if not isinstance(config["learning_rate"], float):  # a schedule
        return None
    if type(optimizer) is keras.optimizers.SGD:
        return _SGD(optimizer, variables)
    if type(optimizer) is keras.optimizers.Adam and not config["amsgrad"]:
        return _Adam(optimizer, variables)
    return None
