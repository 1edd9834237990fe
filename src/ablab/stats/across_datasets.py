"""Does an arm help across datasets? Verdict counts, mean ranks (Friedman + Nemenyi), a Bayesian
signed-rank test per arm vs the reference, and IQM / probability of improvement with stratified
bootstrap intervals (Demšar 2006; Benavoli et al. 2017; Agarwal et al. 2021).

Pure functions on plain frames: ``scores`` has one row per finished run with columns dataset,
arm, seed and ``score``, oriented so that higher is better on every dataset. Metrics differ in
scale across datasets: ranks are scale-free, the Bayesian test measures each difference in its
dataset's own margin, and IQM is computed on scores the caller normalizes (``normalized``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import baycomp
import numpy as np
import pandas as pd
import scikit_posthocs
from rliable import metrics as rliable_metrics
from scipy import stats

VERDICTS = ("better", "equivalent", "worse", "inconclusive")
BOOTSTRAP_RESAMPLES = 2000
BAYES_SAMPLES = 50000
# Friedman's chi-square approximation is poor with few datasets; autorank refuses fewer than five.
FEW_DATASETS = 5


def verdict_counts(verdicts: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Per compared arm, on how many datasets each verdict was given (``verdicts``: dataset, arm,
    verdict; a verdict outside VERDICTS, e.g. untested, counts as ``untested``)."""
    named = verdicts.assign(verdict=verdicts["verdict"].where(verdicts["verdict"].isin(VERDICTS), "untested"))
    counts = pd.crosstab(named["arm"], named["verdict"])
    return (
        counts.reindex(index=list(arms), columns=[*VERDICTS, "untested"], fill_value=0).fillna(0).astype(int)
    )


def dataset_means(scores: pd.DataFrame, arms: Sequence[str]) -> pd.DataFrame:
    """Mean score over seeds: one row per dataset (first-seen order), one column per arm; a dataset
    where some arm has no finished run is left out (a rank needs every arm)."""
    means = scores.pivot_table(index="dataset", columns="arm", values="score", aggfunc="mean", sort=False)
    return means.reindex(columns=list(arms)).dropna()


@dataclass(frozen=True)
class Ranking:
    """Mean rank per arm (1 = best); Friedman's test and the Nemenyi p-values when defined."""

    mean_ranks: pd.Series
    friedman_statistic: float
    friedman_p: float
    nemenyi: pd.DataFrame | None  # arm x arm p-values; None with fewer than 3 arms or 2 datasets


def rank_arms(means: pd.DataFrame) -> Ranking:
    """Ranks within each dataset (ties share the average rank), averaged over datasets; Friedman
    (scipy) and Nemenyi (scikit-posthocs) need at least 3 arms and 2 datasets."""
    ranks = means.rank(axis=1, ascending=False, method="average")
    mean_ranks = ranks.mean(axis=0)
    if means.shape[1] < 3 or means.shape[0] < 2:
        return Ranking(mean_ranks, float("nan"), float("nan"), None)
    statistic, p = stats.friedmanchisquare(*(means[arm].to_numpy() for arm in means.columns))
    nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(means.to_numpy())
    nemenyi.index = nemenyi.columns = list(means.columns)
    return Ranking(mean_ranks, float(statistic), float(p), nemenyi)


@dataclass(frozen=True)
class Posterior:
    """P(worse), P(equivalent), P(better) of an arm vs the reference over datasets."""

    worse: float
    equivalent: float
    better: float


def signed_rank_posterior(
    reference: np.ndarray, arm: np.ndarray, margins: np.ndarray, seed: int = 0
) -> Posterior:
    """baycomp's Bayesian signed-rank test on per-dataset means, each difference divided by its
    dataset's margin so the region of practical equivalence is ±1 margin on every dataset."""
    margins = np.asarray(margins, dtype=float)
    x, y = np.asarray(reference, dtype=float) / margins, np.asarray(arm, dtype=float) / margins
    worse, equivalent, better = baycomp.two_on_multiple(
        x, y, rope=1.0, nsamples=BAYES_SAMPLES, random_state=seed
    )
    return Posterior(float(worse), float(equivalent), float(better))


def normalized(scores: pd.DataFrame, as_is: bool) -> pd.DataFrame:
    """``scores`` with ``normalized``: the score as is (``as_is``: e.g. accuracies, already on one
    0..1 scale), else min-max per dataset over the arm means (0 = worst arm mean, 1 = best; 0.5
    where every arm mean is the same)."""
    if as_is:
        return scores.assign(normalized=scores["score"])
    arm_means = scores.groupby(["dataset", "arm"], sort=False)["score"].mean()
    low = arm_means.groupby(level="dataset").min()
    high = arm_means.groupby(level="dataset").max()
    span = (high - low).reindex(scores["dataset"]).to_numpy()
    offset = low.reindex(scores["dataset"]).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        value = np.where(span > 0, (scores["score"].to_numpy() - offset) / span, 0.5)
    return scores.assign(normalized=value)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float


def _columns(scores: pd.DataFrame, arm: str, datasets: Sequence[str]) -> list[np.ndarray]:
    """One array of normalized scores (one per seed) per dataset: the strata of the bootstrap."""
    mine = scores[scores["arm"] == arm]
    return [mine.loc[mine["dataset"] == d, "normalized"].to_numpy(dtype=float) for d in datasets]


def _bootstrap(samples: list[np.ndarray], statistic, seed: int) -> Interval:
    """A percentile interval that resamples the seeds within each dataset (scipy resamples each
    sample on its own: a stratified bootstrap, as rliable's ``StratifiedBootstrap``)."""
    estimate = float(statistic(*samples))
    if all(len(s) < 2 for s in samples):
        return Interval(estimate, float("nan"), float("nan"))
    result = stats.bootstrap(
        samples,
        statistic,
        n_resamples=BOOTSTRAP_RESAMPLES,
        vectorized=False,
        paired=False,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return Interval(estimate, float(result.confidence_interval.low), float(result.confidence_interval.high))


def iqm(scores: pd.DataFrame, arm: str, datasets: Sequence[str], seed: int = 0) -> Interval:
    """The interquartile mean of the arm's normalized scores over every seed of every dataset
    (rliable's ``aggregate_iqm``), with a stratified bootstrap 95% interval."""

    def statistic(*columns: np.ndarray) -> float:
        return float(rliable_metrics.aggregate_iqm(np.concatenate(columns)))

    return _bootstrap(_columns(scores, arm, datasets), statistic, seed)


def improvement_probability(
    scores: pd.DataFrame, arm: str, reference: str, datasets: Sequence[str], seed: int = 0
) -> Interval:
    """P(a run of ``arm`` scores higher than a run of ``reference`` on the same dataset), averaged
    over datasets (rliable's ``probability_of_improvement`` per dataset), with a stratified
    bootstrap 95% interval."""
    n = len(datasets)

    def statistic(*columns: np.ndarray) -> float:
        per_dataset = [
            rliable_metrics.probability_of_improvement(x[:, None], y[:, None])
            for x, y in zip(columns[:n], columns[n:], strict=True)
        ]
        return float(np.mean(per_dataset))

    return _bootstrap(
        [*_columns(scores, arm, datasets), *_columns(scores, reference, datasets)], statistic, seed
    )
