"""The ablation table: per arm, the metric's mean ± std and its difference from the arm it is compared with.

Pairs are matched by seed (paired t-test) when both arms share at least two seeds, else
Welch's t-test; p-values are Holm-corrected across the table's comparisons. Each comparison
also gets the statistics of ``effects`` (effect size, permutation test, TOST, power), and a
verdict: better / worse (t-test, Holm) / equivalent (TOST within ±margin, Holm) / inconclusive.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ablab.stats.convergence import CONVERGENCE_COLUMNS
from ablab.stats.effects import Effects, independent_effects, paired_effects

ALPHA = 0.05
CONFIDENCE = 0.95
EFFECT_COLUMNS = list(Effects.__dataclass_fields__)
SCALED_COLUMNS = ["delta", "ci_low", "ci_high", "margin", "mde"]  # in the metric's (display) units
TABLE_COLUMNS = [
    "arm",
    "reference",
    "compared_with",
    "changed",
    "n_finished",
    "n_planned",
    "mean",
    "std",
    "test",
    "n_pairs",
    "delta",
    "ci_low",
    "ci_high",
    "relative_delta",
    "p_value",
    "p_holm",
    "margin",
    *EFFECT_COLUMNS,
    "p_tost_holm",
    "verdict",
    *CONVERGENCE_COLUMNS,
]


@dataclass(frozen=True)
class Comparison:
    """One arm against the reference, in the metric's units (delta = arm - reference)."""

    test: str  # "paired t-test", "Welch t-test" or "none"
    n_pairs: int
    delta: float
    ci_low: float
    ci_high: float
    p_value: float
    reference_mean: float  # the reference mean the delta is measured from (paired: common seeds)


# Keras logs float32 scores, an ensemble's vote is scored in float64: the same 100/1000 reads
# 0.1000000015 and 0.1. Pairs closer than this (relative) are the same value, not a difference
# of sd 0 that a t-test would call infinitely significant.
SAME_VALUE_RTOL = 1e-6


def welch(a: np.ndarray, b: np.ndarray):
    """Welch's two-sample t-test (unequal variances): scipy's result, with its confidence interval."""
    return stats.ttest_ind(np.asarray(a, float), np.asarray(b, float), equal_var=False)


def common_seeds(arm: pd.Series, reference: pd.Series) -> pd.Index:
    return arm.dropna().index.intersection(reference.dropna().index).sort_values()


def compare(arm: pd.Series, reference: pd.Series, confidence: float = CONFIDENCE) -> Comparison:
    """Arm vs reference, both Series of metric values indexed by seed."""
    arm, reference = arm.dropna(), reference.dropna()
    common = common_seeds(arm, reference)
    nan = float("nan")
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # identical values: scipy warns, returns nan/inf
        if len(common) >= 2:
            a, r = arm.loc[common].to_numpy(float), reference.loc[common].to_numpy(float)
            a = np.where(np.isclose(a, r, rtol=SAME_VALUE_RTOL, atol=0.0), r, a)
            result = stats.ttest_rel(a, r)
            ci = result.confidence_interval(confidence)
            return Comparison(
                "paired t-test",
                len(common),
                float(np.mean(a - r)),
                float(ci.low),
                float(ci.high),
                float(result.pvalue),
                float(np.mean(r)),
            )
        if len(arm) >= 2 and len(reference) >= 2:
            result = welch(arm.to_numpy(float), reference.to_numpy(float))
            ci = result.confidence_interval(confidence)
            return Comparison(
                "Welch t-test",
                0,
                float(arm.mean() - reference.mean()),
                float(ci.low),
                float(ci.high),
                float(result.pvalue),
                float(reference.mean()),
            )
    delta = float(arm.mean() - reference.mean()) if len(arm) and len(reference) else nan
    return Comparison(
        "none", len(common), delta, nan, nan, nan, float(reference.mean()) if len(reference) else nan
    )


def holm(p_values: list[float] | np.ndarray) -> np.ndarray:
    """Holm–Bonferroni adjusted p-values (NaN stays NaN and does not count towards m)."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full_like(p, np.nan)
    valid = ~np.isnan(p)
    m = int(valid.sum())
    if m == 0:
        return adjusted
    order = np.argsort(p[valid], kind="stable")
    stepped = p[valid][order] * (m - np.arange(m))
    stepped = np.minimum(np.maximum.accumulate(stepped), 1.0)
    in_place = np.empty(m)
    in_place[order] = stepped
    adjusted[valid] = in_place
    return adjusted


def effects_of(
    arm: pd.Series, reference: pd.Series, test: str, margin: float, alpha: float, higher_is_better: bool
) -> Effects | None:
    """The effects for the pairs ``compare`` used (common seeds when paired), None when untested."""
    arm, reference = arm.dropna(), reference.dropna()
    if test == "paired t-test":
        common = common_seeds(arm, reference)
        a, r = arm.loc[common].to_numpy(float), reference.loc[common].to_numpy(float)
        return paired_effects(a, r, margin, alpha, higher_is_better)
    if test == "Welch t-test":
        a, r = arm.to_numpy(float), reference.to_numpy(float)
        return independent_effects(a, r, margin, alpha, higher_is_better)
    return None


def verdict(row: pd.Series, higher_is_better: bool, alpha: float = ALPHA) -> str:
    """better / worse when the Holm-adjusted t-test says so, equivalent when the Holm-adjusted
    TOST puts Δ within ±margin, else inconclusive (nothing detected, nothing shown equivalent)."""
    if row["reference"]:
        return "reference"
    if row["n_finished"] == 0:
        return "no finished runs"
    if row["test"] == "none":
        return "no reference runs" if np.isnan(row["delta"]) else "n=1: no CI possible"
    if np.isnan(row["p_holm"]):
        return "no test (identical values)"
    if row["p_holm"] < alpha:
        return "better" if (row["delta"] > 0) == higher_is_better else "worse"
    if row["p_tost_holm"] < alpha:
        return "equivalent"
    return "inconclusive"


def changed_text(changed: dict) -> str:
    """``{"activation": ["sigmoid", "relu"]}`` -> ``activation: sigmoid → relu``."""
    parts = []
    for key, change in changed.items():
        if isinstance(change, list | tuple) and len(change) == 2:
            parts.append(f"{key}: {change[0]} → {change[1]}")
        else:
            parts.append(f"{key}: {change}")
    return "; ".join(parts)


def _changes_over(plan: pd.DataFrame, arm: str, other: str | None) -> dict:
    """The arm's changes from the baseline; with ``other`` (a ladder's previous step) only those
    ``other`` does not already make."""
    first = plan.drop_duplicates("arm").set_index("arm")["changed"]
    changed = dict(first.get(arm) or {})
    already = dict(first.get(other) or {}) if other else {}
    return {key: change for key, change in changed.items() if already.get(key) != change}


def ablation_table(
    values: pd.DataFrame,
    plan: pd.DataFrame,
    arms: list[str],
    reference_arm: str,
    scale: float = 1.0,
    higher_is_better: bool = True,
    alpha: float = ALPHA,
    margin: float = float("nan"),
    compared_with: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """One row per arm, in ``arms`` order; TABLE_COLUMNS.

    ``values``: one row per finished run with columns arm, seed, value and CONVERGENCE_COLUMNS.
    Each arm is compared with ``compared_with[arm]`` (default: the reference arm; a ladder
    compares each step with the one before). ``margin`` is the equivalence margin in the
    metric's units. SCALED_COLUMNS are multiplied by ``scale`` (100: percentage points);
    relative_delta is a fraction of the compared arm's mean.
    """
    compared_with = dict(compared_with or {})
    by_arm = {arm: group.set_index("seed")["value"].dropna() for arm, group in values.groupby("arm")}
    empty = pd.Series(dtype=float)
    rows = []
    for arm in arms:
        own = by_arm.get(arm, empty)
        jobs = plan[plan["arm"] == arm]
        row = {
            "arm": arm,
            "reference": arm == reference_arm,
            "compared_with": "" if arm == reference_arm else compared_with.get(arm, reference_arm),
            "changed": changed_text(_changes_over(plan, arm, compared_with.get(arm))),
            "n_finished": len(own),
            "n_planned": len(jobs),
            "mean": own.mean() if len(own) else np.nan,
            "std": own.std(ddof=1) if len(own) >= 2 else np.nan,
            "margin": margin,
            "test": "",
            "n_pairs": 0,
        }
        if arm != reference_arm:
            other = by_arm.get(row["compared_with"], empty)
            result = compare(own, other)
            found = effects_of(own, other, result.test, margin, alpha, higher_is_better)
            row.update(
                test=result.test,
                n_pairs=result.n_pairs,
                delta=result.delta,
                ci_low=result.ci_low,
                ci_high=result.ci_high,
                relative_delta=result.delta / result.reference_mean if result.reference_mean else np.nan,
                p_value=result.p_value,
                **(asdict(found) if found else {}),
            )
        arm_runs = values[values["arm"] == arm]
        row.update({column: arm_runs[column].mean() for column in CONVERGENCE_COLUMNS})
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=TABLE_COLUMNS)
    table = table.astype({"reference": bool, "n_finished": int, "n_planned": int, "n_pairs": int})
    for column in SCALED_COLUMNS:
        table[column] = table[column].astype(float) * scale
    table["p_holm"] = holm(table["p_value"].to_numpy(float))
    table["p_tost_holm"] = holm(table["p_tost"].to_numpy(float))
    table["verdict"] = [verdict(row, higher_is_better, alpha) for _, row in table.iterrows()]
    return table
