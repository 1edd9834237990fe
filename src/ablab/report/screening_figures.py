"""A fractional screening's main-effects plot: per factor, the mean at its baseline option and at
its alternative, each over every arm of the fraction at that level (a balanced half of them)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from ablab.report.figures import plain
from ablab.stats.screening import Screening


def level_names(plan: pd.DataFrame, factors: list[str]) -> dict[str, tuple[str, str]]:
    """Each factor's (baseline option, alternative), as the plan records its changes."""
    names: dict[str, tuple[str, str]] = {}
    for changed in plan["changed"]:
        for key, (before, after) in changed.items():
            names.setdefault(key, (str(before), str(after)))
    return {factor: names.get(factor, ("-1", "+1")) for factor in factors}


def main_effects_plot(
    runs: pd.DataFrame, screening: Screening | None, plan: pd.DataFrame, metric_label: str
) -> Figure | None:
    if screening is None:
        return None
    factors = screening.factors
    data = runs[runs["seed"].isin(screening.seeds_used)].dropna(subset=["value"])
    data = data.join(screening.design, on="arm", how="inner")
    names = level_names(plan, factors)
    verdicts = screening.effects.set_index("term")["verdict"]
    colours = {"better": "tab:green", "worse": "tab:red"}
    figure, axes = plt.subplots(
        1, len(factors), figsize=(2.3 * len(factors) + 1, 3.6), sharey=True, squeeze=False
    )
    for axis, factor in zip(axes.flat, factors, strict=True):
        means = data.groupby(factor)["value"].mean().reindex([-1.0, 1.0])
        colour = colours.get(verdicts.get(factor, ""), "tab:grey")
        axis.plot([0, 1], means.to_numpy(), "o-", color=colour, linewidth=2)
        axis.set_xticks([0, 1], [plain(name) for name in names[factor]], rotation=20, ha="right")
        axis.set_xlim(-0.3, 1.3)
        axis.set_title(plain(factor), fontsize=10)
        axis.grid(axis="y", alpha=0.3)
    axes.flat[0].set_ylabel(plain(metric_label))
    figure.suptitle("Main effects: mean at each level, over the arms of the fraction", fontsize=11)
    figure.tight_layout()
    return figure
