"""Everything a report says about one study launch, computed once and rendered many ways."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.report.classes import class_counts
from ablab.report.curves import read_curves
from ablab.report.degenerate import (
    Degenerate,
    degenerate_notes,
    find_degenerate,
    without_meaningless_effects,
)
from ablab.report.digests import check_same_data
from ablab.report.launch_record import Launch, recorded_schedule
from ablab.report.metric import MetricChoice, choose_metric, study_metric
from ablab.report.path_findings import PathFindings, path_findings, path_note, read_path
from ablab.report.screening import fractional_findings
from ablab.stats.comparisons import ALPHA, ablation_table
from ablab.stats.convergence import AUC_NOTE, CONVERGENCE_COLUMNS, convergence_by_run
from ablab.stats.factorial import Factorial, factorial_anova
from ablab.stats.screening import Screening
from ablab.stats.sequential import arm_decisions
from ablab.tracking.tags import ENGINE, MARGIN, tag_column


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
    margin: float = float("nan")  # the equivalence margin, in the metric's units
    baseline_table: pd.DataFrame | None = None  # ladder: each step vs the baseline (table: vs previous)
    factorial: Factorial | None = None  # factorial design: main effects and interactions
    seed_decisions: pd.DataFrame | None = None  # adaptive seeds: per arm, seeds run and why it stopped
    degenerate: dict[str, Degenerate] = field(default_factory=dict)  # arms at chance or with zero spread
    path: PathFindings | None = None  # design path: the path, its runner-ups, the runs spent
    screening: Screening | None = None  # fractional design: main effects, estimable interactions, aliases
    confirmation: pd.DataFrame | None = None  # fractional + study.confirm: the ofat round vs the reference

    @property
    def n_finished(self) -> int:
        return len(self.launch.finished)

    @property
    def n_planned(self) -> int:
        return len(self.launch.plan)


def summarise(
    client: MlflowClient,
    launch: Launch,
    metric: str | None = None,
    epoch: str | None = None,
    higher_is_better: bool | None = None,
    alpha: float = ALPHA,
    margin: float | None = None,
) -> Report:
    """The report of ``launch``. ``metric``, ``higher_is_better`` and ``margin`` default to what
    the study recorded on its parent run (ablab.metric, ablab.direction, ablab.margin), else to
    test_accuracy, the metric name's usual direction and ``MetricChoice.default_margin``."""
    check_same_data(client, launch)  # runs compared with one another trained on the same data
    tags = launch.parent_tags
    recorded_metric, recorded_direction = study_metric(tags)
    metric = metric or recorded_metric
    higher_is_better = recorded_direction if higher_is_better is None else higher_is_better
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
    if margin is None:
        margin = recorded_margin(tags) or choice.default_margin(
            runs.loc[runs["arm"] == launch.reference_arm, "value"].mean()
        )

    def compare_arms(compared_with: dict[str, str], arms: list[str] | None = None) -> pd.DataFrame:
        return ablation_table(
            runs,
            launch.plan,
            launch.arms if arms is None else arms,
            launch.reference_arm,
            scale=100.0 if choice.fraction else 1.0,
            higher_is_better=choice.higher_is_better,
            alpha=alpha,
            margin=margin,
            compared_with=compared_with,
        )

    steps = previous_steps(launch)
    path = read_path(launch, runs, alpha, choice.higher_is_better)
    table = compare_arms(path.compared_with, path.path_arms) if path else compare_arms(steps)
    schedule = recorded_schedule(tags)
    decisions = None
    if schedule is not None and path is None:  # a path's races are its own (report.path)
        # Seeds added until decided: the group-sequential decision is the verdict, not a fresh t-test.
        decisions = arm_decisions(
            runs, launch.arms, launch.reference_arm, schedule, alpha, margin, choice.higher_is_better
        )
        sequential = decisions.set_index("arm")["outcome"]
        compared = ~table["reference"] & table["arm"].isin(sequential.index)
        table.loc[compared, "verdict"] = table.loc[compared, "arm"].map(sequential)
    curves = curves.merge(runs[["run_id", "arm"]], on="run_id")
    degenerate = find_degenerate(table, class_counts(client, finished), choice)
    table = without_meaningless_effects(table, degenerate)
    baseline_table = without_meaningless_effects(compare_arms({}), degenerate) if steps else None
    screening, confirmation = fractional_findings(launch, runs, choice, alpha, compare_arms)
    return Report(
        launch=launch,
        metric=choice,
        table=table,
        runs=runs,
        curves=curves,
        tracking_uri=client.tracking_uri,
        created=datetime.now().astimezone(),
        alpha=alpha,
        notes=degenerate_notes(degenerate, choice.label) + _notes(launch, choice, table, runs, alpha),
        margin=margin,
        baseline_table=baseline_table,
        factorial=factorial_anova(runs, launch.plan) if launch.design == "factorial" else None,
        seed_decisions=decisions,
        degenerate=degenerate,
        path=path_findings(path, table, launch, compare_arms) if path else None,
        screening=screening,
        confirmation=confirmation,
    )


def _margin_text(choice: MetricChoice, table: pd.DataFrame) -> str:
    margin = table["margin"].iloc[0] if len(table) else float("nan")
    return f"{margin:.4g} {choice.delta_unit or 'metric units'} (study.margin)"


def previous_steps(launch: Launch) -> dict[str, str]:
    """A ladder's primary question: what each step added over the step before it."""
    if launch.design != "ladder":
        return {}
    return {arm: previous for previous, arm in zip(launch.arms, launch.arms[1:], strict=False)}


def recorded_margin(tags: dict[str, str]) -> float | None:
    try:
        return float(tags[MARGIN]) if tags.get(MARGIN) not in (None, "", "None") else None
    except ValueError:
        return None


def _notes(
    launch: Launch, choice: MetricChoice, table: pd.DataFrame, runs: pd.DataFrame, alpha: float
) -> list[str]:
    """How to read the table, in plain words, only for what this table shows."""
    compared = table[~table["reference"]]
    unit = "percentage points (pp)" if choice.fraction else "the metric's units"
    notes = [
        f"{choice.label}: mean ± standard deviation over seeds (ddof=1); "
        f"{'higher' if choice.higher_is_better else 'lower'} is better.",
        (
            path_note(unit)
            if launch.design == "path"
            else f"Ladder: each step is compared with the step before it (Δ = step minus previous step, in "
            f"{unit}), so Δ is what that step added; the second table compares each step with "
            f"{launch.reference_arm}."
            if launch.design == "ladder"
            else f"Δ = arm minus {launch.reference_arm}, in {unit}, with a 95% confidence interval "
            "(t-interval); relative Δ (details) is Δ divided by the compared arm's mean."
        ),
    ]
    tested = int(compared["p_value"].notna().sum())
    if tested:
        notes += [
            "p: paired t-test (pairs matched by seed, scipy.stats.ttest_rel) when both arms finished at "
            "least 2 common seeds; otherwise Welch's t-test (unequal variances, Welch–Satterthwaite df).",
            f"p (Holm): Holm–Bonferroni correction across the table's {tested} comparison(s). Verdict: "
            f"'better' or 'worse' when p (Holm) < α = {alpha:g}; else 'equivalent' when the "
            f"equivalence test (TOST, Holm-corrected) puts Δ within ±{_margin_text(choice, table)}; "
            "else 'inconclusive' (no difference detected, none shown equivalent either).",
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
        f"The runs were trained by different engines ({which}): a model with its own train_step falls "
        "back to Keras, or the arms asked for different engines. The engines agree within seed noise "
        "(benchmarks/study_speed.py), but their "
        "per-epoch shuffles differ, so a Δ across engines also carries that difference."
    ]
