"""The report's tables as plain display text (not escaped): shared by every renderer."""

from __future__ import annotations

import math

import pandas as pd

from ablab.report.findings import Report


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def number(value: float, digits: int = 4) -> str:
    return "–" if _missing(value) else f"{value:.{digits}f}"


def metric_value(value: float, fraction: bool) -> str:
    """A metric's value: 4 decimals for 0..1 scores, 4 significant digits (or whole) otherwise."""
    if _missing(value):
        return "–"
    if fraction:
        return f"{value:.4f}"
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def signed(value: float, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{value:+.{digits}f}"


def p_value(value: float) -> str:
    if _missing(value):
        return "–"
    return f"{value:.4f}" if value >= 0.0001 else f"{value:.1e}"


def epoch(value: float) -> str:
    if _missing(value):
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def ablation_headers(report: Report, table: pd.DataFrame | None = None) -> list[str]:
    """The main table's headers; ``table`` (default: the report's) decides what Δ is against."""
    table = report.table if table is None else table
    unit = f" ({report.metric.delta_unit})" if report.metric.delta_unit else ""
    compared = set(table.loc[~table["reference"], "compared_with"])
    against = report.launch.reference_arm if compared <= {report.launch.reference_arm} else "previous step"
    return [
        "arm",
        "changed",
        "n",
        f"{report.metric.label} mean ± std",
        f"Δ vs {against}{unit} [95% CI]",
        "p (Holm)",
        "verdict",
        "best val acc",
        "epoch to 90% of best",
        "mean val accuracy (curve area)",
    ]


def ablation_rows(report: Report, table: pd.DataFrame | None = None) -> list[list[str]]:
    fraction = report.metric.fraction
    rows = []
    for _, row in (report.table if table is None else table).iterrows():
        spread = f" ± {metric_value(row['std'], fraction)}" if not _missing(row["std"]) else ""
        mean = "–" if _missing(row["mean"]) else metric_value(row["mean"], fraction) + spread
        if row["n_finished"] == 1:
            mean += " (n=1)"
        rows.append(
            [
                row["arm"] + (" (reference)" if row["reference"] else ""),
                row["changed"] or "—",
                f"{row['n_finished']}/{row['n_planned']}",
                mean,
                _delta(row, report.metric.delta_unit),
                p_value(row["p_holm"]),
                row["verdict"],
                number(row["best_val_accuracy"]),
                "–" if _at_chance(report, row["arm"]) else epoch(row["epoch_to_90pct_best"]),
                number(row["val_auc"]),
            ]
        )
    return rows


def _at_chance(report: Report, arm: str) -> bool:
    """A flat curve at chance "reaches" 90% of its best at epoch 1: that cell would look fastest."""
    found = report.degenerate.get(arm)
    return found is not None and found.at_chance


def _delta(row: pd.Series, unit: str) -> str:
    if row["reference"] or _missing(row["delta"]):
        return "—" if row["reference"] else "–"
    text = signed(row["delta"]) + (f" {unit}" if unit else "")
    if _missing(row["ci_low"]):
        return text + " (no CI)"
    return f"{text} [{signed(row['ci_low'])}, {signed(row['ci_high'])}]"


def p_with_test(row: pd.Series) -> str:
    if row["test"] == "paired t-test":
        return f"{p_value(row['p_value'])} (paired, {row['n_pairs']} seeds)"
    if row["test"] == "Welch t-test":
        return f"{p_value(row['p_value'])} (Welch)"
    return "–"


UNFINISHED_HEADERS = ["arm", "seed", "status", "attempts", "run id", "error"]


def unfinished_rows(report: Report) -> list[list[str]]:
    rows = []
    for _, job in report.launch.unfinished.iterrows():
        status = "diverged (FAILED)" if job["diverged"] else str(job["status"])
        rows.append(
            [
                str(job["arm"]),
                str(job["seed"]),
                status,
                str(job["attempts"]),
                _text(job["run_id"]) or "–",
                _clip(_text(job["error"])),
            ]
        )
    return rows


def _text(value: object) -> str:
    """A cell that may be missing (None or NaN in a pandas column) as text."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)


def _clip(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_counts(report: Report) -> str:
    unfinished = report.launch.unfinished
    failed = unfinished["status"].isin(["FAILED", "KILLED"])
    diverged = unfinished["diverged"].astype(bool)
    not_run = unfinished["status"] == "not run"
    other = len(unfinished) - int(failed.sum()) - int(not_run.sum())
    text = (
        f"{report.n_finished} of {report.n_planned} planned runs finished; "
        f"{int(failed.sum())} failed or killed ({int(diverged.sum())} diverged), {int(not_run.sum())} not run"
    )
    return text + (f", {other} still running or scheduled" if other else "")


def headline(report: Report) -> list[tuple[str, str]]:
    """(label, value) lines at the top of every rendering."""
    launch = report.launch
    direction = "higher" if report.metric.higher_is_better else "lower"
    return [
        (
            "Study launch",
            f"{launch.parent_run_id} ({launch.design} design), started "
            f"{launch.start_time:%Y-%m-%d %H:%M} UTC, experiment {launch.experiment_name}",
        ),
        (
            "Metric",
            f"{report.metric.label} ({direction} is better), compared with arm {launch.reference_arm}",
        ),
        ("Runs", run_counts(report)),
        ("Source", f"{report.tracking_uri}, report made {report.created:%Y-%m-%d %H:%M:%S %Z}"),
    ]


def empty_message(report: Report) -> str | None:
    """What to say instead of statistics when nothing has finished."""
    if report.n_planned == 0:
        return "This study launch planned no runs: there is nothing to report."
    if report.n_finished == 0:
        return (
            f"No finished runs yet: 0 of {report.n_planned} planned runs have finished, "
            "so there is nothing to compare. The planned arms and the runs that did not finish "
            "are listed below."
        )
    return None
