"""MLflow -> pandas: every run of a search (paginated), params cast back, metric histories.

Nothing here knows about studies; ``launch.py`` applies the study contract on top.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from typing import Any

import pandas as pd
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs  # noqa: F401 - the report's readers import it from here


def cast_param(text: str) -> Any:
    """A param as logged (always text) back to its Python value: "0.001" -> 0.001, "[50, 50]" -> list."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def runs_frame(runs: Iterable[Run]) -> pd.DataFrame:
    """One row per run, columns named like ``mlflow.search_runs``: run_id, status, start_time,
    ``params.<key>`` (cast back, object dtype so 100 stays an int), ``metrics.<key>`` (latest
    value), ``tags.<key>``."""
    runs = list(runs)
    info = pd.DataFrame(
        [
            (r.info.run_id, r.info.experiment_id, r.info.status, r.info.start_time, r.info.end_time)
            for r in runs
        ],
        columns=["run_id", "experiment_id", "status", "start_time", "end_time"],
    )
    params = pd.DataFrame(
        [{f"params.{k}": cast_param(v) for k, v in r.data.params.items()} for r in runs], dtype=object
    )
    metrics = pd.DataFrame(
        [{f"metrics.{k}": v for k, v in r.data.metrics.items()} for r in runs], dtype=float
    )
    tags = pd.DataFrame([{f"tags.{k}": v for k, v in r.data.tags.items()} for r in runs], dtype=object)
    frame = pd.concat([info, params, metrics, tags], axis=1)
    return frame.astype({column: object for column in params.columns})


def metric_histories(client: MlflowClient, run_ids: Iterable[str], keys: Iterable[str]) -> pd.DataFrame:
    """Every logged value of ``keys`` for ``run_ids``: columns run_id, key, step, value."""
    rows = [
        (run_id, key, metric.step, metric.value)
        for run_id in run_ids
        for key in keys
        for metric in client.get_metric_history(run_id, key)
    ]
    return pd.DataFrame(rows, columns=["run_id", "key", "step", "value"])
