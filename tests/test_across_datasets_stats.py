"""The across-datasets statistics against values computed independently: ranks and Friedman by
hand and by autorank, Nemenyi from the studentized range, the signed-rank posterior from a
second sampler, IQM with scipy's trim_mean, probability of improvement by counting pairs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from autorank import autorank
from scipy import stats

from ablab.stats import across_datasets as across

ARMS = ["ref", "a", "b", "c"]


def scores_frame(values: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    """dataset -> arm -> one score per seed, as the frame the functions take."""
    rows = [
        (dataset, arm, seed, score)
        for dataset, arms in values.items()
        for arm, seeds in arms.items()
        for seed, score in enumerate(seeds)
    ]
    return pd.DataFrame(rows, columns=["dataset", "arm", "seed", "score"])


def random_means(n_datasets: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = rng.normal(0.7, 0.05, (n_datasets, len(ARMS))) + np.array([0.0, 0.01, 0.03, 0.05])
    return pd.DataFrame(data, index=[f"d{i}" for i in range(n_datasets)], columns=ARMS)


def test_mean_ranks_are_the_per_dataset_ranks_averaged_best_first():
    means = random_means(6)
    by_hand = np.mean([stats.rankdata(-row) for row in means.to_numpy()], axis=0)
    ranking = across.rank_arms(means)
    np.testing.assert_allclose(ranking.mean_ranks[ARMS].to_numpy(), by_hand)


def test_ties_share_the_average_rank():
    means = pd.DataFrame([[0.5, 0.5, 0.4, 0.9]], columns=ARMS)
    assert across.rank_arms(means).mean_ranks.to_dict() == {"ref": 2.5, "a": 2.5, "b": 4.0, "c": 1.0}


def test_friedman_matches_the_textbook_formula_and_autorank():
    means = random_means(8, seed=3)
    ranking = across.rank_arms(means)
    n, k = means.shape
    rank_sums = np.sum([stats.rankdata(row) for row in means.to_numpy()], axis=0)
    chi2 = 12.0 / (n * k * (k + 1)) * np.sum(rank_sums**2) - 3 * n * (k + 1)  # Demšar 2006, no ties
    assert ranking.friedman_statistic == pytest.approx(chi2)
    assert ranking.friedman_p == pytest.approx(stats.chi2.sf(chi2, k - 1))
    result = autorank(means, alpha=0.05, force_mode="nonparametric", order="descending")
    assert result.omnibus == "friedman"
    assert ranking.friedman_p == pytest.approx(result.pvalue)
    np.testing.assert_allclose(ranking.mean_ranks[result.rankdf.index].to_numpy(), result.rankdf["meanrank"])


def test_nemenyi_p_values_come_from_the_studentized_range_of_the_rank_differences():
    means = random_means(7, seed=5)
    ranking = across.rank_arms(means)
    n, k = means.shape
    difference = abs(ranking.mean_ranks["c"] - ranking.mean_ranks["ref"])
    q = difference / np.sqrt(k * (k + 1) / (6.0 * n))
    expected = stats.studentized_range.sf(q * np.sqrt(2), k, np.inf)
    assert ranking.nemenyi.loc["c", "ref"] == pytest.approx(expected, rel=1e-3)
    assert ranking.nemenyi.loc["ref", "c"] == ranking.nemenyi.loc["c", "ref"]


def test_two_arms_get_ranks_but_no_friedman_or_nemenyi():
    ranking = across.rank_arms(random_means(4)[["ref", "a"]])
    assert np.isnan(ranking.friedman_p) and ranking.nemenyi is None
    assert ranking.mean_ranks.sum() == pytest.approx(3.0)  # ranks 1 and 2 on every dataset


def _posterior_by_hand(x: np.ndarray, y: np.ndarray, rope: float, samples: int) -> np.ndarray:
    """Benavoli et al. (2017), Bayesian signed-rank: Dirichlet weights over the differences plus a
    pseudo-observation at 0 (prior 0.5); the mass of Walsh averages below -rope, within, above;
    the probability of each region is how often it holds the most mass."""
    d = np.concatenate([[0.0], y - x])
    sums = d[:, None] + d[None, :]
    below = (sums < -2 * rope) + 0.5 * (sums == -2 * rope)
    above = (sums > 2 * rope) + 0.5 * (sums == 2 * rope)
    weights = np.random.default_rng(11).dirichlet(np.r_[0.5, np.ones(len(x))], samples)
    left = np.einsum("si,ij,sj->s", weights, below, weights)
    right = np.einsum("si,ij,sj->s", weights, above, weights)
    masses = np.column_stack([left, 1 - left - right, right])
    return np.bincount(masses.argmax(axis=1), minlength=3) / samples


def test_signed_rank_posterior_matches_a_second_sampler_with_the_rope_in_margins():
    reference = np.array([0.80, 0.70, 0.91, 0.62, 0.75])
    arm = np.array([0.82, 0.69, 0.93, 0.66, 0.755])
    margins = np.array([0.01, 0.01, 0.02, 0.02, 0.01])
    posterior = across.signed_rank_posterior(reference, arm, margins)
    by_hand = _posterior_by_hand(reference / margins, arm / margins, 1.0, 40000)
    got = [posterior.worse, posterior.equivalent, posterior.better]
    np.testing.assert_allclose(got, by_hand, atol=0.02)
    assert sum(got) == pytest.approx(1.0)


def test_signed_rank_posterior_extremes():
    reference = np.array([0.5, 0.6, 0.7, 0.8])
    same = across.signed_rank_posterior(reference, reference.copy(), np.full(4, 0.01))
    assert same.equivalent == 1.0
    far = across.signed_rank_posterior(reference, reference + 0.2, np.full(4, 0.01))
    assert far.better > 0.95 and far.worse == 0.0
    # The same raw differences are within the rope when each dataset's margin is wider than them.
    wide = across.signed_rank_posterior(reference, reference + 0.2, np.full(4, 0.5))
    assert wide.equivalent > 0.95


def test_normalized_scores_are_min_max_over_the_arm_means_per_dataset():
    scores = scores_frame(
        {"x": {"ref": [1.0, 3.0], "a": [5.0, 7.0]}, "y": {"ref": [10.0, 10.0], "a": [10.0, 10.0]}}
    )
    normalized = across.normalized(scores, as_is=False)
    # x: ref mean 2, a mean 6 -> (v - 2) / 4; y: no spread between arm means -> 0.5
    assert normalized["normalized"].tolist() == [-0.25, 0.25, 0.75, 1.25, 0.5, 0.5, 0.5, 0.5]
    assert across.normalized(scores, as_is=True)["normalized"].tolist() == scores["score"].tolist()


def test_iqm_is_the_25_percent_trimmed_mean_of_every_seed_on_every_dataset():
    rng = np.random.default_rng(2)
    values = {d: {"ref": list(rng.uniform(0, 1, 4)), "a": list(rng.uniform(0, 1, 4))} for d in "xyz"}
    scores = across.normalized(scores_frame(values), as_is=True)
    interval = across.iqm(scores, "a", ["x", "y", "z"])
    pooled = np.concatenate([values[d]["a"] for d in "xyz"])
    assert interval.estimate == pytest.approx(stats.trim_mean(pooled, 0.25))
    assert interval.low <= interval.estimate <= interval.high


def test_probability_of_improvement_counts_winning_pairs_per_dataset():
    values = {
        "x": {"ref": [0.1, 0.2, 0.3], "a": [0.25, 0.35, 0.05]},
        "y": {"ref": [0.5, 0.5, 0.6], "a": [0.5, 0.7, 0.8]},
    }
    scores = across.normalized(scores_frame(values), as_is=True)

    def by_hand(a: list[float], r: list[float]) -> float:
        return np.mean([(u > v) + 0.5 * (u == v) for u in a for v in r])

    expected = np.mean([by_hand(values[d]["a"], values[d]["ref"]) for d in "xy"])
    interval = across.improvement_probability(scores, "a", "ref", ["x", "y"])
    assert interval.estimate == pytest.approx(expected)
    assert 0.0 <= interval.low <= interval.estimate <= interval.high <= 1.0


def test_the_bootstrap_resamples_seeds_within_each_dataset():
    """A dataset where every seed of the arm scores the same contributes no spread: with two such
    datasets the interval collapses to the estimate, though the datasets differ."""
    scores = across.normalized(
        scores_frame({"x": {"a": [0.2, 0.2, 0.2]}, "y": {"a": [0.9, 0.9, 0.9]}}), as_is=True
    )
    interval = across.iqm(scores, "a", ["x", "y"])
    assert interval.low == pytest.approx(interval.estimate) and interval.high == pytest.approx(
        interval.estimate
    )


def test_verdict_counts_count_each_arms_datasets():
    verdicts = pd.DataFrame(
        {
            "dataset": ["x", "y", "z", "x", "y", "z"],
            "arm": ["a", "a", "a", "b", "b", "b"],
            "verdict": ["better", "better", "equivalent", "worse", "untested", "inconclusive"],
        }
    )
    counts = across.verdict_counts(verdicts, ["a", "b"])
    assert counts.loc["a"].to_dict() == {
        "better": 2,
        "equivalent": 1,
        "worse": 0,
        "inconclusive": 0,
        "untested": 0,
    }
    assert counts.loc["b"].to_dict() == {
        "better": 0,
        "equivalent": 0,
        "worse": 1,
        "inconclusive": 1,
        "untested": 1,
    }


def test_dataset_means_leave_out_a_dataset_where_an_arm_has_no_run():
    scores = scores_frame({"x": {"ref": [1.0, 3.0], "a": [2.0]}, "y": {"ref": [1.0]}})
    means = across.dataset_means(scores, ["ref", "a"])
    assert means.index.tolist() == ["x"] and means.loc["x"].tolist() == [2.0, 2.0]
