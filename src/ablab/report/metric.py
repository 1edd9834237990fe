"""The compared metric: which one, read how (final value, last or best epoch), which way is better."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.errors import MetricNotFound
from ablab.report.read import metric_histories
from ablab.tracking.tags import DIRECTION, METRIC

EPOCH_CHOICES = ("last", "best")
DEFAULT_METRIC = "test_accuracy"
DEFAULT_FRACTION_MARGIN = 0.01  # study.margin's default for accuracies: ±1 percentage point
DEFAULT_RELATIVE_MARGIN = 0.01  # ... and for other metrics: ±1% of the reference mean
# Metric names containing one of these are better when lower; everything else when higher.
LOWER_IS_BETTER_HINTS = ("loss", "error", "seconds", "time", "param_count")


@dataclass(frozen=True)
class MetricChoice:
    name: str
    epoch: str | None  # None: a final metric (one value per run); else "last" or "best" epoch
    higher_is_better: bool
    fraction: bool  # a 0..1 score: differences are shown in percentage points

    @property
    def label(self) -> str:
        return self.name if self.epoch is None else f"{self.name} ({self.epoch} epoch)"

    @property
    def delta_unit(self) -> str:
        return "pp" if self.fraction else ""

    def default_margin(self, reference_mean: float) -> float:
        """The equivalence margin when the study sets none: 1 percentage point for a 0..1 score,
        else 1% of the reference arm's mean (NaN when that is 0 or unknown)."""
        if self.fraction:
            return DEFAULT_FRACTION_MARGIN
        margin = abs(reference_mean) * DEFAULT_RELATIVE_MARGIN
        return margin if margin > 0 else float("nan")


def study_metric(parent_tags: Mapping[str, str]) -> tuple[str, bool | None]:
    """The metric a study compares and its direction, as recorded on its parent run (ablab.metric,
    ablab.direction); test_accuracy and None (the name decides) when the study recorded none."""
    direction = parent_tags.get(DIRECTION)
    higher_is_better = None if direction not in ("maximize", "minimize") else direction == "maximize"
    return parent_tags.get(METRIC) or DEFAULT_METRIC, higher_is_better


def launch_scores(
    client: MlflowClient, finished: pd.DataFrame, parent_tags: Mapping[str, str]
) -> tuple[MetricChoice, pd.DataFrame]:
    """A launch's finished runs scored on the metric its study recorded (``study_metric``): the
    choice, and one row per run (arm, seed, value)."""
    metric, higher_is_better = study_metric(parent_tags)
    choice, values = choose_metric(client, finished, metric, None, higher_is_better)
    runs = pd.DataFrame({"arm": finished["arm"], "seed": finished["seed"], "value": values.astype(float)})
    return choice, runs


def logged_metrics(finished: pd.DataFrame) -> list[str]:
    return sorted(
        column.removeprefix("metrics.")
        for column in finished.columns
        if column.startswith("metrics.") and finished[column].notna().any()
    )


def choose_metric(
    client: MlflowClient,
    finished: pd.DataFrame,
    name: str,
    epoch: str | None = None,
    higher_is_better: bool | None = None,
) -> tuple[MetricChoice, pd.Series]:
    """The metric's value for each finished run (indexed like ``finished``), and how to read it.

    Raises MetricNotFound when no finished run logged ``name``, or ``epoch`` asks for an epoch
    of a metric that is logged once per run.
    """
    if epoch is not None and epoch not in EPOCH_CHOICES:
        raise MetricNotFound(f"epoch must be one of {', '.join(EPOCH_CHOICES)}, got {epoch!r}.")
    if higher_is_better is None:
        higher_is_better = not any(hint in name for hint in LOWER_IS_BETTER_HINTS)
    if finished.empty:  # nothing logged yet: nothing to check the name against
        choice = MetricChoice(name, epoch, higher_is_better, "accuracy" in name)
        return choice, pd.Series(dtype=float)
    logged = logged_metrics(finished)
    if name not in logged:
        raise MetricNotFound(
            f"metric {name!r} is not logged by this study's runs. Logged: {', '.join(logged)}."
        )
    history = metric_histories(client, finished["run_id"], [name])
    per_epoch = bool((history["step"] >= 1).any())
    if not per_epoch:
        if epoch == "best":
            raise MetricNotFound(
                f"metric {name!r} is logged once per run (step 0), so it has no best epoch; "
                "--epoch best applies to per-epoch metrics such as val_accuracy."
            )
        values = finished[f"metrics.{name}"].astype(float)
        epoch = None
    else:
        epoch = epoch or "last"
        values = _per_epoch_values(history, epoch, higher_is_better)
        values = finished["run_id"].map(values).astype(float)
    fraction = "accuracy" in name and bool(values.dropna().between(0, 1).all())
    return MetricChoice(name, epoch, higher_is_better, fraction), values


def _per_epoch_values(history: pd.DataFrame, epoch: str, higher_is_better: bool) -> pd.Series:
    """Per run: the value at the last epoch, or the best over epochs (max, or min for losses)."""
    curves = history[history["step"] >= 1]
    if epoch == "last":
        return curves.sort_values("step", kind="stable").groupby("run_id")["value"].last()
    grouped = curves.groupby("run_id")["value"]
    return grouped.max() if higher_is_better else grouped.min()
