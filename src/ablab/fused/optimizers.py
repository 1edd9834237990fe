"""SGD and Adam as Keras 3 defines them, run as TensorFlow's fused training kernels.

One kernel call per variable and step: next to the seed's tiny batches, extra elementwise
passes over the weights, not FLOPs, would dominate a step.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf
from omegaconf import DictConfig

from ablab.fused.support import HAND_WRITTEN_OPTIMIZERS


class SGD:
    """``keras.optimizers.SGD``: Keras' ``m = momentum·m - lr·g; w += m`` is TF's
    ``a = momentum·a + g; w -= lr·a`` with ``a = -m / lr`` (nesterov alike)."""

    def __init__(self, learning_rate: float, args: dict, variables: Sequence[tf.Variable]) -> None:
        self.learning_rate = learning_rate
        self.momentum = float(args["momentum"])
        self.nesterov = bool(args["nesterov"])
        self.accumulators = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    def apply(self, gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable]) -> None:
        for gradient, variable, accumulator in zip(gradients, variables, self.accumulators, strict=True):
            if self.momentum == 0:
                tf.raw_ops.ResourceApplyGradientDescent(
                    var=variable.handle, alpha=self.learning_rate, delta=gradient
                )
            else:
                tf.raw_ops.ResourceApplyMomentum(
                    var=variable.handle,
                    accum=accumulator.handle,
                    lr=self.learning_rate,
                    grad=gradient,
                    momentum=self.momentum,
                    use_nesterov=self.nesterov,
                )


class Adam:
    """``keras.optimizers.Adam`` without amsgrad: the step size ``lr·sqrt(1-beta_2^t)/(1-beta_1^t)``
    and ``epsilon`` outside the square root, as Keras."""

    def __init__(self, learning_rate: float, args: dict, variables: Sequence[tf.Variable]) -> None:
        self.learning_rate = learning_rate
        self.beta_1, self.beta_2 = float(args["beta_1"]), float(args["beta_2"])
        self.epsilon = float(args["epsilon"])
        self.iterations = tf.Variable(0.0, trainable=False)
        self.momentums = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.velocities = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    def apply(self, gradients: Sequence[tf.Tensor], variables: Sequence[tf.Variable]) -> None:
        step = self.iterations + 1.0
        beta_1_power, beta_2_power = tf.pow(self.beta_1, step), tf.pow(self.beta_2, step)
        for gradient, variable, m, v in zip(
            gradients, variables, self.momentums, self.velocities, strict=True
        ):
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
        self.iterations.assign_add(1.0)


def build_optimizer(cfg: DictConfig, variables: Sequence[tf.Variable]) -> SGD | Adam:
    """The configured optimizer (``ablab.fused.support.hand_written`` checks it is one) over ``variables``."""
    kind = cfg.name.lower()
    args = {**HAND_WRITTEN_OPTIMIZERS[kind], **cfg.args}
    return {"sgd": SGD, "adam": Adam}[kind](float(cfg.learning_rate), args, variables)
