"""How many classes each arm's task has, read from what its runs logged: accuracy's chance level.

A run logs its task as the param ``dataset.task`` and its splits as MLflow dataset inputs
(``ablab.tracking.record.dataset_inputs``), whose profile holds the shape of the encoded
targets: ``[rows, classes]`` for one-hot classification, ``[rows, 1]`` for binary labels.
"""

from __future__ import annotations

import json

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.tracking.tags import TASK_PARAM

TASK_COLUMN = f"params.{TASK_PARAM}"


def class_counts(client: MlflowClient, finished: pd.DataFrame) -> dict[str, int]:
    """Per arm, the classes of its first finished run; arms of a regression task, or whose run
    logged neither a binary task nor its dataset's targets, are left out."""
    if finished.empty or "arm" not in finished:
        return {}
    counts = {}
    for arm, runs in finished.groupby("arm", sort=False):
        first = runs.iloc[0]
        task = first.get(TASK_COLUMN)
        task = task if isinstance(task, str) else "classification"  # ablab.config.tasks' default
        if task == "binary":
            counts[str(arm)] = 2
        elif task == "classification":
            width = target_width(client, str(first["run_id"]))
            if width is not None and width >= 2:
                counts[str(arm)] = width
    return counts


def target_width(client: MlflowClient, run_id: str) -> int | None:
    """The width of the run's logged targets (its dataset inputs' profile), None when not logged."""
    run = client.get_run(run_id)
    for dataset_input in run.inputs.dataset_inputs if run.inputs else []:
        try:
            shape = json.loads(dataset_input.dataset.profile or "{}").get("targets_shape")
        except (json.JSONDecodeError, AttributeError):
            continue
        if isinstance(shape, list) and len(shape) == 2 and isinstance(shape[1], int):
            return shape[1]
    return None
