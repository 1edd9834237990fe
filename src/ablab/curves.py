"""The seed's figure: training vs validation accuracy per epoch for one run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def learning_curve_figure(history: Mapping[str, Sequence[float]], title: str) -> Figure:
    figure, axis = plt.subplots(figsize=(6, 4))
    epochs = range(1, len(history["accuracy"]) + 1)
    axis.plot(epochs, history["accuracy"], label="training")
    if "val_accuracy" in history:
        axis.plot(epochs, history["val_accuracy"], label="validation")
    axis.set(xlabel="epoch", ylabel="accuracy", title=title, ylim=(0, 1))
    axis.legend(loc="upper left")
    figure.tight_layout()
    return figure
