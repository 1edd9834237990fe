"""The report's three figures: learning curves per arm, the effect plot, the seeds per arm."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

VERDICT_COLOURS = {"better": "tab:green", "worse": "tab:red"}


def plain(text: str) -> str:
    """User text as literal matplotlib text: ``$`` would otherwise start mathtext."""
    return str(text).replace("$", r"\$")


def learning_curves(curves: pd.DataFrame, arms: list[str], reference_arm: str) -> Figure | None:
    """Small multiples: per arm, mean val/train accuracy over seeds with a min–max band,
    the reference arm's validation mean overlaid in grey. ``curves``: arm, key, step, value.

    Up to three panels a row, a short last row centred (no empty panels), one legend for all."""
    if curves.empty:
        return None
    shown = [arm for arm in arms if (curves["arm"] == arm).any()]
    # Three panels a row, or two when that leaves fewer gaps (4 arms: 2 x 2).
    ncols = min((3, 2), key=lambda k: -len(shown) % k) if len(shown) > 2 else len(shown)
    axes = _centred_grid(len(shown), ncols)
    figure = axes[0].figure
    reference = _band(curves, reference_arm, "val_accuracy")
    for axis, arm in zip(axes, shown, strict=True):
        if reference is not None and arm != reference_arm:
            axis.plot(reference.index, reference["mean"], color="0.55", linestyle=":", label="reference val")
        for key, colour, style, label in (
            ("val_accuracy", "tab:blue", "-", "validation"),
            ("accuracy", "tab:orange", "--", "training"),
        ):
            band = _band(curves, arm, key)
            if band is None:
                continue
            axis.plot(band.index, band["mean"], color=colour, linestyle=style, label=label)
            axis.fill_between(band.index, band["min"], band["max"], color=colour, alpha=0.18, linewidth=0)
        axis.set_title(plain(_short(arm)), fontsize=10)
        axis.set_xlabel("epoch")
        axis.set_ylabel("accuracy")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_ylim(0, 1)
        axis.grid(alpha=0.3)
    legend = {}  # label -> handle, from every panel: the reference arm's lacks "reference val"
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    figure.legend(legend.values(), legend.keys(), loc="lower center", ncol=len(legend), fontsize=9)
    figure.suptitle("Accuracy per epoch: mean over seeds, band = min–max", fontsize=11)
    figure.tight_layout(rect=(0, 0.4 / figure.get_figheight(), 1, 1))  # room for the legend
    return figure


def _centred_grid(n: int, ncols: int) -> list:
    """``n`` axes in rows of ``ncols``, the last row centred: each panel spans two half-columns."""
    nrows = math.ceil(n / ncols)
    figure = plt.figure(figsize=(4.4 * ncols, 3.3 * nrows + 0.4))
    grid = figure.add_gridspec(nrows, 2 * ncols)
    axes: list = []
    for index in range(n):
        row, column = divmod(index, ncols)
        in_row = min(ncols, n - row * ncols)
        start = (ncols - in_row) + 2 * column
        axes.append(figure.add_subplot(grid[row, start : start + 2], sharey=axes[0] if axes else None))
    return axes


def effect_plot(table: pd.DataFrame, metric_label: str, unit: str, reference_arm: str) -> Figure | None:
    """Δ vs the reference arm per arm, with 95% CI error bars (a bare point where there is no CI)."""
    rows = table[~table["reference"] & table["delta"].notna()]
    if rows.empty:
        return None
    figure, axis = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.6))
    positions = np.arange(len(rows))[::-1]
    for y, (_, row) in zip(positions, rows.iterrows(), strict=True):
        colour = VERDICT_COLOURS.get(row["verdict"], "0.35")
        if np.isnan(row["ci_low"]):
            axis.plot(row["delta"], y, "o", mfc="white", color=colour)
        else:
            error = [[row["delta"] - row["ci_low"]], [row["ci_high"] - row["delta"]]]
            axis.errorbar(row["delta"], y, xerr=error, fmt="o", color=colour, capsize=4)
    axis.axvline(0, color="0.3", linewidth=1)
    axis.set_yticks(positions, [plain(_short(arm)) for arm in rows["arm"]])
    axis.set_xlabel(plain(f"Δ {metric_label} vs {_short(reference_arm)}" + (f" ({unit})" if unit else "")))
    axis.set_title("Effect vs reference, 95% CI (hollow: no CI possible)", fontsize=11)
    axis.grid(axis="x", alpha=0.3)
    figure.tight_layout()
    return figure


def seed_strip(values: pd.DataFrame, arms: list[str], metric_label: str) -> Figure | None:
    """Every finished run's value per arm (one dot per seed), the arm mean as a bar."""
    values = values.dropna(subset=["value"])
    if values.empty:
        return None
    figure, axis = plt.subplots(figsize=(max(5.0, 1.3 * len(arms) + 2), 4))
    for x, arm in enumerate(arms):
        points = values.loc[values["arm"] == arm, "value"].to_numpy(float)
        if not len(points):
            continue
        offsets = np.linspace(-0.12, 0.12, len(points)) if len(points) > 1 else np.zeros(1)
        axis.plot(x + offsets, points, "o", color="tab:blue", alpha=0.75)
        axis.hlines(points.mean(), x - 0.25, x + 0.25, color="black", linewidth=2)
    axis.set_xticks(range(len(arms)), [plain(_short(arm)) for arm in arms], rotation=25, ha="right")
    axis.set_ylabel(plain(metric_label))
    axis.set_title("Individual seeds per arm (bar: mean)", fontsize=11)
    axis.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    return figure


def _band(curves: pd.DataFrame, arm: str, key: str) -> pd.DataFrame | None:
    selected = curves[(curves["arm"] == arm) & (curves["key"] == key)]
    if selected.empty:
        return None
    return selected.groupby("step")["value"].agg(["mean", "min", "max"])


def _short(text: str, limit: int = 40) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
