"""The report's learning-curve grid: one panel per arm, none empty, one legend for all panels."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from ablab.report.figures import learning_curves


def synthetic_curves(arms: list[str], epochs: int = 3) -> pd.DataFrame:
    rows = [
        {"arm": arm, "key": key, "step": step, "value": 0.1 * step + 0.01 * seed}
        for arm in arms
        for key in ("val_accuracy", "accuracy")
        for step in range(1, epochs + 1)
        for seed in range(2)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("n_arms", "per_row"), [(1, [1]), (2, [2]), (4, [2, 2]), (5, [3, 2]), (7, [2, 2, 2, 1])]
)
def test_grid_has_one_panel_per_arm_and_no_empty_panel(n_arms, per_row):
    arms = [f"arm{i}" for i in range(n_arms)]
    figure = learning_curves(synthetic_curves(arms), arms, reference_arm="arm0")
    try:
        assert [axis.get_title() for axis in figure.axes] == arms  # every axis shows an arm
        assert all(axis.get_visible() and axis.lines for axis in figure.axes)
        rows = pd.Series([round(axis.get_position().y0, 3) for axis in figure.axes]).value_counts(sort=False)
        assert rows.tolist() == per_row
        # A short last row is centred under the full rows, not left-aligned beside a gap.
        first = [axis.get_position() for axis in figure.axes[: per_row[0]]]
        last = [axis.get_position() for axis in figure.axes[-per_row[-1] :]]
        assert (last[0].x0 + last[-1].x1) / 2 == pytest.approx((first[0].x0 + first[-1].x1) / 2, abs=0.01)
    finally:
        plt.close(figure)


def test_one_legend_names_every_line_of_every_panel():
    arms = ["baseline", "activation=relu", "optimizer=adam"]
    figure = learning_curves(synthetic_curves(arms), arms, reference_arm="baseline")
    try:
        assert all(axis.get_legend() is None for axis in figure.axes)
        (legend,) = figure.legends
        # The reference arm's own panel has no "reference val" line; the legend still names it.
        assert [text.get_text() for text in legend.get_texts()] == ["validation", "training", "reference val"]
        drawn = {line.get_label() for axis in figure.axes for line in axis.lines}
        assert drawn == {"reference val", "validation", "training"}
    finally:
        plt.close(figure)
