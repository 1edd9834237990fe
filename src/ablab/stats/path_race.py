"""The ablation path's races: at each step, which one-flip candidates are dropped early and which
one the path takes, and the whole path replayed from the values a store holds.

At each look (n seeds) of a step, the best surviving mean is the step's leader, and every other
survivor whose paired t-statistic against the leader is at or below -c (c: the look's boundary
from ``sequential.t_boundaries``) is dropped; the survivors get the next look's seeds. The race
ends when one survivor is left or at the last look; the path takes the best mean among the
survivors. The leader is chosen from the data, so each look tests at alpha / (m (m - 1) / 2), a
Bonferroni share over every pair of the m candidates: a candidate truly as good as the best is
dropped only if the t-statistic path of its pair with some other candidate crosses that pair's
boundary, which each pair does with probability at most its share. ``tests/test_path_race.py``
checks the rate on simulated null steps.

Pure numpy: the sweeper replays it to plan the next round, the report to show why, from the same
stored runs, so the two cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ablab.stats.sequential import t_boundaries


@dataclass(frozen=True)
class Races:
    """Per step (rows) and candidate (columns): the look each candidate was dropped at (-1: never),
    the seeds it raced on, the chosen candidate (-1: undecided) and the seeds the survivors need
    next (0: decided)."""

    dropped_at: np.ndarray  # (steps, candidates) look index, -1 when not dropped
    seeds_raced: np.ndarray  # (steps, candidates) seeds at the last look the candidate was in
    chosen: np.ndarray  # (steps,) candidate index, -1 while a look is missing seeds
    needs_seeds: np.ndarray  # (steps,) seeds the survivors need for the next look; 0 when decided


def pair_level(alpha: float, candidates: int) -> float:
    """Each look's two-sided level: alpha split over every pair of candidates (Bonferroni)."""
    return alpha / max(1, math.comb(candidates, 2))


def race(
    values: np.ndarray,
    looks: Sequence[int],
    alpha: float,
    spending: str = "pocock",
    higher_is_better: bool = True,
) -> Races:
    """Race the candidates of many steps at once: ``values`` (steps, candidates, seeds) in seed order,
    NaN where a seed has not run. A step waits (chosen -1) at the first look where a survivor lacks
    one of the look's seeds."""
    values = np.asarray(values, dtype=float)
    steps, m, _ = values.shape
    signed = values if higher_is_better else -values
    bounds = t_boundaries(tuple(looks), pair_level(alpha, m), spending) if m > 1 else (math.inf,) * len(looks)
    survivors = np.ones((steps, m), dtype=bool)
    dropped_at = np.full((steps, m), -1)
    seeds_raced = np.zeros((steps, m), dtype=int)
    chosen = np.full(steps, -1)
    needs = np.zeros(steps, dtype=int)
    open_ = np.ones(steps, dtype=bool)
    rows = np.arange(steps)
    for look, n in enumerate(looks):
        sample = signed[:, :, :n]
        complete = ~np.isnan(sample).any(axis=2) & (n <= signed.shape[2])
        waiting = open_ & (survivors & ~complete).any(axis=1)
        needs[waiting], open_ = n, open_ & ~waiting
        if not open_.any():
            break
        means = np.where(survivors, sample.mean(axis=2), -np.inf)
        leader = np.argmax(means, axis=1)
        differences = sample - sample[rows, leader][:, None, :]
        with np.errstate(all="ignore"):
            t = differences.mean(axis=2) / (differences.std(axis=2, ddof=1) / math.sqrt(n))
        drop = open_[:, None] & survivors & (t <= -bounds[look])
        drop[rows, leader] = False
        seeds_raced[open_[:, None] & survivors] = n
        dropped_at[drop] = look
        survivors &= ~drop
        ended = open_ & ((survivors.sum(axis=1) == 1) | (look == len(looks) - 1))
        chosen[ended] = leader[ended]
        open_ &= ~ended
    return Races(dropped_at, seeds_raced, chosen, needs)


@dataclass(frozen=True)
class PathStep:
    """One step of the path: from ``current`` (the flipped keys so far), the candidates' flips."""

    number: int  # 1-based
    current: frozenset[str]
    flips: list[str]  # each candidate flips one remaining key
    dropped_at: list[int]  # per candidate: the look index it was dropped at, -1 if not
    seeds_raced: list[int]
    chosen: str | None  # the key the path flips here; None while undecided
    needs_seeds: int  # the seeds the survivors need next (0 when decided)
    looks: tuple[int, ...] = ()  # the seeds at each look of the race

    @property
    def survivors(self) -> list[str]:
        return [flip for flip, at in zip(self.flips, self.dropped_at, strict=True) if at < 0]

    def dropped_early(self, flip: str) -> bool:
        """Dropped before the race's last look: it got fewer seeds than the survivors."""
        return 0 <= self.dropped_at[self.flips.index(flip)] < len(self.looks) - 1

    def fate(self, flip: str) -> str:
        """What the race did with a candidate, in words."""
        index = self.flips.index(flip)
        seeds = self.seeds_raced[index]
        if self.dropped_at[index] < 0:
            return "chosen" if flip == self.chosen else f"kept to the end ({seeds} seeds)"
        when = "dropped early" if self.dropped_early(flip) else "decided worse"
        return f"{when} at {seeds} seeds"


def replay_path(
    keys: Sequence[str],
    values_of: Callable[[frozenset[str]], np.ndarray],
    looks: Sequence[int],
    alpha: float,
    spending: str = "pocock",
    higher_is_better: bool = True,
) -> list[PathStep]:
    """The path from the source (nothing flipped) towards the target (every key flipped), step by
    step, as far as the values go; the last step is undecided when its race waits for seeds.
    ``values_of(flipped)``: that configuration's values per seed in seed order, NaN when not run."""
    current: frozenset[str] = frozenset()
    steps: list[PathStep] = []
    while len(current) < len(keys):
        flips = [key for key in keys if key not in current]
        values = np.stack([values_of(current | {key}) for key in flips])[None]
        result = race(values, looks, alpha, spending, higher_is_better)
        chosen = int(result.chosen[0])
        steps.append(
            PathStep(
                number=len(steps) + 1,
                current=current,
                flips=flips,
                dropped_at=[int(v) for v in result.dropped_at[0]],
                seeds_raced=[int(v) for v in result.seeds_raced[0]],
                chosen=flips[chosen] if chosen >= 0 else None,
                needs_seeds=int(result.needs_seeds[0]),
                looks=tuple(looks),
            )
        )
        if chosen < 0:
            break
        current = current | {flips[chosen]}
    return steps


def runs_at_most(factors: int, seeds: int) -> int:
    """A path's runs at most: the source and k, k-1, ..., 1 candidates, each at every seed."""
    return (1 + factors * (factors + 1) // 2) * seeds


def full_ladder_runs(factors: int, seeds: int) -> int:
    """Ladders over all k! orders of the flips visit every one of the 2^k configurations."""
    return 2**factors * seeds
