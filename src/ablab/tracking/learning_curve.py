"""The seed's figure: training vs validation accuracy (a regression's: loss) per epoch for one run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure


def learning_curve_figure(history: Mapping[str, Sequence[float]], title: str) -> Figure:
    # A bare Figure, not pyplot's: pyplot keeps every figure open, and a process that trains
    # many jobs in a row (a sweep) would pile them up.
    figure = Figure(figsize=(6, 4))
    axis = figure.subplots()
    metric = "accuracy" if "accuracy" in history else "loss"
    epochs = range(1, len(history[metric]) + 1)
    axis.plot(epochs, history[metric], label="training")
    if f"val_{metric}" in history:
        axis.plot(epochs, history[f"val_{metric}"], label="validation")
    axis.set(xlabel="epoch", ylabel=metric, title=title)
    if metric == "accuracy":
        axis.set_ylim(0, 1)
    axis.legend(loc="upper left")
    figure.tight_layout()
    return figure
