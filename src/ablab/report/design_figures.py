"""Figures that only some designs get: a ladder's ablation path, a factorial's interaction plots."""

from __future__ import annotations

import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ablab.report.figures import plain
from ablab.stats.factorial import Factorial


def path_plot(runs: pd.DataFrame, arms: list[str], metric_label: str) -> Figure | None:
    """irace-style ablation path: one step per arm in ladder order, seeds as points, means joined."""
    values = runs.dropna(subset=["value"])
    if values.empty:
        return None
    figure, axis = plt.subplots(figsize=(max(5.0, 1.2 * len(arms) + 2), 4))
    means = []
    for x, arm in enumerate(arms):
        points = values.loc[values["arm"] == arm, "value"].to_numpy(float)
        means.append(points.mean() if len(points) else np.nan)
        axis.plot(np.full(len(points), x), points, "o", color="tab:blue", alpha=0.6)
    axis.plot(range(len(arms)), means, "-", color="black", linewidth=1.5, label="mean over seeds")
    axis.set_xticks(range(len(arms)), [plain(arm) for arm in arms], rotation=25, ha="right")
    axis.set_ylabel(plain(metric_label))
    axis.set_title("Ablation path: each step adds one change (dots: seeds)", fontsize=11)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure


def interaction_plot(runs: pd.DataFrame, factorial: Factorial | None, metric_label: str) -> Figure | None:
    """One panel per pair of factors: the mean per level of the first, one line per level of the
    second (averaged over the other factors); parallel lines mean no interaction."""
    if factorial is None or len(factorial.factors) < 2:
        return None
    levels = factorial.cell_means.set_index("arm")[factorial.factors]
    data = runs.dropna(subset=["value"]).join(levels, on="arm")
    pairs = list(itertools.combinations(factorial.factors, 2))
    figure, axes = plt.subplots(1, len(pairs), figsize=(4.6 * len(pairs), 3.6), squeeze=False)
    for axis, (first, second) in zip(axes.flat, pairs, strict=True):
        x_levels = list(dict.fromkeys(levels[first]))
        for line_level, group in data.groupby(second, sort=False):
            means = group.groupby(first)["value"].mean().reindex(x_levels)
            axis.plot(range(len(x_levels)), means.to_numpy(), "o-", label=plain(f"{second}={line_level}"))
        axis.set_xticks(range(len(x_levels)), [plain(level) for level in x_levels])
        axis.set_xlabel(plain(first))
        axis.set_ylabel(plain(metric_label))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("Interactions: mean per cell (non-parallel lines: the effects interact)", fontsize=11)
    figure.tight_layout()
    return figure
