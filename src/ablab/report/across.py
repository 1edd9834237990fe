"""The report of a launch over several datasets (study.datasets): today's report on each dataset's
part of the launch, and what the arms do across the datasets (``ablab.stats.across_datasets``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import pandas as pd
from mlflow.tracking import MlflowClient

from ablab.report.findings import Report, summarise
from ablab.report.launch_record import Launch
from ablab.stats import across_datasets as across
from ablab.stats.comparisons import ALPHA

ACROSS_COLUMNS = [
    "arm",
    "reference",
    *across.VERDICTS,
    "untested",
    "mean_rank",
    "nemenyi_p",
    "p_worse",
    "p_equivalent",
    "p_better",
    "iqm",
    "iqm_low",
    "iqm_high",
    "p_improvement",
    "p_improvement_low",
    "p_improvement_high",
]


def dataset_names(launch: Launch) -> list[str]:
    """The launch's study.datasets in plan order; [] for a launch on the config's one dataset."""
    return [d for d in dict.fromkeys(launch.plan["dataset"]) if d] if "dataset" in launch.plan else []


def dataset_launch(launch: Launch, dataset: str) -> Launch:
    """The part of ``launch`` that trained on ``dataset``, named after it (headings, captions)."""

    def part(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[frame["dataset"] == dataset].reset_index(drop=True)

    return dataclasses.replace(
        launch,
        study=f"{launch.study} on {dataset}",
        plan=part(launch.plan),
        finished=part(launch.finished),
        unfinished=part(launch.unfinished),
        notes=list(launch.notes),
    )


@dataclass(frozen=True)
class Across:
    """Across datasets, per arm: ACROSS_COLUMNS (empty with fewer than 2 datasets), and the ranks'
    test; ``normalization`` says how the IQM's scores were made comparable."""

    table: pd.DataFrame
    datasets: list[str]  # those where every arm finished a run: the rows of the ranks and tests
    ranking: across.Ranking | None
    normalization: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DatasetsReport:
    launch: Launch
    sections: dict[str, Report]  # dataset -> its report
    across: Across

    @property
    def first(self) -> Report:
        return next(iter(self.sections.values()))


def summarise_datasets(
    client: MlflowClient,
    launch: Launch,
    metric: str | None = None,
    epoch: str | None = None,
    higher_is_better: bool | None = None,
    alpha: float = ALPHA,
    margin: float | None = None,
) -> DatasetsReport:
    """``summarise`` on each dataset's part of ``launch``, then the across-datasets statistics."""
    sections = {
        d: summarise(client, dataset_launch(launch, d), metric, epoch, higher_is_better, alpha, margin)
        for d in dataset_names(launch)
    }
    return DatasetsReport(
        launch, sections, across_datasets(sections, launch.arms, launch.reference_arm, alpha)
    )


def across_datasets(sections: dict[str, Report], arms: list[str], reference: str, alpha: float) -> Across:
    first = next(iter(sections.values()))
    choice = first.metric
    as_is = choice.fraction and choice.higher_is_better
    normalization = (
        f"{choice.label} as is (every dataset's score is a 0..1 fraction on one scale)"
        if as_is
        else f"{choice.label} min-max normalized per dataset over the arm means (0 = the worst arm's "
        "mean, 1 = the best's; lower-is-better metrics flipped first), so it depends on the arms compared"
    )
    if len(sections) < 2:
        note = (
            f"One dataset ({', '.join(sections)}): there is no across-datasets comparison; "
            "list at least 2 in study.datasets."
        )
        return Across(pd.DataFrame(columns=ACROSS_COLUMNS), list(sections), None, normalization, [note])
    sign = 1.0 if choice.higher_is_better else -1.0
    scores = pd.concat(
        [r.runs[["arm", "seed", "value"]].assign(dataset=d) for d, r in sections.items()], ignore_index=True
    ).dropna(subset=["value"])
    scores = scores.assign(score=sign * scores["value"])
    means = across.dataset_means(scores, arms)
    datasets = list(means.index)
    kept = scores[scores["dataset"].isin(datasets)]
    normalized = across.normalized(kept, as_is)
    verdicts = pd.concat(
        [
            r.table.loc[~r.table["reference"], ["arm", "verdict"]].assign(dataset=d)
            for d, r in sections.items()
        ]
    )
    counts = across.verdict_counts(verdicts, arms)
    ranking = across.rank_arms(means) if len(datasets) >= 2 else None
    margins = pd.Series({d: r.margin for d, r in sections.items()}).reindex(datasets)
    rows = []
    for arm in arms:
        row = {"arm": arm, "reference": arm == reference, **counts.loc[arm].to_dict()}
        row["mean_rank"] = ranking.mean_ranks[arm] if ranking else float("nan")
        nemenyi = ranking.nemenyi if ranking else None
        row["nemenyi_p"] = (
            nemenyi.loc[arm, reference] if nemenyi is not None and arm != reference else float("nan")
        )
        if arm != reference and len(datasets) >= 2 and margins.notna().all():
            posterior = across.signed_rank_posterior(
                means[reference].to_numpy(), means[arm].to_numpy(), margins.to_numpy()
            )
            row.update(p_worse=posterior.worse, p_equivalent=posterior.equivalent, p_better=posterior.better)
        if datasets:
            iqm = across.iqm(normalized, arm, datasets)
            row.update(iqm=iqm.estimate, iqm_low=iqm.low, iqm_high=iqm.high)
        if arm != reference and datasets:
            gain = across.improvement_probability(normalized, arm, reference, datasets)
            row.update(p_improvement=gain.estimate, p_improvement_low=gain.low, p_improvement_high=gain.high)
        rows.append(row)
    table = pd.DataFrame(rows).reindex(columns=ACROSS_COLUMNS)
    return Across(
        table, datasets, ranking, normalization, _notes(sections, datasets, ranking, reference, alpha)
    )


def _notes(
    sections: dict[str, Report],
    datasets: list[str],
    ranking: across.Ranking | None,
    reference: str,
    alpha: float,
) -> list[str]:
    """How each summary treats the datasets' different scales, and what few datasets allow."""
    left_out = [d for d in sections if d not in datasets]
    notes = [
        "Verdicts: each dataset's own verdict (its section's table, Holm within that dataset), counted "
        f"over the {len(sections)} datasets; scale plays no part.",
        "Mean rank: the arms ranked within each dataset by their mean over seeds (1 = best, ties share "
        "the average rank), averaged over datasets; ranks are scale-free. Friedman's test (scipy) asks "
        "whether any arm ranks differently, Nemenyi's (scikit-posthocs) which pairs differ; the "
        f"critical-difference diagram joins arms Nemenyi cannot tell apart at α = {alpha:g}.",
        "Bayesian signed-rank test (baycomp, Benavoli et al. 2017) of each arm vs "
        f"{reference} over the per-dataset means, each difference measured in its dataset's margin "
        "(study.margin, else the report's default), so the region of practical equivalence is ±1 margin "
        "on every dataset; P(worse) + P(equivalent) + P(better) = 1.",
        "IQM: the interquartile mean of every seed's score on every dataset (rliable's aggregate_iqm); "
        "probability of improvement: P(a run of the arm beats a run of "
        f"{reference} on the same dataset), averaged over datasets (rliable's "
        "probability_of_improvement, scale-free); 95% intervals from a stratified bootstrap (seeds "
        "resampled within each dataset, scipy.stats.bootstrap, percentile; rliable's own bootstrap "
        "does not import with this pandas).",
    ]
    if ranking is not None and len(datasets) < across.FEW_DATASETS:
        notes.append(
            f"Only {len(datasets)} datasets: Friedman's chi-square p-value and Nemenyi's are rough with so "
            f"few (autorank refuses fewer than {across.FEW_DATASETS}); read the ranks as description."
        )
    if ranking is not None and ranking.nemenyi is None:
        notes.append("Friedman and Nemenyi need at least 3 arms: the ranks are shown without a test.")
    if left_out:
        notes.append(
            f"Left out of the ranks and tests (an arm has no finished run there): {', '.join(left_out)}."
        )
    return notes
