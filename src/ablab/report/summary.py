"""Everything a report says about one study launch, computed once and rendered many ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.report.convergence import AUC_NOTE, CONVERGENCE_COLUMNS, convergence_by_run, read_curves
from ablab.report.launch import Launch
from ablab.report.metric import MetricChoice, choose_metric
from ablab.report.stats import ALPHA, ablation_table
from ablab.tags import ENGINE, tag_column


@dataclass(frozen=True)
class Report:
    launch: Launch
    metric: MetricChoice
    table: pd.DataFrame  # stats.TABLE_COLUMNS, one row per arm
    runs: pd.DataFrame  # one row per finished run: arm, seed, run_id, value, convergence columns
    curves: pd.DataFrame  # arm, run_id, key, step, value
    tracking_uri: str
    created: datetime
    alpha: float = ALPHA
    notes: list[str] = field(default_factory=list)

    @property
    def n_finished(self) -> int:
        return len(self.launch.finished)

    @property
    def n_planned(self) -> int:
        return len(self.launch.plan)


def summarise(
    client: MlflowClient,
    launch: Launch,
    metric: str = "test_accuracy",
    epoch: str | None = None,
    higher_is_better: bool | None = None,
    alpha: float = ALPHA,
) -> Report:
    choice, values = choose_metric(client, launch.finished, metric, epoch, higher_is_better)
    finished = launch.finished
    if finished.empty:
        curves = pd.DataFrame(columns=["run_id", "key", "step", "value"])
    else:
        curves = read_curves(client, finished["run_id"])
    runs = pd.DataFrame(
        {
            "arm": finished.get("arm", pd.Series(dtype=str)).to_numpy(),
            "seed": finished.get("seed", pd.Series(dtype=int)).to_numpy(),
            "run_id": finished.get("run_id", pd.Series(dtype=str)).to_numpy(),
            "value": values.to_numpy(dtype=float),
        }
    )
    runs = runs.join(convergence_by_run(curves), on="run_id")
    table = ablation_table(
        runs,
        launch.plan,
        launch.arms,
        launch.reference_arm,
        scale=100.0 if choice.fraction else 1.0,
        higher_is_better=choice.higher_is_better,
        alpha=alpha,
    )
    curves = curves.merge(runs[["run_id", "arm"]], on="run_id")
    return Report(
        launch=launch,
        metric=choice,
        table=table,
        runs=runs,
        curves=curves,
        tracking_uri=client.tracking_uri,
        created=datetime.now().astimezone(),
        alpha=alpha,
        notes=_notes(launch, choice, table, runs, alpha),
    )


def _notes(
    launch: Launch, choice: MetricChoice, table: pd.DataFrame, runs: pd.DataFrame, alpha: float
) -> list[str]:
    """How to read the table, in plain words, only for what this table shows."""
    compared = table[~table["reference"]]
    unit = "percentage points (pp)" if choice.fraction else "the metric's units"
    notes = [
        f"{choice.label}: mean ± standard deviation over seeds (ddof=1); "
        f"{'higher' if choice.higher_is_better else 'lower'} is better.",
        f"Δ = arm minus {launch.reference_arm}, in {unit}, with a 95% confidence interval; relative Δ is "
        f"Δ divided by the {launch.reference_arm} mean.",
    ]
    tested = int(compared["p_value"].notna().sum())
    if tested:
        notes += [
            "p: paired t-test (pairs matched by seed, scipy.stats.ttest_rel) when both arms finished at "
            "least 2 common seeds; otherwise Welch's t-test (unequal variances, Welch–Satterthwaite df).",
            f"p (Holm): Holm–Bonferroni correction across the {tested} arm(s) tested against "
            f"{launch.reference_arm}; the verdict is 'better' or 'worse' when it is below α = {alpha:g}, "
            "else 'within noise'.",
        ]
    elif len(compared):
        notes.append("No arm could be tested: a test needs at least 2 finished runs in both arms.")
    if table["n_finished"].eq(1).any():
        notes.append(
            "With n=1 in an arm only the values are shown: no confidence interval or test is possible."
        )
    reference_n = table.loc[table["reference"], "n_finished"].max()
    paired = compared[compared["test"] == "paired t-test"]
    if (paired["n_pairs"] < paired["n_finished"].clip(lower=reference_n)).any():
        notes.append(
            "Where an arm has seeds its reference lacks (or the reverse), "
            "the paired Δ uses the common seeds only."
        )
    missing_values = runs["value"].isna().sum()
    if missing_values:
        notes.append(f"{missing_values} finished run(s) did not log {choice.name} and are left out.")
    if runs[CONVERGENCE_COLUMNS].notna().any().any():
        notes.append(
            "Convergence columns (mean over seeds): best validation accuracy, the first epoch at which "
            "validation accuracy reaches 90% of that run's best, and " + AUC_NOTE
        )
    return notes + _engine_notes(launch.finished) + list(launch.notes)


def _engine_notes(finished: pd.DataFrame) -> list[str]:
    """Which engine (``trainer.engine``) trained the runs; mixed engines are worth a word."""
    engine_column = tag_column(ENGINE)
    if finished.empty or engine_column not in finished:
        return []
    arms_by_engine = finished.groupby(engine_column)["arm"].agg(lambda arms: ", ".join(dict.fromkeys(arms)))
    if len(arms_by_engine) == 1:
        return [f"Every run was trained by the {arms_by_engine.index[0]} engine (trainer.engine)."]
    which = "; ".join(f"{engine}: {arms}" for engine, arms in arms_by_engine.items())
    return [
        f"The runs were trained by different engines ({which}): an option the fused engine lacks falls "
        "back to Keras. The engines agree within seed noise (benchmarks/study_speed.py), but their "
        "per-epoch shuffles differ, so a Δ across engines also carries that difference."
    ]
