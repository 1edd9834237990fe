"""An ablation path launch replayed from what it left in MLflow: its setup (the ``ablab.path`` tag),
which arm is which configuration (plan.json's changed keys), and the steps ``stats.path_race``
decides on the finished runs. The sweeper plans its next round from this, the report shows it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ablab.report.launch_record import Launch, recorded_schedule
from ablab.stats.path_race import PathStep, replay_path
from ablab.tracking.tags import PATH


@dataclass(frozen=True)
class PathSetup:
    """What a path launch recorded: the keys it flips (in order), their target values, the seeds."""

    keys: list[str]
    target: dict[str, str]
    seeds: list[int]  # in seed order; a schedule's are 0 .. max-1
    looks: list[int]  # seeds at each look; one look for a seed list
    spending: str


def recorded_path(tags: Mapping[str, str]) -> PathSetup | None:
    """The ``ablab.path`` tag of a path launch; None for the other designs."""
    text = tags.get(PATH)
    if not text:
        return None
    recorded = json.loads(text)
    schedule = recorded_schedule(tags)
    if schedule is not None:
        seeds, looks, spending = list(range(schedule.max)), schedule.looks, schedule.spending
    else:
        seeds = [int(seed) for seed in recorded["seeds"]]
        looks, spending = [len(seeds)], "pocock"
    return PathSetup(list(recorded["keys"]), dict(recorded["target"]), seeds, looks, spending)


def path_tag(keys: list[str], target: Mapping[str, object], seeds: list[int] | None) -> str:
    """The ``ablab.path`` tag's value (``seeds``: the seed list, None with a seed schedule)."""
    return json.dumps({"keys": keys, "target": {k: str(target[k]) for k in keys}, "seeds": seeds})


def arm_of_flips(plan: pd.DataFrame) -> dict[frozenset[str], str]:
    """Each planned arm by the set of keys it flips from the source."""
    first = plan.drop_duplicates("arm")
    return {frozenset(changed): arm for arm, changed in zip(first["arm"], first["changed"], strict=True)}


def path_steps(
    setup: PathSetup, launch: Launch, runs: pd.DataFrame, alpha: float, higher_is_better: bool
) -> list[PathStep]:
    """The path's steps on ``runs`` (arm, seed, value per finished run), as far as they go."""
    arms = arm_of_flips(launch.plan)
    by_arm = {
        arm: group.set_index("seed")["value"] for arm, group in runs.dropna(subset=["value"]).groupby("arm")
    }
    missing = pd.Series(dtype=float)

    def values_of(flipped: frozenset[str]) -> np.ndarray:
        own = by_arm.get(arms.get(flipped, ""), missing)
        return own.reindex(setup.seeds).to_numpy(float)

    return replay_path(setup.keys, values_of, setup.looks, alpha, setup.spending, higher_is_better)
