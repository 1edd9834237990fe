"""Adaptive seeds: a group-sequential test that looks after every round of seeds without inflating
false positives.

``study.seeds: {start: 3, step: 2, max: 11}`` runs 3 seeds, then 2 more per round up to 11, for the
arms not yet decided. At look k (n_k seeds) an arm stops as better/worse when its paired t-test p
is below the look's nominal level, or as equivalent when its TOST p is. The nominal levels come
from a Lan–DeMets alpha-spending function (Pocock or O'Brien–Fleming type), t_k = n_k / max:
the boundaries c_1..c_K make P(|T_j| < c_j for j < k, |T_k| >= c_k) = alpha(t_k) - alpha(t_(k-1)),
so the chance of ever crossing under the null is alpha. ``tests/test_sequential.py`` checks it
on simulated null studies.

Pure numpy/scipy: the sweeper, the report and the benchmark share it, and it never imports
TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import stats

from ablab.errors import ConfigError

SPENDING = ("pocock", "obrien_fleming")
CALIBRATION_STUDIES = 200_000
CALIBRATION_SEED = 20261130
CONTINUE, BETTER, WORSE, EQUIVALENT, AT_MAX = 0, 1, 2, 3, 4
OUTCOMES = {BETTER: "better", WORSE: "worse", EQUIVALENT: "equivalent", AT_MAX: "inconclusive"}


@dataclass(frozen=True)
class SeedSchedule:
    """Seeds 0 .. start-1 first, then ``step`` more per round for undecided arms, at most ``max``."""

    start: int
    step: int
    max: int
    spending: str = "pocock"

    @property
    def looks(self) -> list[int]:
        """The number of seeds at each look: start, start + step, ..., max."""
        sizes = list(range(self.start, self.max, self.step))
        return [*sizes, self.max]

    def seeds_at_look(self, look: int) -> list[int]:
        return list(range(self.looks[look]))


def read_schedule(raw: object) -> SeedSchedule:
    """``study.seeds`` as a mapping {start, step, max[, spending]}; raises ConfigError naming the problem."""
    allowed = {"start", "step", "max", "spending"}
    if not isinstance(raw, dict) or not {"start", "step", "max"} <= set(raw) or set(raw) - allowed:
        raise ConfigError(
            f"study.seeds={raw!r}: a seed schedule is a mapping with start, step and max (and "
            f"optionally spending: {' or '.join(SPENDING)}), e.g. {{start: 3, step: 2, max: 11}}; or "
            "give a list of seeds."
        )
    numbers = {key: raw[key] for key in ("start", "step", "max")}
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in numbers.values()):
        raise ConfigError(f"study.seeds={raw!r}: start, step and max must be integers.")
    if numbers["start"] < 2 or numbers["step"] < 1 or numbers["max"] <= numbers["start"]:
        raise ConfigError(
            f"study.seeds={raw!r}: need start >= 2 (a t-test needs 2 seeds), step >= 1 and max > start."
        )
    spending = raw.get("spending", "pocock")
    if spending not in SPENDING:
        raise ConfigError(
            f"study.seeds.spending={spending!r} is not allowed; allowed: {', '.join(SPENDING)}."
        )
    return SeedSchedule(numbers["start"], numbers["step"], numbers["max"], spending)


def spent(fraction: np.ndarray, alpha: float, spending: str) -> np.ndarray:
    """Lan–DeMets spending functions: the type I error spent by information fraction t."""
    if spending == "pocock":
        return alpha * np.log1p((math.e - 1) * fraction)
    z = stats.norm.isf(alpha / 2)
    return 2 * stats.norm.sf(z / np.sqrt(fraction))


@lru_cache(maxsize=64)
def t_boundaries(looks: tuple[int, ...], alpha: float, spending: str) -> tuple[float, ...]:
    """Per look, the |t| at or above which the test stops.

    Calibrated on simulated null studies of normal paired differences: the paired t-statistic's
    path does not depend on the spread, so the boundaries hold for any study. At look k the bound
    is the |t| that the paths still running cross with probability alpha(t_k) - alpha(t_(k-1)).
    (Converting normal-theory boundaries to t p-values would inflate the error at 3 seeds.)
    """
    rng = np.random.default_rng(CALIBRATION_SEED)
    statistics = np.abs(t_statistics(rng.standard_normal((CALIBRATION_STUDIES, looks[-1])), looks))
    budget = np.diff(spent(np.asarray(looks) / looks[-1], alpha, spending), prepend=0.0)
    running = np.ones(CALIBRATION_STUDIES, dtype=bool)
    bounds = []
    for look in range(len(looks)):
        remaining = statistics[running, look]
        share = min(1.0, budget[look] * CALIBRATION_STUDIES / len(remaining))
        bound = float(np.quantile(remaining, 1 - share)) if share > 0 else math.inf
        bounds.append(bound)
        running &= statistics[:, look] < bound
    return tuple(bounds)


def nominal_levels(looks: tuple[int, ...], alpha: float, spending: str) -> tuple[float, ...]:
    """The boundaries as two-sided nominal p-values of the paired t-test at each look."""
    bounds = t_boundaries(looks, alpha, spending)
    return tuple(float(2 * stats.t.sf(bound, n - 1)) for bound, n in zip(bounds, looks, strict=True))


def t_statistics(differences: np.ndarray, looks: tuple[int, ...] | list[int]) -> np.ndarray:
    """The one-sample t-statistic of the first n_k columns, per row and look: shape (rows, looks)."""
    columns = []
    for n in looks:
        sample = differences[:, :n]
        with np.errstate(all="ignore"):
            columns.append(sample.mean(axis=1) / (sample.std(axis=1, ddof=1) / math.sqrt(n)))
    return np.stack(columns, axis=1)


def decide(
    differences: np.ndarray,
    schedule: SeedSchedule,
    alpha: float,
    margin: float,
    higher_is_better: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Replay the looks on paired differences (arm - reference), shape (studies, seeds) in seed
    order, NaN where a seed did not run. Returns per study the outcome code (BETTER, WORSE,
    EQUIVALENT, AT_MAX, or CONTINUE when the seeds stop before max) and the look it stopped at.
    Vectorised: the null simulation runs thousands of studies in one call."""
    differences = np.atleast_2d(np.asarray(differences, dtype=float))
    levels = nominal_levels(tuple(schedule.looks), alpha, schedule.spending)
    outcome = np.full(len(differences), CONTINUE)
    stopped_at = np.full(len(differences), -1)
    for look, n in enumerate(schedule.looks):
        if n > differences.shape[1]:
            break
        sample = differences[:, :n]
        open_ = (outcome == CONTINUE) & ~np.isnan(sample).any(axis=1)
        mean, sd = sample.mean(axis=1), sample.std(axis=1, ddof=1)
        with np.errstate(all="ignore"):
            se = sd / math.sqrt(n)
            t = mean / se
            p_difference = 2 * stats.t.sf(np.abs(t), n - 1)
            p_equivalent = np.maximum(
                stats.t.sf((mean + margin) / se, n - 1), stats.t.cdf((mean - margin) / se, n - 1)
            )
        improved = (mean > 0) == higher_is_better
        crossed = open_ & (p_difference < levels[look])
        outcome[crossed & improved], outcome[crossed & ~improved] = BETTER, WORSE
        equivalent = open_ & ~crossed & (p_equivalent < levels[look])
        outcome[equivalent] = EQUIVALENT
        stopped_at[crossed | equivalent] = look
        if n == schedule.max:
            at_max = open_ & ~crossed & ~equivalent
            outcome[at_max], stopped_at[at_max] = AT_MAX, look
    return outcome, stopped_at


def arm_decisions(
    values: pd.DataFrame,
    arms: list[str],
    reference: str,
    schedule: SeedSchedule,
    alpha: float,
    margin: float,
    higher_is_better: bool = True,
) -> pd.DataFrame:
    """Per compared arm, the schedule replayed on its finished seeds: columns arm, seeds, outcome
    (better/worse/equivalent/inconclusive, or "running" while undecided below max), look, reason.

    ``values``: arm, seed, value per finished run. Seeds pair by number; each arm is tested at
    alpha / (number of compared arms) (Bonferroni), so the family's error stays at alpha too.
    """
    compared = [arm for arm in arms if arm != reference]
    finished = values.dropna(subset=["value"])
    by_arm = {arm: group.set_index("seed")["value"] for arm, group in finished.groupby("arm")}
    base = by_arm.get(reference, pd.Series(dtype=float))
    seeds = range(schedule.max)
    level = alpha / max(1, len(compared))
    rows = []
    for arm in compared:
        own = by_arm.get(arm, pd.Series(dtype=float))
        differences = (own.reindex(seeds) - base.reindex(seeds)).to_numpy(float)
        outcome, look = decide(differences[None, :], schedule, level, margin, higher_is_better)
        complete = int(np.argmax(np.isnan(differences))) if np.isnan(differences).any() else schedule.max
        rows.append(
            {
                "arm": arm,
                "seeds": int(own.index.isin(seeds).sum()),
                "outcome": OUTCOMES.get(int(outcome[0]), "running"),
                "look": int(look[0]),
                "reason": _reason(int(outcome[0]), int(look[0]), schedule, level, complete),
            }
        )
    return pd.DataFrame(rows, columns=["arm", "seeds", "outcome", "look", "reason"])


def _reason(outcome: int, look: int, schedule: SeedSchedule, level: float, complete: int) -> str:
    if outcome == CONTINUE:
        return f"undecided at {complete} paired seed(s); next look at {_next_look(schedule, complete)}"
    n = schedule.looks[look]
    nominal = nominal_levels(tuple(schedule.looks), level, schedule.spending)[look]
    if outcome in (BETTER, WORSE):
        return f"t-test crossed the boundary at {n} seeds (p < {nominal:.3g})"
    if outcome == EQUIVALENT:
        return f"TOST within ±margin at {n} seeds (p < {nominal:.3g})"
    return f"reached the maximum of {n} seeds undecided"


def _next_look(schedule: SeedSchedule, complete: int) -> int:
    return next((n for n in schedule.looks if n > complete), schedule.max)
