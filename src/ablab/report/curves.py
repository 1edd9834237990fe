"""The per-epoch training and validation accuracy of a launch's runs, read from MLflow."""

from __future__ import annotations

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.report.read import metric_histories

CURVE_KEYS = ("accuracy", "val_accuracy")


def read_curves(client: MlflowClient, run_ids: pd.Series) -> pd.DataFrame:
    """Per-epoch training and validation accuracy: run_id, key, step (= epoch), value."""
    history = metric_histories(client, run_ids, CURVE_KEYS)
    history = history[history["step"] >= 1]
    # A value re-logged for the same epoch: the later one stands.
    return history.drop_duplicates(["run_id", "key", "step"], keep="last").sort_values(
        ["run_id", "key", "step"]
    )
