"""A fractional launch as the report reads it back from MLflow: the ±1 design (from the plan's
changed keys), the screening's effects and aliases, and which arms form the confirmation round."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter

import pandas as pd

from ablab.report.launch_record import Launch
from ablab.report.metric import MetricChoice
from ablab.stats.screening import Screening, screen
from ablab.tracking.tags import CONFIRM


@dataclass(frozen=True)
class Confirmation:
    """The ofat round after the screening (``study.confirm``), from the parent's ablab.confirm tag."""

    factors: list[str]  # the factors that screened in
    arms: list[str]  # the ofat arms (one per factor), the reference aside
    added: list[str]  # those the design did not already run


def recorded_confirmation(tags: Mapping[str, str]) -> Confirmation | None:
    text = tags.get(CONFIRM)
    return Confirmation(**json.loads(text)) if text else None


def design_matrix(launch: Launch) -> pd.DataFrame:
    """One row per arm of the fraction, one ±1 column per factor (+1: the arm changes it), the
    factors in the study's order (each arm's changed keys keep it)."""
    confirmation = recorded_confirmation(launch.parent_tags)
    added = set(confirmation.added) if confirmation else set()
    first = launch.plan.drop_duplicates("arm").set_index("arm")["changed"]
    first = first[~first.index.isin(added)]
    order: TopologicalSorter = TopologicalSorter()
    for changed in first:
        keys = list(changed)
        for key, before in zip(keys, [None, *keys], strict=False):
            order.add(key, *([before] if before else []))
    factors = list(order.static_order())
    levels = {arm: [1.0 if key in changed else -1.0 for key in factors] for arm, changed in first.items()}
    return pd.DataFrame.from_dict(levels, orient="index", columns=factors)


def screen_launch(
    launch: Launch, runs: pd.DataFrame, higher_is_better: bool, scale: float, alpha: float
) -> Screening | None:
    """``ablab.stats.screening.screen`` on the launch's design arms (the confirmation round aside)."""
    return screen(runs, design_matrix(launch), higher_is_better, scale, alpha)


def fractional_findings(
    launch: Launch,
    runs: pd.DataFrame,
    choice: MetricChoice,
    alpha: float,
    compare_arms: Callable[[dict[str, str], list[str]], pd.DataFrame],
) -> tuple[Screening | None, pd.DataFrame | None]:
    """A fractional launch's screening and its confirmation table (``compare_arms``: the report's
    ablation table over the given arms, Holm across those comparisons only); (None, None) for
    another design."""
    if launch.design != "fractional":
        return None, None
    scale = 100.0 if choice.fraction else 1.0
    screening = screen_launch(launch, runs, choice.higher_is_better, scale, alpha)
    confirmed = recorded_confirmation(launch.parent_tags)
    if confirmed is None or not confirmed.arms:
        return screening, None
    return screening, compare_arms({}, [launch.reference_arm, *confirmed.arms])
