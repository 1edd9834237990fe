"""The ablation path's figure: the path through each step's choice, with the alternatives beside it."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ablab.report.figures import plain
from ablab.report.path_findings import PathFindings


def path_alternatives_plot(path: PathFindings, runs: pd.DataFrame, metric_label: str) -> Figure | None:
    """One column per step (0: the source): the choice's seeds and mean on the path line, each
    runner-up's mean beside it (x: decided worse than the best by the race), labelled with its flip."""
    values = runs.dropna(subset=["value"])
    if values.empty:
        return None
    means = values.groupby("arm")["value"].mean()
    arms = path.record.path_arms
    figure, axis = plt.subplots(figsize=(max(5.5, 1.6 * len(arms) + 2), 4.2))
    for x, arm in enumerate(arms):
        points = values.loc[values["arm"] == arm, "value"].to_numpy(float)
        axis.plot(np.full(len(points), x), points, "o", color="tab:blue", alpha=0.45, markersize=4)
    axis.plot(range(len(arms)), [means.get(arm, np.nan) for arm in arms], "o-", color="black", label="path")
    for dropped, style in ((False, "s"), (True, "x")):
        rows = path.runner_ups[path.runner_ups["dropped"] == dropped]
        if rows.empty:
            continue
        axis.plot(
            rows["step"] + 0.15,
            [means.get(arm, np.nan) for arm in rows["arm"]],
            style,
            color="tab:grey",
            label="runner-up, dropped as worse" if dropped else "runner-up",
        )
        for _, row in rows.iterrows():
            axis.annotate(plain(row["flip"]), (row["step"] + 0.2, means.get(row["arm"], np.nan)), fontsize=7)
    labels = ["source", *(f"+{flip}" for flip in path.steps["flip"])]
    axis.set_xticks(range(len(arms)), [plain(label) for label in labels], rotation=20, ha="right")
    axis.set_ylabel(plain(metric_label))
    axis.set_title("Ablation path: the flip each step took, and the alternatives it raced", fontsize=11)
    axis.grid(axis="y", alpha=0.3)
    axis.legend(loc="best", fontsize=8)
    figure.tight_layout()
    return figure
