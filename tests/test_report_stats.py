"""The statistics, checked against hand computations (formulas written out here, or literal numbers)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import t as student_t

from ablab.stats.comparisons import ablation_table, compare, holm
from ablab.stats.convergence import curve_summary


def test_holm_on_a_known_example() -> None:
    # Sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> monotone: 0.06.
    adjusted = holm([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_skips_missing_p_values() -> None:
    adjusted = holm([0.2, float("nan"), 0.6])
    assert adjusted[0] == pytest.approx(0.4) and math.isnan(adjusted[1]) and adjusted[2] == pytest.approx(0.6)
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]).size == 0


def test_paired_comparison_matches_the_t_interval_of_differences() -> None:
    reference = pd.Series({0: 0.20, 1: 0.22, 2: 0.25})
    arm = pd.Series({0: 0.40, 1: 0.43, 2: 0.41})
    # Differences 0.20, 0.21, 0.16: mean 0.19, sd sqrt(0.0007), se sd/sqrt(3), df 2.
    se = math.sqrt(0.0007) / math.sqrt(3)
    half = student_t.ppf(0.975, 2) * se
    result = compare(arm, reference)
    assert result.test == "paired t-test" and result.n_pairs == 3
    assert result.delta == pytest.approx(0.19)
    assert (result.ci_low, result.ci_high) == pytest.approx((0.19 - half, 0.19 + half))
    assert (result.ci_low, result.ci_high) == pytest.approx((0.1242759, 0.2557241), abs=1e-7)
    assert result.p_value == pytest.approx(2 * student_t.sf(0.19 / se, 2))
    assert result.p_value == pytest.approx(0.0064015, abs=1e-7)


def test_pairs_are_matched_by_seed_not_by_position() -> None:
    reference = pd.Series({0: 0.20, 1: 0.22, 2: 0.25})
    arm = pd.Series({2: 0.41, 0: 0.40, 1: 0.43})  # same values as above, other order
    assert compare(arm, reference).delta == pytest.approx(0.19)
    assert compare(arm, reference).p_value == pytest.approx(0.0064015, abs=1e-7)


def test_welch_when_fewer_than_two_common_seeds() -> None:
    arm = pd.Series({0: 0.40, 1: 0.43, 2: 0.41})
    reference = pd.Series({3: 0.20, 4: 0.22})
    va, vb = np.var([0.40, 0.43, 0.41], ddof=1) / 3, np.var([0.20, 0.22], ddof=1) / 2
    se = math.sqrt(va + vb)
    df = (va + vb) ** 2 / (va**2 / 2 + vb**2 / 1)  # Welch–Satterthwaite
    delta = np.mean([0.40, 0.43, 0.41]) - 0.21
    result = compare(arm, reference)
    assert result.test == "Welch t-test" and result.n_pairs == 0
    assert result.delta == pytest.approx(delta)
    half = student_t.ppf(0.975, df) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((delta - half, delta + half))
    assert result.p_value == pytest.approx(2 * student_t.sf(delta / se, df))
    assert df == pytest.approx(2.4265403, abs=1e-6)
    assert result.p_value == pytest.approx(0.0018088, abs=1e-7)


def test_a_float32_score_beside_its_float64_twin_is_no_difference() -> None:
    """Both arms at 100/1000 on every seed, one scored in float32: no test, not p = 0."""
    float64 = pd.Series([0.1, 0.1, 0.1], index=[0, 1, 2])
    float32 = pd.Series([float(np.float32(0.1))] * 3, index=[0, 1, 2])
    assert float32.iloc[0] != 0.1
    result = compare(float64, float32)
    assert math.isnan(result.p_value) and result.delta == 0.0
    real = compare(pd.Series([0.1, 0.1, 0.1001], index=[0, 1, 2]), float32)
    assert real.delta == pytest.approx(0.0001 / 3, rel=1e-3) and real.p_value > 0


def test_n_of_one_gives_the_difference_and_no_interval() -> None:
    result = compare(pd.Series({0: 0.92}), pd.Series({0: 0.20, 1: 0.22, 2: 0.25}))
    assert result.test == "none"
    assert result.delta == pytest.approx(0.92 - 0.67 / 3)
    assert all(math.isnan(x) for x in (result.ci_low, result.ci_high, result.p_value))


def test_table_verdicts_use_holm_adjusted_p_and_direction() -> None:
    values = pd.DataFrame(
        [("base", s, v) for s, v in enumerate([0.50, 0.52, 0.51])]
        + [("up", s, v) for s, v in enumerate([0.60, 0.63, 0.61])]
        + [("same", s, v) for s, v in enumerate([0.52, 0.50, 0.52])]
        + [("down", s, v) for s, v in enumerate([0.40, 0.43, 0.40])]
        + [("single", 0, 0.9)],
        columns=["arm", "seed", "value"],
    ).assign(best_val_accuracy=np.nan, epoch_to_90pct_best=np.nan, val_auc=np.nan)
    arms = ["base", "up", "same", "down", "single"]
    plan = pd.DataFrame({"arm": [a for a in arms for _ in range(3)], "changed": [{}] * 15})
    table = ablation_table(values, plan, arms, "base", scale=100.0).set_index("arm")
    assert list(table["verdict"]) == ["reference", "better", "inconclusive", "worse", "n=1: no CI possible"]
    raw = table.loc[["up", "same", "down"], "p_value"].to_numpy()
    assert table.loc[["up", "same", "down"], "p_holm"].to_numpy() == pytest.approx(holm(raw))
    assert table.loc["up", "delta"] == pytest.approx(100 * (np.mean([0.60, 0.63, 0.61]) - 0.51))
    assert table.loc["up", "relative_delta"] == pytest.approx((np.mean([0.60, 0.63, 0.61]) - 0.51) / 0.51)
    assert table.loc["single", "n_finished"] == 1 and table.loc["single", "n_planned"] == 3
    assert math.isnan(table.loc["single", "std"])
    lower = ablation_table(values, plan, arms, "base", higher_is_better=False).set_index("arm")
    assert lower.loc["up", "verdict"] == "worse" and lower.loc["down", "verdict"] == "better"


def test_convergence_summary_of_one_curve() -> None:
    summary = curve_summary(np.array([1, 2, 3, 4]), np.array([0.2, 0.4, 0.5, 0.5]))
    assert summary["best_val_accuracy"] == 0.5
    assert summary["epoch_to_90pct_best"] == 3  # first epoch with >= 0.45
    assert summary["val_auc"] == pytest.approx((0.3 + 0.45 + 0.5) / 3)  # trapezoids / (E - 1)
    assert curve_summary(np.array([1]), np.array([0.7]))["val_auc"] == 0.7
