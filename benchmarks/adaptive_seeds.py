"""Adaptive seeds vs fixed designs on synthetic effects: seeds spent and decisions reached.

Each simulated arm has paired differences (arm - reference) ~ Normal(effect, sd) per seed. The
adaptive schedule looks after start, start+step, ..., max seeds (ablab.stats.sequential); the
fixed designs run `start` or `max` seeds and test once (t-test for better/worse, TOST for
equivalent, both at alpha). No training and no MLflow: the study's statistics only.

    python benchmarks/adaptive_seeds.py                      # 3 -> 11 seeds by 2, 20,000 arms per effect
    python benchmarks/adaptive_seeds.py --start 3 --step 1 --max 15 --spending obrien_fleming

Writes benchmarks/results/adaptive_seeds.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np
from results import record, table
from scipy import stats

from ablab.stats.sequential import AT_MAX, BETTER, EQUIVALENT, WORSE, SeedSchedule, decide

# Effects in units of the margin (the study's smallest difference that matters); spread: sd of
# the paired differences, also in margins. 0: no effect (equivalence is the right call).
EFFECTS = (0.0, 0.5, 1.0, 2.0, 4.0)
OUTCOMES = {BETTER: "better", WORSE: "worse", EQUIVALENT: "equiv", AT_MAX: "inconcl"}  # as printed


def fixed_design(differences: np.ndarray, n: int, alpha: float, margin: float) -> np.ndarray:
    """One test after n seeds: better/worse by a paired t-test, else equivalent by TOST, else inconclusive."""
    sample = differences[:, :n]
    mean, se = sample.mean(axis=1), sample.std(axis=1, ddof=1) / math.sqrt(n)
    p = 2 * stats.t.sf(np.abs(mean / se), n - 1)
    p_tost = np.maximum(stats.t.sf((mean + margin) / se, n - 1), stats.t.cdf((mean - margin) / se, n - 1))
    outcome = np.full(len(sample), AT_MAX)
    outcome[p_tost < alpha] = EQUIVALENT
    outcome[(p < alpha) & (mean > 0)] = BETTER
    outcome[(p < alpha) & (mean <= 0)] = WORSE
    return outcome


def row(effect: float, design: str, seeds: float, outcome: np.ndarray) -> list:
    """Print one design's line; return it as a row of the result table (the shares in %)."""
    shares = {name: 100 * np.mean(outcome == code) for code, name in OUTCOMES.items()}
    text = "  ".join(f"{name} {share:5.1f}%" for name, share in shares.items())
    print(f"  {design + ':':<19} mean seeds {seeds:5.2f}  {text}")
    return [effect, design, seeds, *shares.values()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=3)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--max", type=int, default=11)
    parser.add_argument("--spending", default="pocock", choices=["pocock", "obrien_fleming"])
    parser.add_argument("--arms", type=int, default=20_000, help="simulated arms per effect")
    parser.add_argument("--sd", type=float, default=1.0, help="sd of the paired differences, in margins")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--out", type=Path, help="the result file (default: benchmarks/results/)")
    args = parser.parse_args()
    schedule = SeedSchedule(args.start, args.step, args.max, args.spending)
    margin, rng = 1.0, np.random.default_rng(2026)
    print(
        f"Schedule {schedule.looks} ({args.spending} spending), alpha {args.alpha}, sd of paired "
        f"differences {args.sd} margin(s), {args.arms:,} simulated arms per effect."
    )
    started = time.perf_counter()
    rows, peeking_rows = [], []
    for effect in EFFECTS:
        differences = rng.normal(effect * margin, args.sd * margin, size=(args.arms, schedule.max))
        outcome, look = decide(differences, schedule, args.alpha, margin)
        seeds = np.asarray(schedule.looks)[look]
        print(f"\neffect {effect:g} margin(s):")
        rows.append(row(effect, f"adaptive {schedule.start}->{schedule.max}", seeds.mean(), outcome))
        for n in (schedule.start, schedule.max):
            fixed = fixed_design(differences, n, args.alpha, margin)
            rows.append(row(effect, f"fixed {n} seeds", n, fixed))
        if effect == 0:
            peeking = np.zeros(len(differences), dtype=bool)
            for n in schedule.looks:
                peeking |= np.isin(fixed_design(differences, n, args.alpha, margin), [BETTER, WORSE])
            peeking_rows.append([100 * peeking.mean()])
            print(f"  (a t-test after every round, uncorrected: false positives {peeking_rows[0][0]:.1f}%)")
    print(f"\n({time.perf_counter() - started:.1f} s)")
    settings = f"{args.spending} spending, alpha {args.alpha}, sd {args.sd} margin(s), {args.arms:,} arms"
    columns = ["effect (margins)", "design", "mean seeds", *(f"{name} (%)" for name in OUTCOMES.values())]
    peeking_title = f"No effect: a t-test after every round {schedule.looks}, uncorrected"
    tables = [
        table(f"Adaptive seeds {schedule.looks} vs fixed designs ({settings} per effect)", columns, rows),
        table(peeking_title, ["false positives (%)"], peeking_rows),
    ]
    record("adaptive_seeds", tables, path=args.out)


if __name__ == "__main__":
    main()
