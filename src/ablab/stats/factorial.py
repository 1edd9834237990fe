"""A factorial study's main effects and interactions: repeated-measures ANOVA with seeds as blocks.

Every arm of a factorial study is one cell (one level per factor) and every seed runs every
cell, so the seed is the block (statsmodels' AnovaRM ``subject``). Only seeds that finished
every cell enter: AnovaRM needs a balanced design.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from statsmodels.stats.anova import AnovaRM

ANOVA_COLUMNS = ["effect", "f_value", "df_effect", "df_error", "p_value", "partial_eta_sq"]


@dataclass(frozen=True)
class Factorial:
    anova: pd.DataFrame  # ANOVA_COLUMNS, one row per main effect and interaction
    cell_means: pd.DataFrame  # one row per arm: the factors' levels, mean, std, n
    factors: list[str]
    seeds_used: list[int]
    seeds_left_out: list[int]  # seeds missing a cell


def factor_levels(plan: pd.DataFrame) -> pd.DataFrame:
    """One row per arm, one column per factor: the level the arm runs (text)."""
    first = plan.drop_duplicates("arm").set_index("arm")["changed"]
    factors = list(dict.fromkeys(key for changed in first for key in changed))
    baseline = {key: str(changed[key][0]) for changed in first for key in changed}
    levels = {
        arm: {key: str(changed[key][1]) if key in changed else baseline[key] for key in factors}
        for arm, changed in first.items()
    }
    return pd.DataFrame.from_dict(levels, orient="index", columns=factors)


def factorial_anova(runs: pd.DataFrame, plan: pd.DataFrame) -> Factorial | None:
    """``runs``: arm, seed, value per finished run. None when fewer than 2 complete seeds."""
    levels = factor_levels(plan)
    factors = list(levels.columns)
    data = runs.dropna(subset=["value"]).join(levels, on="arm")
    cells = data.groupby("seed")["arm"].nunique()
    complete = sorted(int(seed) for seed in cells[cells == len(levels)].index)
    left_out = sorted(int(seed) for seed in cells.index if int(seed) not in complete)
    cell_means = (
        data.groupby("arm", sort=False)["value"].agg(["mean", "std", "count"]).join(levels).reset_index()
    )
    if len(complete) < 2 or not factors:
        return None
    balanced = data[data["seed"].isin(complete)]
    # AnovaRM builds a formula from the column names: give the factors plain names.
    plain = {factor: f"f{number}" for number, factor in enumerate(factors)}
    fitted = AnovaRM(
        balanced.rename(columns=plain), depvar="value", subject="seed", within=list(plain.values())
    ).fit()
    table = fitted.anova_table.reset_index(names="term")
    names = {code: factor for factor, code in plain.items()}
    anova = pd.DataFrame(
        {
            "effect": [" × ".join(names[code] for code in term.split(":")) for term in table["term"]],
            "f_value": table["F Value"],
            "df_effect": table["Num DF"],
            "df_error": table["Den DF"],
            "p_value": table["Pr > F"],
        }
    )
    anova["partial_eta_sq"] = (anova["f_value"] * anova["df_effect"]) / (
        anova["f_value"] * anova["df_effect"] + anova["df_error"]
    )
    return Factorial(anova[ANOVA_COLUMNS], cell_means, factors, complete, left_out)
