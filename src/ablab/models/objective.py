"""What a model is trained and scored on, as Keras objects: the task's loss and metrics, taken
from the head's logits, and the probabilities a vote averages.

A classification model ends in its output Dense (``Blocks.head``): logits. The loss takes them
(``from_logits=True``), which is the same crossentropy on every backend. Given a softmax's
output instead, only Keras' TensorFlow backend recovers the logits behind it; JAX and PyTorch
take the crossentropy of the clipped probabilities, which has no gradient once the softmax
saturates (unscaled pixels), so those runs learned less than TensorFlow's.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import keras
import numpy as np

from ablab.config.tasks import Task


def takes_logits(task: Task) -> bool:
    """Whether the model's outputs are logits that the task's activation turns into scores."""
    return task.output_activation is not None


def loss(task: Task) -> keras.losses.Loss:
    """The task's loss for ``compile()``; its ``call`` gives the per-sample values."""
    return getattr(keras.losses, task.loss)(**({"from_logits": True} if takes_logits(task) else {}))


def sample_metrics(task: Task) -> dict[str, Callable]:
    """Each metric's per-sample function, by the name Keras logs it under. Binary accuracy on
    logits thresholds at 0, where the sigmoid is 0.5; an argmax is the same on logits."""
    functions = {}
    for name, function_name in zip(task.metrics, task.sample_metrics, strict=True):
        function = getattr(keras.metrics, function_name)
        on_logits = function_name == "binary_accuracy" and takes_logits(task)
        functions[name] = partial(function, threshold=0.0) if on_logits else function
    return functions


def metrics(task: Task) -> list[keras.metrics.Metric]:
    """The task's metrics for ``compile()``: the batch means of ``sample_metrics``."""
    return [
        keras.metrics.MeanMetricWrapper(function, name=name)
        for name, function in sample_metrics(task).items()
    ]


def probabilities(task: Task, outputs: np.ndarray) -> np.ndarray:
    """The class probabilities of a model's outputs: the task's activation of its logits."""
    activation = keras.activations.get(task.output_activation)
    return keras.ops.convert_to_numpy(activation(keras.ops.convert_to_tensor(outputs)))
