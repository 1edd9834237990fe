"""Arms whose numbers do not mean what a table suggests: a model stuck at chance level, or one
that scored the same on every seed.

The report warns about them in words and leaves out the figures they make meaningless: a
standardised effect size over a spread of zero (d_z = Δ / sd grows without bound as sd -> 0),
and the epoch at which a flat curve "reaches" 90% of its best (epoch 1: it looks fastest).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablab.report.metric import MetricChoice

# A model that predicts one class scores that class's share of the test set: on a roughly
# balanced set within a couple of points of 1/classes (MNIST: 0.089 to 0.114).
CHANCE_TOLERANCE = 0.02
# Relative to the mean: identical results on every seed. A test set of up to a million examples
# moves an accuracy by at least 1e-6 per example, so a real spread is never this small.
ZERO_SPREAD = 1e-6
EFFECT_COLUMNS = ["effect_size", "effect_ci_low", "effect_ci_high"]


@dataclass(frozen=True)
class Degenerate:
    """One arm's warning: at chance for ``classes`` classes (None: not, or unknown), zero spread."""

    arm: str
    mean: float
    zero_spread: bool
    classes: int | None = None

    @property
    def at_chance(self) -> bool:
        return self.classes is not None

    def what(self) -> str:
        """What is wrong, as a phrase: ``at chance level for 10 classes and identical on every seed``."""
        parts = []
        if self.classes is not None:
            chance = f"1/{self.classes} = {1 / self.classes:.4f}"
            parts.append(f"at chance level for {self.classes} classes ({self.mean:.4f}; {chance})")
        if self.zero_spread:
            parts.append("identical on every seed (sd 0)")
        return " and ".join(parts)


def find_degenerate(
    table: pd.DataFrame, classes: dict[str, int], choice: MetricChoice
) -> dict[str, Degenerate]:
    """The degenerate arms of ``table`` by name. Chance level applies to accuracies only, and only
    where ``classes`` (``report.classes.class_counts``) knows the arm's class count."""
    accuracy = choice.fraction and "accuracy" in choice.name
    found = {}
    for _, row in table.iterrows():
        mean, std = float(row["mean"]), float(row["std"])
        if row["n_finished"] == 0 or not np.isfinite(mean):
            continue
        zero = row["n_finished"] >= 2 and std <= ZERO_SPREAD * max(1.0, abs(mean))
        count = classes.get(row["arm"]) if accuracy else None
        at_chance = count is not None and abs(mean - 1 / count) <= CHANCE_TOLERANCE
        if zero or at_chance:
            found[row["arm"]] = Degenerate(row["arm"], mean, bool(zero), count if at_chance else None)
    return found


def without_meaningless_effects(table: pd.DataFrame, degenerate: dict[str, Degenerate]) -> pd.DataFrame:
    """``table`` with no effect size where either compared arm has zero spread."""
    flat = [arm for arm, found in degenerate.items() if found.zero_spread]
    hit = ~table["reference"] & (table["arm"].isin(flat) | table["compared_with"].isin(flat))
    table = table.copy()
    table.loc[hit, EFFECT_COLUMNS] = np.nan
    return table


def degenerate_notes(degenerate: dict[str, Degenerate], metric_label: str) -> list[str]:
    """One warning per degenerate arm, in plain words: what is wrong and what the report leaves out."""
    notes = []
    for found in degenerate.values():
        text = f"Warning: arm {found.arm} is degenerate: its {metric_label} is {found.what()}. "
        if found.at_chance:
            text += (
                "A model there did not learn, so a Δ against it measures the distance from chance, "
                "not what a change does to a working model. Its 'epoch to 90% of best' is left blank: "
                "a flat curve is at 90% of its best from the first epoch."
            )
        else:
            text += (
                "The seeds did not change its result (the model may not learn, or the seed may not "
                "reach it), so its sd says nothing about seed-to-seed noise."
            )
        if found.zero_spread:
            text += (
                " No effect size is shown for its comparisons: a standardised effect divides by the "
                "spread, which is (close to) zero here."
            )
        notes.append(text)
    return notes
