"""The ablation path (study.design=path) vs an exhaustive search over all orders, on a synthetic
response with known interactions: how often each finds the best path, and the runs each spends.

A response over k binary flips: f(config) = sum of main effects + sum of pairwise interactions
(drawn per simulated study: mains ~ N(0, 1), interactions ~ N(0, 0.5), in units of the seed noise
sd), observed per seed with a shared seed effect (the pairing) and N(0, 1) noise. Two references:

- the true greedy path: at each step the flip with the best true mean (what an ablation path
  estimates);
- the best order: of all k! orders, the one whose configurations along the way have the largest
  summed true mean (the area under the path: the changes that matter most come first); found by
  dynamic programming over the 2^k configurations.

The path design races each step's candidates (ablab.stats.path_race) with the study's seed
schedule; the exhaustive search trains all 2^k configurations at the maximum seeds and takes the
best order on their means. Regret: the best order's true area minus the found order's, in noise sd.
No training and no MLflow: the statistics only.

    python benchmarks/path_design.py                         # k = 5, 2,000 studies, seeds 3 -> 9 by 2
    python benchmarks/path_design.py --factors 4 --start 2 --step 1 --max 6

Writes benchmarks/results/path_design.json (``--out`` elsewhere).
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
from results import record, table

from ablab.stats.path_race import replay_path
from ablab.stats.sequential import SeedSchedule


def true_response(rng: np.random.Generator, k: int) -> np.ndarray:
    """f per configuration, indexed by the bit mask of the flipped factors."""
    mains = rng.normal(0.0, 1.0, k)
    pairs = {pair: rng.normal(0.0, 0.5) for pair in itertools.combinations(range(k), 2)}
    f = np.zeros(2**k)
    for mask in range(2**k):
        on = [i for i in range(k) if mask >> i & 1]
        f[mask] = mains[on].sum() + sum(pairs[pair] for pair in itertools.combinations(on, 2))
    return f


def best_order(means: np.ndarray, k: int) -> tuple[int, ...]:
    """The order of flips whose configurations sum to the most (the source excluded: it is shared)."""
    best: dict[int, tuple[float, tuple[int, ...]]] = {0: (0.0, ())}
    for mask in sorted(range(1, 2**k), key=lambda m: bin(m).count("1")):
        best[mask] = max(
            (best[mask & ~(1 << i)][0] + means[mask], (*best[mask & ~(1 << i)][1], i))
            for i in range(k)
            if mask >> i & 1
        )
    return best[2**k - 1][1]


def area(order: tuple[int, ...], f: np.ndarray) -> float:
    masks = np.cumsum([1 << i for i in order])
    return float(f[masks].sum())


def greedy(f: np.ndarray, k: int) -> tuple[int, ...]:
    mask, order = 0, []
    for _ in range(k):
        i = max((i for i in range(k) if not mask >> i & 1), key=lambda i: f[mask | 1 << i])
        order.append(i)
        mask |= 1 << i
    return tuple(order)


def path_design(
    observed: np.ndarray, k: int, looks: list[int], alpha: float, spending: str
) -> tuple[tuple[int, ...], int]:
    """The path a path study takes on ``observed`` (configs x seeds), and the runs it trains: each
    candidate its raced seeds, each step's current configuration the seeds its candidates got."""
    keys = [str(i) for i in range(k)]

    def values_of(flipped: frozenset[str]) -> np.ndarray:
        return observed[sum(1 << int(key) for key in flipped)]

    steps = replay_path(keys, values_of, looks, alpha, spending)
    seeds: dict[int, int] = {}
    for step in steps:
        current = sum(1 << int(key) for key in step.current)
        seeds[current] = max(seeds.get(current, 0), max(step.seeds_raced))
        for key, n in zip(step.flips, step.seeds_raced, strict=True):
            config = current | 1 << int(key)
            seeds[config] = max(seeds.get(config, 0), n)
    return tuple(int(step.chosen) for step in steps), sum(seeds.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=int, default=5)
    parser.add_argument("--start", type=int, default=3)
    parser.add_argument("--step", type=int, default=2)
    parser.add_argument("--max", type=int, default=9)
    parser.add_argument("--spending", default="pocock", choices=["pocock", "obrien_fleming"])
    parser.add_argument("--studies", type=int, default=2000)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    k, schedule = args.factors, SeedSchedule(args.start, args.step, args.max, args.spending)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    found = {"path": [], "path (one look, max seeds)": [], "exhaustive": []}
    for _ in range(args.studies):
        f = true_response(rng, k)
        observed = f[:, None] + rng.normal(0, 1, (1, args.max)) + rng.normal(0, 1, (2**k, args.max))
        truth_greedy, truth_best = greedy(f, k), best_order(f, k)
        raced, runs = path_design(observed, k, schedule.looks, args.alpha, args.spending)
        one_look, one_look_runs = path_design(observed, k, [args.max], args.alpha, args.spending)
        exhaustive = best_order(observed.mean(axis=1), k)
        for name, order, spent in (
            ("path", raced, runs),
            ("path (one look, max seeds)", one_look, one_look_runs),
            ("exhaustive", exhaustive, 2**k * args.max),
        ):
            found[name].append(
                (order == truth_greedy, order == truth_best, area(truth_best, f) - area(order, f), spent)
            )
    seconds = time.perf_counter() - started
    print(
        f"{args.studies} synthetic studies, k = {k} flips, seeds {schedule.looks} ({args.spending}), "
        f"alpha {args.alpha}; {seconds:.1f} s"
    )
    columns = [
        "design",
        "finds the true greedy path %",
        "finds the best order %",
        "mean regret (sd)",
        "mean runs",
    ]
    rows = []
    for name, outcomes in found.items():
        greedy_hit, best_hit, regret, spent = (
            np.array(column, float) for column in zip(*outcomes, strict=True)
        )
        rows.append([name, 100 * greedy_hit.mean(), 100 * best_hit.mean(), regret.mean(), spent.mean()])
    widths = [max(len(str(c)), 28) for c in columns]
    print("  ".join(f"{c:<{w}}" for c, w in zip(columns, widths, strict=True)))
    for design, greedy_pct, best_pct, regret, spent in rows:
        cells = [design, f"{greedy_pct:.1f}", f"{best_pct:.1f}", f"{regret:.3f}", f"{spent:.1f}"]
        print("  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=True)))
    print(f"A path runs at most {(1 + k * (k + 1) // 2) * args.max}; all orders need {2**k * args.max}.")
    record(
        "path_design",
        [
            table(
                f"Ablation path vs exhaustive search over all orders (k = {k}, {args.studies} studies)",
                columns,
                rows,
            )
        ],
        figures={"factors": k, "looks": schedule.looks, "studies": args.studies, "seconds": seconds},
        path=args.out,
    )


if __name__ == "__main__":
    main()
