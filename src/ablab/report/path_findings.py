"""What a report says about an ablation path: the path (each step's flip and what it added over the
step before), every runner-up against its step's choice (and whether its race dropped it early),
and the runs spent against a full ladder over all orders.

The steps are replayed from the stored runs (``path_replay``), the same decisions the sweeper took.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from ablab.report.launch_record import Launch
from ablab.report.path_replay import PathSetup, arm_of_flips, path_steps, recorded_path
from ablab.stats.path_race import PathStep, full_ladder_runs, runs_at_most

STEP_COLUMNS = ["step", "flip", "arm", "compared_with", "candidates", "dropped"]
RUNNER_UP_COLUMNS = [
    "step",
    "flip",
    "arm",
    "compared_with",
    "seeds_raced",
    "dropped",
    "dropped_early",
    "race",
]
COMPARISON_COLUMNS = ["n_pairs", "mean", "delta", "ci_low", "ci_high", "p_value", "p_holm", "verdict"]


@dataclass(frozen=True)
class PathRecord:
    """A path launch's setup and its steps as far as its runs go."""

    setup: PathSetup
    steps: list[PathStep]
    arms: dict[frozenset[str], str]  # a configuration's arm, by the keys it flips

    def arm(self, flipped: frozenset[str]) -> str:
        return self.arms.get(flipped, "(not run)")

    @property
    def decided(self) -> list[PathStep]:
        return [step for step in self.steps if step.chosen is not None]

    @property
    def path_arms(self) -> list[str]:
        """The source, then each decided step's choice."""
        return [self.arm(frozenset()), *(self.arm(s.current | {s.chosen}) for s in self.decided)]

    @property
    def compared_with(self) -> dict[str, str]:
        """Each step's choice against the step before it."""
        arms = self.path_arms
        return {arm: previous for previous, arm in zip(arms, arms[1:], strict=False)}

    def runner_ups(self) -> dict[str, tuple[PathStep, str]]:
        """Per runner-up arm: its step and the flip it made."""
        found = {}
        for step in self.decided:
            for flip in step.flips:
                if flip != step.chosen:
                    found[self.arm(step.current | {flip})] = (step, flip)
        return found


@dataclass(frozen=True)
class PathFindings:
    record: PathRecord
    steps: pd.DataFrame  # STEP_COLUMNS + COMPARISON_COLUMNS, one row per decided step
    runner_ups: pd.DataFrame  # RUNNER_UP_COLUMNS + COMPARISON_COLUMNS, vs the step's choice
    runs_planned: int
    runs_finished: int
    runs_at_most: int
    full_ladder_runs: int

    @property
    def complete(self) -> bool:
        return len(self.record.decided) == len(self.record.setup.keys)


def read_path(launch: Launch, runs: pd.DataFrame, alpha: float, higher_is_better: bool) -> PathRecord | None:
    """The path of a path launch (None for the other designs)."""
    setup = recorded_path(launch.parent_tags)
    if setup is None:
        return None
    steps = path_steps(setup, launch, runs, alpha, higher_is_better)
    return PathRecord(setup, steps, arm_of_flips(launch.plan))


def path_findings(
    record: PathRecord,
    table: pd.DataFrame,
    launch: Launch,
    compare_arms: Callable[[dict[str, str], list[str]], pd.DataFrame],
) -> PathFindings:
    """The path table from ``table`` (the report's: each choice vs the step before), the runner-ups
    compared with their step's choice by ``compare_arms`` (Holm across the runner-ups)."""
    by_arm = table.set_index("arm")
    step_rows = []
    for step, arm in zip(record.decided, record.path_arms[1:], strict=True):
        dropped = sum(at >= 0 for at in step.dropped_at)
        row = {
            "step": step.number,
            "flip": _flip(record, step.chosen),
            "arm": arm,
            "compared_with": record.path_arms[step.number - 1],
            "candidates": len(step.flips),
            "dropped": dropped,
        }
        step_rows.append(row | _comparison(by_arm, arm))
    runner_ups = record.runner_ups()
    compared = {arm: record.arm(step.current | {step.chosen}) for arm, (step, _) in runner_ups.items()}
    against = compare_arms(compared, list(runner_ups)).set_index("arm") if runner_ups else by_arm.iloc[:0]
    runner_rows = []
    for arm, (step, flip) in runner_ups.items():
        row = {
            "step": step.number,
            "flip": _flip(record, flip),
            "arm": arm,
            "compared_with": compared[arm],
            "seeds_raced": step.seeds_raced[step.flips.index(flip)],
            "dropped": flip not in step.survivors,
            "dropped_early": step.dropped_early(flip),
            "race": step.fate(flip),
        }
        runner_rows.append(row | _comparison(against, arm))
    setup = record.setup
    k, seeds = len(setup.keys), len(setup.seeds)
    return PathFindings(
        record=record,
        steps=pd.DataFrame(step_rows, columns=STEP_COLUMNS + COMPARISON_COLUMNS),
        runner_ups=pd.DataFrame(runner_rows, columns=RUNNER_UP_COLUMNS + COMPARISON_COLUMNS),
        runs_planned=len(launch.plan),
        runs_finished=len(launch.finished),
        runs_at_most=runs_at_most(k, seeds),
        full_ladder_runs=full_ladder_runs(k, seeds),
    )


def path_note(unit: str) -> str:
    """How to read a path launch's main table."""
    return (
        "Ablation path: the table lists the source, then each step's choice, compared with the step "
        f"before it (Δ = step minus previous step, in {unit}), so Δ is what that flip added on the "
        "path; the runner-ups, compared with their step's choice, are in their own table."
    )


def _flip(record: PathRecord, key: str) -> str:
    return f"{key}={record.setup.target[key]}"


def _comparison(by_arm: pd.DataFrame, arm: str) -> dict:
    if arm not in by_arm.index:
        return dict.fromkeys(COMPARISON_COLUMNS)
    row = by_arm.loc[arm]
    return {column: row[column] for column in COMPARISON_COLUMNS}
