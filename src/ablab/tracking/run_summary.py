"""The few lines a run or a study ends with: what it scored, where it is, how to look at it.

Read back from MLflow, so the summary shows what the store holds, not what the code meant to log.
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow.tracking import MlflowClient

from ablab.tracking.tags import DEVICE, ERROR
from ablab.tracking.ui_links import open_command

# The final metrics shown first, in this order; any other final metric follows.
HEADLINE_METRICS = ("test_accuracy", "test_loss", "train_seconds", "param_count")


def format_metrics(metrics: Mapping[str, float]) -> str:
    ordered = [k for k in HEADLINE_METRICS if k in metrics] + sorted(set(metrics) - set(HEADLINE_METRICS))
    return "   ".join(f"{key} {_number(metrics[key])}" for key in ordered)


def _number(value: float) -> str:
    """A count in full (param_count 47,410, not 4.741e+04), anything else to 4 digits."""
    return f"{value:,.0f}" if float(value).is_integer() and abs(value) >= 1000 else f"{value:.4g}"


def run_summary(tracking_uri: str, run_id: str) -> str:
    """One screen on a finished run: status, name, final metrics, ids, store and the UI command."""
    client = MlflowClient(tracking_uri)
    run = client.get_run(run_id)
    experiment = client.get_experiment(run.info.experiment_id)
    # Per-epoch metrics (loss, val_accuracy, ...) are curves: the summary shows the final ones.
    finals = {k: v for k, v in run.data.metrics.items() if k.startswith("test_") or k in HEADLINE_METRICS}
    error = run.data.tags.get(ERROR)
    device = run.data.tags.get(DEVICE)
    return "\n".join(
        [
            f"Run {run.info.status}: {run.info.run_name}",
            f"  {format_metrics(finals)}" if finals else f"  error       {error}",
            *([f"  device      {device}"] if device else []),
            *_where(tracking_uri, experiment.name, experiment.experiment_id, run_id, "run id"),
        ]
    )


def _where(tracking_uri: str, experiment: str, experiment_id: str, run_id: str, label: str) -> list[str]:
    return [
        f"  {label:<11} {run_id}",
        f"  experiment  {experiment} (id {experiment_id})",
        f"  store       {tracking_uri}",
        f"  see runs    {open_command(tracking_uri, experiment, experiment_id)}",
    ]


def study_summary(tracking_uri: str, parent_run_id: str, seconds: float, report: str | None) -> str:
    """The end of a study launch, after its outcome table: the parent run, report and UI command."""
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment(client.get_run(parent_run_id).info.experiment_id)
    lines = [
        f"Study {experiment.name!r} launch took {seconds:.1f} s",
        *_where(tracking_uri, experiment.name, experiment.experiment_id, parent_run_id, "parent run"),
    ]
    if report:
        lines.append(f"  report      {report}")
    return "\n".join(lines)
