"""The report's second-level tables as display text: each comparison's details, a factorial's
ANOVA and cell means, each with the plain-words note that says what was tested."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from ablab.report.cells import ablation_headers, ablation_rows, number, p_value, p_with_test, signed
from ablab.report.findings import Report
from ablab.report.screening_cells import (
    ALIAS_HEADERS,
    alias_notes,
    alias_rows,
    confirmation_notes,
    effect_headers,
    effect_notes,
    effect_rows,
)
from ablab.stats.effects import MIN_BOOTSTRAP_N, POWER

DETAIL_HEADERS = [
    "arm",
    "vs",
    "t-test p",
    "permutation p (smallest possible)",
    "effect size [95% BCa CI]",
    "P(improvement)",
    "relative Δ",
    "TOST p (Holm)",
    "MDE at this n",
    "seeds for margin",
]
ANOVA_HEADERS = ["effect", "F", "df", "p", "partial η²"]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def detail_rows(report: Report, table: pd.DataFrame | None = None) -> list[list[str]]:
    unit = f" {report.metric.delta_unit}" if report.metric.delta_unit else ""
    flat = _flat_arms(report)
    rows = []
    for _, row in (report.table if table is None else table).iterrows():
        if row["reference"] or not row["test"] or row["test"] == "none":
            continue
        rows.append(
            [
                row["arm"],
                row["compared_with"],
                p_with_test(row),
                _permutation(row),
                _effect_size(row, bool({row["arm"], row["compared_with"]} & flat)),
                number(row["p_improvement"], 2),
                "–" if _missing(row["relative_delta"]) else f"{row['relative_delta'] * 100:+.1f}%",
                p_value(row["p_tost_holm"]),
                "–" if _missing(row["mde"]) else f"{row['mde']:.2f}{unit}",
                "–" if _missing(row["seeds_needed"]) else f"{row['seeds_needed']:.0f}",
            ]
        )
    return rows


def _permutation(row: pd.Series) -> str:
    if _missing(row["p_permutation"]):
        return "–"
    return f"{p_value(row['p_permutation'])} ({p_value(row['min_p_permutation'])}, {row['permutation_test']})"


def _flat_arms(report: Report) -> set[str]:
    """Arms that scored the same on every seed (``report.degenerate``)."""
    return {arm for arm, found in report.degenerate.items() if found.zero_spread}


def _effect_size(row: pd.Series, flat: bool = False) -> str:
    if flat:
        return "– (sd 0, see note)"
    if _missing(row["effect_size"]):
        return "–"
    text = f"{row['effect_size_name']} = {signed(row['effect_size'])}"
    if _missing(row["effect_ci_low"]):
        return text + " (no CI)"
    return f"{text} [{signed(row['effect_ci_low'])}, {signed(row['effect_ci_high'])}]"


def detail_notes(report: Report) -> list[str]:
    """What the details table tested, in plain words."""
    alpha = report.alpha
    unit = report.metric.delta_unit or "metric units"
    scale = 100.0 if report.metric.fraction else 1.0
    margin = f"±{report.margin * scale:.4g} {unit}"
    flat = sorted(_flat_arms(report))
    notes = [
        "t-test p: the test behind the verdict (paired by seed, or Welch), before Holm.",
        "Permutation p: a distribution-free check (scipy.stats.permutation_test): an exact sign-flip "
        "test of the paired differences, or an exact relabelling of unpaired runs. In brackets, the "
        f"smallest p it can reach with these n: at 3 seeds 0.25, so it can never go below α = {alpha:g} "
        "there, whatever the effect.",
        "Effect size: d_z = mean / sd of the paired differences, or Hedges' g when unpaired, with a 95% "
        f"BCa bootstrap interval (scipy.stats.bootstrap) from {MIN_BOOTSTRAP_N} values on; below that "
        "a bootstrap interval is far too narrow, so none is shown.",
        "P(improvement): the chance that a run of the arm beats a run of the arm it is compared with "
        "(every pair of runs, ties count half), in the study's direction.",
        f"TOST: two one-sided t-tests (statsmodels) that Δ lies within ±{report.margin * scale:.4g} {unit} "
        "(study.margin), Holm-corrected; below α the arm is 'equivalent'.",
        f"MDE: the smallest |Δ| a two-sided t-test at α = {alpha:g} detects with {POWER:.0%} power at this "
        "n, from the observed spread (statsmodels TTestPower / TTestIndPower).",
        f"Seeds for margin: how many seeds per arm a two-sided t-test at α = {alpha:g} would need to "
        f"detect a true difference as small as the margin ({margin}) with {POWER:.0%} power, from the "
        "observed spread (of the paired differences, or pooled). It sizes a follow-up study about "
        "differences that small, not this arm's result: an arm already 'better' or 'worse' needs no "
        "more seeds to show that.",
    ]
    if flat:
        notes.append(
            f"Effect size '– (sd 0)': {', '.join(flat)} scored the same on every seed, and a standardised "
            "effect size divides by the spread, which is (close to) zero: the number would only measure "
            "the other arm's seed noise, so none is shown."
        )
    return notes


def anova_rows(report: Report) -> list[list[str]]:
    if report.factorial is None:
        return []
    return [
        [
            row["effect"],
            f"{row['f_value']:.3g}",
            f"{row['df_effect']:.0f}, {row['df_error']:.0f}",
            p_value(row["p_value"]),
            number(row["partial_eta_sq"], 3),
        ]
        for _, row in report.factorial.anova.iterrows()
    ]


def cell_mean_headers(report: Report) -> list[str]:
    factors = report.factorial.factors if report.factorial else []
    return ["arm", *factors, f"{report.metric.label} mean", "std", "n"]


def cell_mean_rows(report: Report) -> list[list[str]]:
    if report.factorial is None:
        return []
    factors = report.factorial.factors
    return [
        [
            row["arm"],
            *(str(row[factor]) for factor in factors),
            number(row["mean"]),
            number(row["std"]),
            str(row["count"]),
        ]
        for _, row in report.factorial.cell_means.iterrows()
    ]


def anova_notes(report: Report) -> list[str]:
    factorial = report.factorial
    if factorial is None:
        return ["No ANOVA: it needs at least 2 seeds that finished every cell of the design."]
    notes = [
        "Repeated-measures ANOVA (statsmodels AnovaRM) with seeds as blocks: one F-test per main "
        "effect and per interaction (A × B: does A's effect depend on B's level?). partial η² = "
        "F·df / (F·df + df_error). Not Holm-corrected.",
        f"Seeds used: {', '.join(map(str, factorial.seeds_used))} (each finished every cell).",
    ]
    if factorial.seeds_left_out:
        notes.append(
            f"Seeds left out (a cell did not finish): {', '.join(map(str, factorial.seeds_left_out))}."
        )
    return notes


@dataclass(frozen=True)
class Section:
    """A table after the main one: its title, cells and the plain words under it."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str]


def sections(report: Report) -> list[Section]:
    """The report's tables after the main one, in reading order (only those with rows)."""
    found = []
    if report.path is not None:
        from ablab.report.path_cells import path_sections  # it builds on Section

        found += path_sections(report)
    if report.baseline_table is not None:
        reference = report.launch.reference_arm
        found.append(
            Section(
                f"Each step vs {reference}",
                ablation_headers(report, report.baseline_table),
                ablation_rows(report, report.baseline_table),
                [
                    f"The same steps, each compared with {reference}: the cumulative effect of every change "
                    "up to that step. Same tests, Holm-corrected across this table's comparisons."
                ],
            )
        )
    if report.seed_decisions is not None:
        found.append(_seed_section(report.seed_decisions))
    found.append(Section("Comparison details", DETAIL_HEADERS, detail_rows(report), detail_notes(report)))
    if report.launch.design == "factorial":
        found.append(
            Section("Main effects and interactions", ANOVA_HEADERS, anova_rows(report), anova_notes(report))
        )
        found.append(
            Section(
                "Cell means",
                cell_mean_headers(report),
                cell_mean_rows(report),
                ["Mean and standard deviation over every finished seed of each cell (arm)."],
            )
        )
    if report.launch.design == "fractional":
        found += _screening_sections(report)
    return [section for section in found if section.rows]


def _screening_sections(report: Report) -> list[Section]:
    """A fractional launch's effects, aliases and confirmation round (ablab.report.screening_cells)."""
    sections = [
        Section("Screening: effects", effect_headers(report), effect_rows(report), effect_notes(report)),
        Section("Aliases", ALIAS_HEADERS, alias_rows(report), alias_notes(report)),
    ]
    if report.confirmation is not None:
        table = report.confirmation
        rows = ablation_rows(report, table)
        sections.append(
            Section("Confirmation (ofat)", ablation_headers(report, table), rows, confirmation_notes(report))
        )
    return sections


SEED_NOTE = (
    "The study added seeds in rounds (the study.seeds schedule), only to arms still undecided. The "
    "verdicts are the group-sequential test's (ablab.stats.sequential): at each look a paired t-test "
    "(better/worse) and TOST (equivalent) against a boundary from an alpha-spending function, with α "
    "split over the compared arms (Bonferroni), so the repeated looks do not inflate false positives. "
    "'running': undecided below the maximum (the study stopped early)."
)


def _seed_section(decisions: pd.DataFrame) -> Section:
    rows = [[row["arm"], str(row["seeds"]), row["outcome"], row["reason"]] for _, row in decisions.iterrows()]
    return Section(
        "Adaptive seeds: seeds per arm and why each arm stopped",
        ["arm", "seeds", "verdict", "why it stopped"],
        rows,
        [SEED_NOTE],
    )
