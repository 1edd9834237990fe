"""An ablation path's tables as display text: the path, the runner-ups at each step, the runs spent
(``path_findings``), with the plain words under each."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ablab.report.cells import p_value, signed
from ablab.report.detail_cells import Section
from ablab.report.findings import Report
from ablab.report.path_findings import PathFindings
from ablab.stats.path_race import pair_level

_COMPARED = ["n pairs", "Δ [95% CI]", "p (Holm)", "verdict"]
PATH_HEADERS = ["step", "flip chosen", "arm", "vs (previous step)", *_COMPARED, "raced"]
RUNNER_UP_HEADERS = ["step", "flip", "arm", "vs (step's choice)", *_COMPARED, "race"]


def path_sections(report: Report) -> list[Section]:
    """The path table and the runner-ups table, first among the sections."""
    path = report.path
    if path is None:
        return []
    return [
        Section("Ablation path", PATH_HEADERS, path_rows(report, path), path_notes(report, path)),
        Section(
            "Runner-ups at each step", RUNNER_UP_HEADERS, runner_up_rows(report, path), runner_up_notes(path)
        ),
    ]


def path_rows(report: Report, path: PathFindings) -> list[list[str]]:
    unit = report.metric.delta_unit
    rows = []
    for _, row in path.steps.iterrows():
        raced = f"{row['candidates']} candidate(s), {row['dropped']} dropped as worse than the best"
        rows.append(
            [str(row["step"]), row["flip"], row["arm"], row["compared_with"], *_cells(row, unit), raced]
        )
    return rows


def runner_up_rows(report: Report, path: PathFindings) -> list[list[str]]:
    unit = report.metric.delta_unit
    rows = []
    for _, row in path.runner_ups.iterrows():
        cells = [str(row["step"]), row["flip"], row["arm"], row["compared_with"], *_cells(row, unit)]
        rows.append([*cells, row["race"]])
    return rows


def _cells(row: pd.Series, unit: str) -> list[str]:
    if pd.isna(row["delta"]):
        return ["–", "–", "–", str(row["verdict"] or "–")]
    delta = signed(row["delta"]) + (f" {unit}" if unit else "")
    if not pd.isna(row["ci_low"]):
        delta += f" [{signed(row['ci_low'])}, {signed(row['ci_high'])}]"
    return [str(int(row["n_pairs"])), delta, p_value(row["p_holm"]), str(row["verdict"])]


def path_notes(report: Report, path: PathFindings) -> list[str]:
    setup = path.record.setup
    k, alpha = len(setup.keys), report.alpha
    looks = ", ".join(map(str, setup.looks))
    notes = [
        "Each step trains every remaining one-key flip of the current configuration, paired on seeds, "
        "and takes the one with the best mean among the candidates its race kept. Δ: the choice minus "
        "the step before it; Holm across the path's steps (the main table's correction).",
        f"Racing: seeds at each look {looks}. After each look a candidate whose paired t-statistic "
        "against the look's best is at or below the group-sequential boundary (ablab.stats.sequential, "
        f"{setup.spending} spending) is dropped. The best is chosen from the data, so each pair of the m "
        f"candidates is tested at α / (m(m-1)/2) (Bonferroni over all pairs, α = {alpha:g}; "
        f"{pair_level(alpha, k):.3g} at the first step's {k} candidates): the chance of dropping a "
        "candidate as good as the best stays at or below α.",
        f"Runs spent: {path.runs_planned} planned, {path.runs_finished} finished; a path over {k} flips "
        f"runs at most {path.runs_at_most}, a full ladder over all orders needs every one of the 2^{k} "
        f"configurations: {path.full_ladder_runs} runs at the same seeds.",
        "A flip is judged in the configuration the path has reached: an option that only means something "
        "with another is the builder's business (the path does not know dependencies).",
    ]
    if not path.complete:
        notes.append(
            f"The path stopped at step {len(path.record.decided) + 1} of {k}: runs are missing (a launch "
            "killed or failed); launch the study again to resume it."
        )
    return notes


def runner_up_notes(path: PathFindings) -> list[str]:
    return [
        "Every candidate the path did not take, compared with its step's choice (Δ = runner-up minus the "
        "choice, paired on common seeds; Holm across the runner-ups). 'dropped early': its race stopped "
        "giving it seeds once it was decided worse than the step's best; 'decided worse': so at the "
        "race's last look; 'kept to the end': never decided worse. The race's test is stricter than the "
        "verdict's (α split over every pair of the step's candidates, at the sequential boundary, "
        "against Holm over the runner-ups), so a runner-up can be 'worse' here and still kept by its race."
    ]


def write_path_csv(path: PathFindings, table_path: Path) -> None:
    """``path_steps.csv`` and ``path_runner_ups.csv`` beside the main table."""
    path.steps.to_csv(table_path.with_name("path_steps.csv"), index=False)
    path.runner_ups.to_csv(table_path.with_name("path_runner_ups.csv"), index=False)
