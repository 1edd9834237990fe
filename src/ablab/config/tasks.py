"""What the model learns (``dataset.task``): its loss, its metrics and its output activation.

Each task also encodes labels for Keras and says how many outputs the model needs. The model
outputs logits; the output activation is what turns them into scores
(``ablab.models.objective``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from omegaconf import DictConfig

from ablab.errors import ConfigError


@dataclass(frozen=True)
class Task:
    name: str
    loss: str  # a keras.losses class
    metrics: tuple[str, ...]  # Keras metric names; logged per epoch and as test_<name>
    output_activation: str | None  # applied to the logits by the loss and the vote, not by the model
    default_metric: str  # what a study compares unless study.metric says otherwise
    # The per-sample keras.metrics function of each of ``metrics`` (``accuracy`` is categorical or
    # binary accuracy by the task); compile() and the fused engines average them.
    sample_metrics: tuple[str, ...]


TASKS = {
    "classification": Task(
        "classification",
        "CategoricalCrossentropy",
        ("accuracy",),
        "softmax",
        "test_accuracy",
        ("categorical_accuracy",),
    ),
    "binary": Task(
        "binary", "BinaryCrossentropy", ("accuracy",), "sigmoid", "test_accuracy", ("binary_accuracy",)
    ),
    "regression": Task(
        "regression",
        "MeanSquaredError",
        ("mse", "mae"),
        None,
        "test_mse",
        ("mean_squared_error", "mean_absolute_error"),
    ),
}


# Which way each final metric is better; a study's direction defaults to it.
METRIC_DIRECTIONS = {
    "test_accuracy": "maximize",
    "test_loss": "minimize",
    "test_mse": "minimize",
    "test_mae": "minimize",
    "train_seconds": "minimize",
    "param_count": "minimize",
}


def task_of(cfg: DictConfig) -> Task:
    name = cfg.dataset.get("task", "classification")
    if name not in TASKS:
        raise ConfigError(f"dataset.task={name!r} is not a task; allowed: {', '.join(TASKS)}.")
    return TASKS[name]


def final_metric_names(task: Task) -> tuple[str, ...]:
    """The final metrics a run of this task logs."""
    return ("test_loss", *(f"test_{m}" for m in task.metrics), "train_seconds", "param_count")


def encode_labels(task: Task, y_train: np.ndarray, y_test: np.ndarray, where: str) -> tuple[np.ndarray, ...]:
    """Labels as Keras needs them: one-hot classes, a 0/1 column, or float targets.

    Raises ConfigError naming ``where`` (the dataset) when the labels do not fit the task.
    """
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    for y in (y_train, y_test):
        if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
            raise ConfigError(
                f"{where} has non-numeric labels (dtype {y.dtype}); dataset.task={task.name!r} needs numbers."
            )
    if task.name == "regression":
        return tuple(y.astype(np.float32).reshape(len(y), -1) for y in (y_train, y_test))
    both = np.concatenate([y_train.ravel(), y_test.ravel()])
    if not (np.issubdtype(both.dtype, np.integer) or both.dtype == bool) or both.min() < 0:
        example = (both[0] if both.min() >= 0 else both.min()).item()
        raise ConfigError(
            f"{where} has labels of dtype {both.dtype} such as {example!r}, not class numbers 0, 1, 2, ...; "
            f"dataset.task={task.name!r} needs integer classes (dataset.task=regression for real targets)."
        )
    if task.name == "binary":
        if both.max() > 1:
            raise ConfigError(
                f"{where} has class {int(both.max())}; dataset.task='binary' needs labels 0 and 1 "
                "(dataset.task=classification for more classes)."
            )
        return tuple(y.astype(np.float32).reshape(len(y), 1) for y in (y_train, y_test))
    classes = int(both.max()) + 1
    eye = np.eye(classes, dtype=np.float32)
    return tuple(eye[y.astype(np.int64).ravel()] for y in (y_train, y_test))
