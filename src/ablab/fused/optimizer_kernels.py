"""Keras' SGD and Adam, run as TensorFlow's fused training kernels: one op per variable and step.

Next to a small model's batch, Keras' own update (a dozen elementwise ops per variable) costs
more than the model: with them a batch-norm + dropout MLP's epoch took 1.45x as long (README
"Performance"). Only an optimizer exactly as Keras defines it, with none of Keras' extras
(clipping, weight decay, EMA, loss scaling, accumulation, a schedule), takes the kernels; any
other optimizer is applied by Keras itself.
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


class _SGD:
    """``keras.optimizers.SGD``: ``m = momentum * m - lr * g; w += m`` (nesterov alike), which is
    TensorFlow's ``ResourceApplyKerasMomentum``; plain ``w -= lr * g`` without momentum."""

    def __init__(self, optimizer: keras.optimizers.SGD, variables: Sequence[keras.Variable]) -> None:
        self.learning_rate = optimizer.learning_rate
        self.momentum, self.nesterov = float(optimizer.momentum), bool(optimizer.nesterov)
        self.momenta = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in variables]

    def apply(self, gradients: Sequence[tf.Tensor], variables: Sequence[keras.Variable]) -> None:
        for gradient, variable, momentum in zip(gradients, variables, self.momenta, strict=True):
            if self.momentum == 0:
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=variable.value.handle, alpha=self.learning_rate, delta=gradient
                )
            else:
                tf.raw_ops.ResourceApplyKerasMomentum(
                    var=variable.value.handle,
                    accum=momentum.handle,
                    lr=self.learning_rate,
                    grad=gradient,
                    momentum=self.momentum,
                    use_nesterov=self.nesterov,
                )


class _Adam:
    """``keras.optimizers.Adam`` without amsgrad: the step ``lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)``
    and ``epsilon`` outside the square root, as Keras."""

    def __init__(self, optimizer: keras.optimizers.Adam, variables: Sequence[keras.Variable]) -> None:
        self.learning_rate = optimizer.learning_rate
        self.beta_1, self.beta_2 = float(optimizer.beta_1), float(optimizer.beta_2)
        self.epsilon = float(optimizer.epsilon)
        self.iterations = tf.Variable(0.0, trainable=False)
        self.momentums = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in variables]
        self.velocities = [tf.Variable(tf.zeros_like(v.value), trainable=False) for v in variables]

    def apply(self, gradients: Sequence[tf.Tensor], variables: Sequence[keras.Variable]) -> None:
        step = self.iterations + 1.0
        beta_1_power, beta_2_power = tf.pow(self.beta_1, step), tf.pow(self.beta_2, step)
        slots = zip(self.momentums, self.velocities, strict=True)
        for gradient, variable, (m, v) in zip(gradients, variables, slots, strict=True):
            tf.raw_ops.ResourceApplyAdam(
                var=variable.value.handle,
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
        self.iterations.assign_add(1.0)


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
